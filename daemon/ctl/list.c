/* SPDX-License-Identifier: MIT */
/* list: the managed threads the peer may see, with their rule, masks,
 * policy, memory locality and why one was skipped; filtered by rule, pid or
 * comm, rendered a slice at a time. */
#include "ctl/list.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctlproto.h"
#include "ctl/memview.h"
#include "ctl/peer.h"
#include "lib/output.h"
#include "lib/suggest.h"

static int tid_cmp(const void *a, const void *b) {
        const pid_t *x = a, *y = b;
        if (x[0] != y[0])
                return (x[0] > y[0]) - (x[0] < y[0]);
        return (x[1] > y[1]) - (x[1] < y[1]);
}

/* What the thread's rule asks for on this host now; NULL for an avoid rule
 * (its CPUs are the ones it keeps the thread off) or a rule gone. */
static char *rule_requested(const Manager *m, const Rule *r) {
        _cleanup_(cpuset_freep) CpuSet *set = NULL;

        if (!r || r->avoid || plan_resolve_cpus(m->rc.host, &r->cpus, &set) < 0)
                return NULL;
        return cpuset_format_list(set);
}

/* What the footer (the skip reasons) may need of the answer: rows stop
 * before they would leave less. A JSON row is at most about this long. */
#define LIST_REPLY_RESERVE ((size_t) 64 * 1024)
#define LIST_JSON_ROW_MAX ((size_t) 4096)

/* Why rows were left out of an answer bounded as out is, into dst. */
static void say_bound(OutBuf *dst, const OutBuf *out, size_t omitted) {
        outbuf_printf(dst,
                      "%zu more thread%s not listed: an answer%s is at most %zu MiB; name one process "
                      "(list PID) or rule (list --rule NAME)\n",
                      omitted, omitted == 1 ? "" : "s", out->max ? " to a non-root caller" : "",
                      (out->max ? out->max : OUTBUF_MAX) >> 20);
}

/* `list` in slices: the (pid, tid) pairs are taken and sorted at once (cheap),
 * rows are rendered a slice at a time; a thread gone in between is left out.
 * The columns are always the same; a skipped thread has "-" as its
 * effective CPUs and a mark [N] in SKIPPED pointing at the reason below. */
typedef struct ListJob {
        pid_t *pairs; /* pid, tid, pid, tid, ... */
        size_t n, next, shown;
        bool json;
        PeerView peer;
        pid_t last_pid;
        pid_t reading_pid; /* the process whose memory is being read (last_visible is its) */
        bool last_visible;
        StrVec reasons; /* skip reasons, numbered from 1 in the table */
        size_t *reason_counts;
        /* Several NUMA nodes, or a rule moves memory: a last column LOCAL and
         * memory_local_permille in JSON, the memory locality of last_pid
         * (memview.h). */
        bool memory;
        char local[16];
        int local_permille;
        JsonWriter w;
        Table t;
        size_t omitted; /* threads left out: the answer would have grown past its bound */
        size_t row;     /* the next row of t to render, once every row is in */
} ListJob;

static void list_job_free(void *p) {
        ListJob *j = p;
        if (!j)
                return;
        free(j->pairs);
        strvec_done(&j->reasons);
        free(j->reason_counts);
        table_done(&j->t);
        free(j);
}

static void list_job_freep(ListJob **j) {
        list_job_free(*j);
}

/* The policy th's rule sets, "-" when none; the original after a slash. */
static void rule_policy(const Rule *r, const Thread *th, char *buf, size_t size, char *orig, size_t osize) {
        snprintf(buf, size, "-");
        snprintf(orig, osize, "-");
        if (r && r->has_policy)
                (void) policy_format(&r->policy, buf, size);
        if (th->policy_original)
                (void) policy_format(th->policy_original, orig, osize);
}

/* The footnote number of a skip reason, from 1. */
static size_t reason_mark(ListJob *j, const char *reason) {
        size_t i;
        for (i = 0; i < j->reasons.n; i++)
                if (strcmp(j->reasons.v[i], reason) == 0)
                        break;
        if (i == j->reasons.n) {
                size_t *nc = realloc(j->reason_counts, (i + 1) * sizeof *nc);
                if (!nc)
                        return 0;
                j->reason_counts = nc;
                if (strvec_push(&j->reasons, reason) < 0)
                        return 0;
                nc[i] = 0;
        }
        j->reason_counts[i]++;
        return i + 1;
}

