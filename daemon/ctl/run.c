/* SPDX-License-Identifier: MIT */
#include "ctl/run.h"

#include <errno.h>
#include <string.h>

#include "core/manager-internal.h"
#include "ctl/ctlproto.h"
#include "lib/output.h"
#include "kernel/numa.h"
#include "rules/decide.h"
#include "rules/memplan.h"

static void say_rule(OutBuf *o, const char *what, const char *name, const char *rest) {
        outbuf_printf(o, "pinnerd: run: %s '", what);
        text_escape_append(o, name, strlen(name));
        outbuf_printf(o, "'%s\n", rest);
}

int verb_run(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(proc_facts_done) ProcFacts p = {0};
        _cleanup_(cpuset_freep) CpuSet *cur = NULL, *cs_copy = NULL;
        _cleanup_(decision_done) Decision d = {0};
        _cleanup_(freep) char *cpus = NULL;
        const CpuSet *cs = NULL;
        char pol[32] = "-";

        if (req->n_args != 1) {
                outbuf_puts(&reply->err, "run takes one rule name\n");
                reply->exit_code = CTL_EXIT_USAGE;
                return 0;
        }
        const Rule *rule = config_find_rule(m->rc.config, req->args[0]);
        if (!rule) {
                say_rule(&reply->err, "no rule", req->args[0], " in the configuration in force");
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        if (rule->kthreads) {
                say_rule(&reply->err, "rule", rule->name, " is for kernel threads, not for a command");
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        if (rule->kind == RULE_IRQS || rule->kind == RULE_WORKQUEUES) {
                say_rule(&reply->err, "rule", rule->name,
                         rule->kind == RULE_IRQS ? " is about IRQs, not for a command"
                                                 : " is about workqueues, not for a command");
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        /* The pid is the caller's only while its start time is the one
         * taken at connect: a caller that exited and left its connection
         * to another process would otherwise learn about whoever got the
         * pid next (its cpuset, its mask, its memory nodes). */
        if (req->pid <= 0 || facts_read_process(&m->rc.facts, m->rc.config, req->pid, true, &p) < 0 ||
            (!req->peer->root && (!req->peer->view_known || req->peer->start != p.stat.starttime))) {
                outbuf_puts(&reply->err, "pinnerd: run: cannot read the calling process\n");
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        if (facts_thread_cpuset(&m->rc.facts, &p, req->pid, &cs) >= 0 && cs)
                cs_copy = cpuset_dup(cs);
        (void) affinity_get(&m->rc.aff, req->pid, req->pid, &cur);
        if (rule->avoid && !cur) {
                outbuf_puts(&reply->err, "pinnerd: run: cannot read the calling process's mask\n");
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        /* The whole effective set: a spread slot is per thread, and the
         * command has none yet. */
        Rule whole = *rule;
        whole.spread = SPREAD_NO;
        int r = decide_thread(m->rc.host, &whole, false, cs_copy, NULL, 0, p.stat.comm,
                              rule->avoid ? cur : NULL, &d);
        if (r < 0)
                return r;
        if (d.verdict != VERDICT_APPLY) {
                outbuf_puts(&reply->err, "pinnerd: run: rule '");
                text_escape_append(&reply->err, rule->name, strlen(rule->name));
                outbuf_printf(&reply->err, "' cannot apply to the calling process: %s\n",
                              d.reason ? d.reason : "no CPU left");
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        cpus = cpuset_format_list(d.plan.effective);
        if (!cpus)
                return -ENOMEM;
        if (rule->has_policy)
                (void) policy_format(&rule->policy, pol, sizeof pol);
        /* The memory policy that puts the command's memory where those CPUs
         * are from its first allocation (memory = follow | interleave),
         * within the nodes the caller's cpuset allows. */
        _cleanup_(cpuset_freep) CpuSet *mems = NULL, *nodes = NULL;
        _cleanup_(freep) char *nodes_s = NULL;
        NumaPolicy mpol = NUMA_POLICY_DEFAULT;
        (void) numa_read_mems_allowed(m->rc.procfd, req->pid, &mems);
        r = memplan_run_policy(m->rc.host, rule->memory, d.plan.effective, mems, &mpol, &nodes);
        if (r == -EACCES) {
                say_rule(&reply->err, "rule", rule->name,
                         ": the calling process's cpuset allows no memory node of its CPUs");
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        if (r < 0)
                return r;
        if (nodes && !(nodes_s = cpuset_format_list(nodes)))
                return -ENOMEM;
        outbuf_printf(&reply->out, "cpus %s\npolicy %s\nmemory %s%s%s\n", cpus, pol, numa_policy_name(mpol),
                      nodes_s ? " " : "", nodes_s ? nodes_s : "");
        return 0;
}

void run_plan_done(RunPlan *p) {
        cpuset_free(p->cpus);
        p->cpus = NULL;
        cpuset_free(p->memory_nodes);
        p->memory_nodes = NULL;
}

int run_plan_parse(const char *buf, size_t len, RunPlan *ret) {
        _cleanup_(run_plan_done) RunPlan p = {0};
        bool seen_policy = false, seen_memory = false;
        size_t off = 0;

        while (off < len) {
                const char *line = buf + off, *nl = memchr(line, '\n', len - off);
                if (!nl)
                        return -EBADMSG;
                size_t n = (size_t) (nl - line);
                char v[256];
                off += n + 1;
                const char *sp = memchr(line, ' ', n);
                if (!sp || memchr(line, '\0', n))
                        return -EBADMSG;
                size_t vlen = (size_t) (line + n - sp - 1);
                if (vlen == 0 || vlen >= sizeof v)
                        return -EBADMSG;
                memcpy(v, sp + 1, vlen);
                v[vlen] = '\0';
                size_t klen = (size_t) (sp - line);
                if (klen == 4 && memcmp(line, "cpus", 4) == 0 && !p.cpus) {
                        if (cpuset_parse_list(v, &p.cpus, NULL) < 0 || cpuset_empty(p.cpus))
                                return -EBADMSG;
                } else if (klen == 6 && memcmp(line, "policy", 6) == 0 && !seen_policy) {
                        seen_policy = true;
                        if (strcmp(v, "-") != 0) {
                                if (policy_parse(v, &p.policy) < 0)
                                        return -EBADMSG;
                                p.has_policy = true;
                        }
                } else if (klen == 6 && memcmp(line, "memory", 6) == 0 && !seen_memory) {
                        /* "POLICY" or "POLICY NODES"; "keep" from an older daemon. */
                        seen_memory = true;
                        char *nsp = strchr(v, ' ');
                        if (nsp)
                                *nsp++ = '\0';
                        if (strcmp(v, "keep") == 0)
                                p.memory = NUMA_POLICY_DEFAULT;
                        else if (numa_policy_parse(v, &p.memory) < 0)
                                return -EBADMSG;
                        if (nsp && (cpuset_parse_list(nsp, &p.memory_nodes, NULL) < 0 ||
                                    cpuset_empty(p.memory_nodes)))
                                return -EBADMSG;
                        if ((p.memory != NUMA_POLICY_DEFAULT) != (p.memory_nodes != NULL))
                                return -EBADMSG;
                } else
                        return -EBADMSG;
        }
        if (!p.cpus || !seen_policy || !seen_memory)
                return -EBADMSG;
        *ret = p;
        p.cpus = NULL;
        p.memory_nodes = NULL;
        return 0;
}
