/* SPDX-License-Identifier: MIT */
/* pinnerd.conf sections: a [rule:NAME] started (name checked, room made,
 * the rule kept or parsed into scratch to report its errors), and ended with
 * the checks that need all its keys (a match key, cpus or avoid, policy
 * with rtprio or nice, guarantee = exec, memory); [pinnerd] started. */
#include "rules/conf-sections.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules/conf-rule-keys.h"
#include "rules/conf-targets.h"
#include "rules/execmark.h"

static bool rule_name_valid_char(char c) {
        return isalnum((unsigned char) c) || strchr("_.:@-", c);
}

/* policy, rtprio and nice go together as the kernel takes them. */
static void check_policy(Loader *l, const Rule *r, const char *n) {
        unsigned pl = l->key_line[K_POLICY], rl = l->key_line[K_RTPRIO], nl = l->key_line[K_NICE];
        bool rt = r->has_policy && policy_is_realtime(r->policy.kind);

        if (rl && !r->has_policy)
                conf_diag(l, false, rl, "[rule:%s]: rtprio needs policy = fifo or rr", n);
        else if (rl && !rt)
                conf_diag(l, false, rl, "[rule:%s]: rtprio is only for policy = fifo or rr, not %s", n,
                          policy_kind_name(r->policy.kind));
        if (r->has_policy && rt && !rl)
                conf_diag(l, false, pl, "[rule:%s]: policy = %s needs rtprio (1-99)", n,
                          policy_kind_name(r->policy.kind));
        if (nl && !r->has_policy)
                conf_diag(l, false, nl, "[rule:%s]: nice needs policy = other or batch", n);
        else if (nl && (rt || r->policy.kind == POLICY_IDLE))
                conf_diag(l, false, nl, "[rule:%s]: nice is only for policy = other or batch, not %s", n,
                          policy_kind_name(r->policy.kind));
}

/* guarantee = exec marks files: it needs files to mark, and it pins the
 * exec'ing task before it has any thread but itself. */
static void check_guarantee(Loader *l, const Rule *r, const char *n) {
        unsigned gl = l->key_line[K_GUARANTEE];

        if (!r->guarantee_exec)
                return;
        if (r->exe.n == 0)
                conf_diag(l, false, gl,
                          "[rule:%s]: guarantee = exec needs an exe = match (the files whose execs "
                          "wait for the rule)",
                          n);
        for (size_t i = 0; i < r->exe.n; i++) {
                _cleanup_(freep) char *dir = NULL;
                const char *name;
                int e = execmark_split(r->exe.v[i], &dir, &name);
                if (e == -ENOMEM)
                        l->oom = true;
                else if (e < 0) {
                        _cleanup_(freep) char *v = conf_quote(r->exe.v[i]);
                        conf_diag(l, false, gl,
                                  "[rule:%s]: guarantee = exec: exe '%s' must name files in one directory "
                                  "(an absolute path, wildcards only in the file name)",
                                  n, v);
                }
        }
        if (l->key_line[K_THREADS])
                conf_diag(l, false, gl,
                          "[rule:%s]: guarantee = exec pins the exec'ing task before it has threads; it "
                          "cannot be combined with threads (line %u)",
                          n, l->key_line[K_THREADS]);
        if (r->kthreads)
                conf_diag(l, false, gl, "[rule:%s]: guarantee = exec is for programs, not kthreads = yes", n);
}