static void list_row(Manager *m, ListJob *j, const Thread *th) {
        const Rule *r = th->rule ? config_find_rule(m->rc.config, th->rule) : NULL;
        _cleanup_(freep) char *req_s = rule_requested(m, r), *eff = fmt_cpus(th->applied),
                              *orig = fmt_cpus(th->original);
        char pol[32], pol_orig[32];

        rule_policy(r, th, pol, sizeof pol, pol_orig, sizeof pol_orig);
        if (j->json) {
                json_object_begin(&j->w);
                json_field_int(&j->w, "pid", th->pid);
                json_field_int(&j->w, "tid", th->tid);
                json_field_string(&j->w, "comm", th->comm);
                json_field_string(&j->w, "thread", th->name);
                json_field_string(&j->w, "rule", th->rule);
                json_field_string(&j->w, "target", r ? rule_target(r) : NULL);
                json_field_string(&j->w, "action", r ? (r->avoid ? "avoid" : "cpus") : NULL);
                json_field_string(&j->w, "requested", req_s);
                json_field_string(&j->w, "avoid", r && r->avoid ? r->cpus.text : NULL);
                json_field_string(&j->w, "effective", th->applied ? eff : NULL);
                json_field_string(&j->w, "original", th->original ? orig : NULL);
                json_field_string(&j->w, "skipped", th->skip_reason);
                json_field_string(&j->w, "policy", strcmp(pol, "-") ? pol : NULL);
                json_field_string(&j->w, "original_policy", th->policy_original ? pol_orig : NULL);
                if (j->memory) {
                        json_key(&j->w, "memory_local_permille");
                        if (j->local_permille >= 0)
                                json_int(&j->w, j->local_permille);
                        else
                                json_null(&j->w);
                }
                json_object_end(&j->w);
                return;
        }
        table_add_cellf(&j->t, "%d", (int) th->pid);
        table_add_cellf(&j->t, "%d", (int) th->tid);
        /* Kernel threads in brackets, as ps(1) shows them. */
        if (r && r->kthreads)
                table_add_cellf(&j->t, "[%s]", th->comm);
        else
                table_add_cell(&j->t, th->comm);
        table_add_cell(&j->t, th->name);
        table_add_cell(&j->t, th->rule);
        if (r && r->avoid)
                table_add_cellf(&j->t, "avoid %s", r->cpus.text);
        else
                table_add_cell(&j->t, req_s);
        table_add_cell(&j->t, th->applied ? eff : "-");
        table_add_cell(&j->t, orig);
        table_add_cell(&j->t, pol);
        size_t mark = th->skip_reason ? reason_mark(j, th->skip_reason) : 0;
        if (mark)
                table_add_cellf(&j->t, "[%zu]", mark);
        else
                table_add_cell(&j->t, th->skip_reason ? "yes" : "-");
        if (j->memory)
                table_add_cell(&j->t, j->local);
}

static int list_step(void *userdata, void *state, CtlReply *reply) {
        Manager *m = userdata;
        ListJob *j = state;
        uint64_t t0 = now_usec();

        while (j->next < j->n) {
                /* Checked before any row is skipped: a row the peer may not
                 * see costs a look in /proc too. */
                if (j->next > 0 && (j->next & 7) == 0 && now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
                pid_t pid = j->pairs[2 * j->next], tid = j->pairs[2 * j->next + 1];
                Thread *th = thread_table_get(m->rc.threads, tid);
                if (!th || th->pid != pid || !th->rule) {
                        j->next++;
                        continue;
                }
                if (pid != j->last_pid) {
                        if (pid != j->reading_pid) {
                                j->reading_pid = pid;
                                j->last_visible = peer_may_see(&j->peer, pid);
                        }
                        if (j->last_visible && j->memory) {
                                /* Once per process: numa_maps walks its page
                                 * tables, a piece per slice. */
                                _cleanup_(memview_done) MemView mv = {0};
                                if (memview_read(m, &j->peer, pid, &mv) > 0)
                                        return 1;
                                memview_short(&mv, j->local, sizeof j->local);
                                j->local_permille = mv.permille;
                        }
                        j->last_pid = pid;
                }
                j->next++;
                if (!j->last_visible)
                        continue;
                /* Past what the answer may hold, the rest is counted (and
                 * its skip reasons too), not listed. */
                if (j->omitted ||
                    (j->json && outbuf_room(&reply->out, LIST_REPLY_RESERVE) < LIST_JSON_ROW_MAX)) {
                        j->omitted++;
                        if (!j->json && th->skip_reason)
                                (void) reason_mark(j, th->skip_reason);
                        continue;
                }
                list_row(m, j, th);
                if (!j->json && !table_keep_row(&j->t, outbuf_room(&reply->out, LIST_REPLY_RESERVE))) {
                        j->omitted++;
                        continue;
                }
                j->shown++;
        }
        if (j->json) {
                json_array_end(&j->w);
                if (j->omitted)
                        say_bound(&reply->err, &reply->out, j->omitted);
                return json_finish(&j->w);
        }
        /* The table a slice at a time too: root's may have 100,000 rows. */
        int r = table_render_until(&j->t, &reply->out, &j->row, t0 + CTL_STEP_BUDGET_USEC);
        if (r > 0)
                return 1;
        if (r >= 0) {
                if (j->omitted)
                        say_bound(&reply->out, &reply->out, j->omitted);
                outbuf_printf(&reply->out, "%zu thread%s\n", j->shown, j->shown == 1 ? "" : "s");
                for (size_t i = 0; i < j->reasons.n; i++) {
                        outbuf_printf(&reply->out, "%s[%zu] skipped (%zu thread%s): ", i ? "" : "\n", i + 1,
                                      j->reason_counts[i], j->reason_counts[i] == 1 ? "" : "s");
                        text_escape_append(&reply->out, j->reasons.v[i], strlen(j->reasons.v[i]));
                        outbuf_putc(&reply->out, '\n');
                }
        }
        return r < 0 ? r : outbuf_error(&reply->out);
}

/* list's filters, sent as pid=N and rule=NAME. -EINVAL: a usage error said
 * in reply; 0 with *ret_rule NULL for a rule the configuration lacks (also
 * said, with what was meant). */
static int list_filters(Manager *m, const CtlRequest *req, CtlReply *reply, pid_t *ret_pid,
                        const char **ret_rule) {
        for (size_t i = 0; i < req->n_args; i++) {
                const char *a = req->args[i];
                unsigned v;
                if (strncmp(a, "pid=", 4) == 0 && parse_uint(a + 4, &v) == 0 && v > 0 && v <= INT32_MAX) {
                        /* A thread id stands for its process, as for explain. */
                        const Thread *th = thread_table_get(m->rc.threads, (pid_t) v);
                        *ret_pid = th ? th->pid : (pid_t) v;
                } else if (strncmp(a, "rule=", 5) == 0 && a[5]) {
                        const Rule *r = config_find_rule(m->rc.config, a + 5);
                        if (!r) {
                                const char **names = calloc(m->rc.config->n_rules + 1, sizeof *names);
                                const char *hint = NULL;
                                for (size_t k = 0; names && k < m->rc.config->n_rules; k++)
                                        names[k] = m->rc.config->rules[k].name;
                                if (names)
                                        hint = suggest_word(a + 5, names, m->rc.config->n_rules);
                                outbuf_puts(&reply->err, "no rule '");
                                text_escape_append(&reply->err, a + 5, strlen(a + 5));
                                if (hint)
                                        outbuf_printf(&reply->err,
                                                      "' in the configuration (did you mean '%s'?)\n", hint);
                                else
                                        outbuf_puts(&reply->err, "' in the configuration (pinnerctl status "
                                                                 "lists the rules)\n");
                                free(names);
                                reply->exit_code = CTL_EXIT_FAILED;
                                return -ENOENT;
                        }
                        *ret_rule = r->name;
                } else {
                        outbuf_puts(&reply->err, "usage: list [pid=PID] [rule=NAME]\n");
                        reply->exit_code = CTL_EXIT_USAGE;
                        return -EINVAL;
                }
        }
        return 0;
}

int verb_list(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(list_job_freep) ListJob *j = calloc(1, sizeof *j);
        const char *only_rule = NULL;
        pid_t only_pid = 0;
        size_t i = 0;
        Thread *th;

        if (!j)
                return -ENOMEM;
        if (list_filters(m, req, reply, &only_pid, &only_rule) < 0)
                return 0;
        j->json = req->json;
        j->last_pid = -1;
        j->local_permille = -1;
        j->memory = numa_node_count(m->rc.host) > 1 || m->rc.config->memory;
        peer_view_init(&j->peer, m->rc.procfd, req->peer);
        j->pairs = calloc(2 * (thread_table_size(m->rc.threads) + 1), sizeof(pid_t));
        if (!j->pairs)
                return -ENOMEM;
        while ((th = thread_table_next(m->rc.threads, &i)))
                if (th->rule && (!only_pid || th->pid == only_pid) &&
                    (!only_rule || strcmp(th->rule, only_rule) == 0)) {
                        j->pairs[2 * j->n] = th->pid;
                        j->pairs[2 * j->n + 1] = th->tid;
                        j->n++;
                }
        qsort(j->pairs, j->n, 2 * sizeof(pid_t), tid_cmp);
        if (j->json) {
                json_init(&j->w, &reply->out);
                json_array_begin(&j->w);
        } else {
                static const struct {
                        const char *name;
                        TableAlign align;
                } columns[] = {
                        {"PID", TABLE_RIGHT},      {"TID", TABLE_RIGHT},     {"PROCESS", TABLE_LEFT},
                        {"THREAD", TABLE_LEFT},    {"RULE", TABLE_LEFT},     {"REQUESTED", TABLE_LEFT},
                        {"EFFECTIVE", TABLE_LEFT}, {"ORIGINAL", TABLE_LEFT}, {"POLICY", TABLE_LEFT},
                        {"SKIPPED", TABLE_LEFT},
                };
                table_init(&j->t);
                for (size_t k = 0; k < ELEMENTSOF(columns); k++)
                        table_add_column(&j->t, columns[k].name, columns[k].align);
                /* Memory locality matters where there is more than one node. */
                if (j->memory)
                        table_add_column(&j->t, "LOCAL", TABLE_RIGHT);
        }
        reply->step = list_step;
        reply->step_free = list_job_free;
        reply->step_state = TAKE_PTR(j);
        return 0;
}