static void end_rule(Loader *l) {
        Rule *r = l->rule;
        _cleanup_(freep) char *n = conf_quote(r->name);
        bool has_match = false;

        conf_rule_keys_check_names(l, r);

        for (unsigned k = K_COMM; k <= K_PARENT; k++)
                if (l->key_line[k] != 0)
                        has_match = true;
        /* kthreads = yes alone matches every kernel thread; kthreads = no alone
         * matches nothing. */
        if (r->kthreads || l->key_line[K_IRQS] || r->workqueues)
                has_match = true;
        if (!has_match)
                conf_diag(l, false, r->line,
                          "[rule:%s] has no match key (comm, exe, cmdline, user, cgroup, unit, parent, "
                          "kthreads = yes, irqs or workqueues = yes)",
                          n);
        /* One kind per rule; an irqs rule's cpus, avoid or follow. */
        conf_targets_end_rule(l, r, n);
        if (r->kind != RULE_IRQS) {
                if (l->key_line[K_CPUS] && l->key_line[K_AVOID])
                        conf_diag(l, false, l->key_line[K_AVOID],
                                  "[rule:%s] has both 'cpus' (line %u) and 'avoid': give one of them", n,
                                  l->key_line[K_CPUS]);
                else if (l->key_line[K_CPUS] == 0 && l->key_line[K_AVOID] == 0)
                        conf_diag(l, false, r->line, "[rule:%s] has no 'cpus' (or 'avoid')", n);
        }
        check_policy(l, r, n);
        /* A kernel thread has no memory of its own to move. */
        if (r->kthreads && r->memory != MEMORY_KEEP)
                conf_diag(l, false, l->key_line[K_MEMORY],
                          "[rule:%s]: memory = %s is for processes: kernel threads (kthreads = yes) have no "
                          "memory of their own",
                          n, memory_mode_name(r->memory));
        check_guarantee(l, r, n);
        l->own.cpus_line = l->key_line[K_CPUS] ? l->key_line[K_CPUS] : l->key_line[K_AVOID];
        if (l->rule_kept)
                l->rule_own[r->index] = l->own;
        else
                conf_rule_done(&l->scratch);
}

void conf_section_end(Loader *l) {
        if (l->sec == SEC_RULE)
                end_rule(l);
        l->sec = SEC_NONE;
        l->rule = NULL;
        l->rule_kept = false;
}

void conf_section_begin_rule(Loader *l, const char *name, const char *header) {
        _cleanup_(freep) char *n = conf_quote(name), *h = conf_quote(header);
        size_t len = strlen(name);
        bool keep = true;
        Rule *r;

        if (len == 0) {
                ERR(l, "rule name is empty: '%s'", h);
                keep = false;
        } else if (len > CONF_MAX_NAME) {
                ERR(l, "rule name '%s' too long (%zu bytes; at most %d)", n, len, CONF_MAX_NAME);
                keep = false;
        } else {
                for (const char *p = name; *p; p++)
                        if (!rule_name_valid_char(*p)) {
                                ERR(l, "rule name '%s' may only hold letters, digits and _ . : @ -", n);
                                keep = false;
                                break;
                        }
        }
        if (keep)
                for (size_t i = 0; i < l->n_rules; i++)
                        if (strcmp(l->rules[i].name, name) == 0) {
                                _cleanup_(freep) char *f = conf_escape(l->rules[i].file, CONF_MAX_VALUE);
                                ERR(l, "duplicate rule '%s' (first defined at %s:%u)", n, f ? f : "",
                                    l->rules[i].line);
                                keep = false;
                                break;
                        }
        if (keep && l->n_rules >= CONF_MAX_RULES) {
                /* Once: every later rule is the same problem. */
                if (!l->too_many_reported)
                        ERR(l, "too many rules: at most %d ('%s' and later rules are not used)",
                            CONF_MAX_RULES, h);
                l->too_many_reported = true;
                keep = false;
        }
        if (keep && l->n_rules == l->cap_rules) {
                size_t ncap = l->cap_rules ? l->cap_rules * 2 : 16;
                Rule *nv = realloc(l->rules, ncap * sizeof(Rule));
                RuleOwn *ni;
                if (!nv) {
                        l->oom = true;
                        keep = false;
                } else {
                        l->rules = nv;
                        ni = realloc(l->rule_own, ncap * sizeof(RuleOwn));
                        if (!ni) {
                                l->oom = true;
                                keep = false;
                        } else {
                                l->rule_own = ni;
                                l->cap_rules = ncap;
                        }
                }
        }

        r = keep ? &l->rules[l->n_rules] : &l->scratch;
        *r = (Rule){
                .name = strdup(name),
                .file = strdup(l->file),
                .line = l->line,
                .index = keep ? (unsigned) l->n_rules : 0,
        };
        if (!r->name || !r->file) {
                conf_rule_done(r);
                l->oom = true;
                l->sec = SEC_IGNORED;
                return;
        }
        if (keep) {
                l->rule_own[l->n_rules] = (RuleOwn){.isolated = -1, .drift = -1};
                l->n_rules++;
        }
        l->rule = r;
        l->rule_kept = keep;
        l->sec = SEC_RULE;
        l->own = (RuleOwn){.isolated = -1, .drift = -1};
        memset(l->key_line, 0, sizeof l->key_line);
        l->n_names = 0;
}

void conf_section_begin_settings(Loader *l) {
        l->sec = SEC_SETTINGS;
}
