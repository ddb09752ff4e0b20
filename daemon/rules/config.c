/* SPDX-License-Identifier: MIT */
/* The Config object: freeing it, finding and comparing its rules, and
 * showing the diagnostics a load left. */
#include "rules/config.h"

#include <stdio.h>
#include <string.h>

char *conf_escape(const char *s, size_t max) {
        size_t n = strnlen(s, max + 1);
        bool cut = n > max;
        char *buf, *p;

        if (cut)
                n = max;
        buf = malloc(n * 4 + 4);
        if (!buf)
                return NULL;
        p = buf;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == '\\' || c == '\'') {
                        *p++ = '\\';
                        *p++ = (char) c;
                } else if (c == '\n') {
                        *p++ = '\\';
                        *p++ = 'n';
                } else if (c == '\t') {
                        *p++ = '\\';
                        *p++ = 't';
                } else if (c < 0x20 || c >= 0x7f) {
                        p += sprintf(p, "\\x%02x", c);
                } else
                        *p++ = (char) c;
        }
        if (cut)
                p = stpcpy(p, "...");
        *p = '\0';
        return buf;
}

void conf_diags_done(ConfDiags *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].file);
                free(d->v[i].message);
        }
        free(d->v);
        strvec_done(&d->files);
        *d = (ConfDiags){0};
}

/* The file name is escaped like the offending text in messages, so that a
 * formatted diagnostic is printable ASCII throughout and an output layer
 * can show it as it is, without escaping it a second time. */
static char *diag_format(const ConfDiag *d, bool severity) {
        _cleanup_(freep) char *f = conf_escape(d->file, CONF_MAX_VALUE);
        const char *w = severity && d->warning ? "warning: " : "";

        if (!f)
                return NULL;
        if (d->line > 0)
                return xasprintf("%s:%u: %s%s", f, d->line, w, d->message);
        return xasprintf("%s: %s%s", f, w, d->message);
}

char *conf_diag_format(const ConfDiag *d) {
        return diag_format(d, true);
}

char *conf_diag_format_bare(const ConfDiag *d) {
        return diag_format(d, false);
}

void conf_rule_done(Rule *r) {
        free(r->name);
        free(r->file);
        strvec_done(&r->comm);
        strvec_done(&r->exe);
        strvec_done(&r->cgroup);
        strvec_done(&r->unit);
        strvec_done(&r->parent);
        for (size_t i = 0; r->cmdline && i < r->cmdline_src.n; i++)
                ere_free(r->cmdline[i]);
        free(r->cmdline);
        strvec_done(&r->cmdline_src);
        free(r->users);
        strvec_done(&r->user_src);
        strvec_done(&r->threads);
        strvec_done(&r->irqs);
        strvec_done(&r->not_irqs);
        free(r->follow);
        strvec_done(&r->not_comm);
        strvec_done(&r->not_exe);
        strvec_done(&r->not_cgroup);
        strvec_done(&r->not_unit);
        strvec_done(&r->not_parent);
        strvec_done(&r->not_threads);
        for (size_t i = 0; r->not_cmdline && i < r->not_cmdline_src.n; i++)
                ere_free(r->not_cmdline[i]);
        free(r->not_cmdline);
        strvec_done(&r->not_cmdline_src);
        free(r->not_users);
        strvec_done(&r->not_user_src);
        cpuspec_done(&r->cpus);
        *r = (Rule){0};
}

void config_free(Config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_rules; i++)
                conf_rule_done(&c->rules[i]);
        free(c->rules);
        free(c->by_priority);
        strvec_done(&c->files);
        free(c);
}
unsigned rule_facts(const Rule *r) {
        unsigned f = 0;

        if (r->exe.n || r->not_exe.n)
                f |= FACT_EXE;
        if (r->cmdline_src.n || r->not_cmdline_src.n)
                f |= FACT_CMDLINE;
        if (r->n_users || r->n_not_users)
                f |= FACT_UID;
        if (r->cgroup.n || r->unit.n || r->not_cgroup.n || r->not_unit.n)
                f |= FACT_CGROUP;
        if (r->parent.n || r->not_parent.n)
                f |= FACT_PARENT;
        return f;
}

const char *rule_kind_name(RuleKind k) {
        switch (k) {
        case RULE_TASKS:
                return "tasks";
        case RULE_KTHREADS:
                return "kernel threads";
        case RULE_IRQS:
                return "IRQs";
        case RULE_WORKQUEUES:
                return "workqueues";
        }
        return "?";
}

bool config_has_kind(const Config *c, RuleKind k) {
        for (size_t i = 0; c && i < c->n_rules; i++)
                if (c->rules[i].kind == k)
                        return true;
        return false;
}

bool rule_irqs_all(const Rule *r) {
        for (size_t i = 0; r->kind == RULE_IRQS && i < r->irqs.n; i++)
                if (strcmp(r->irqs.v[i], "*") == 0)
                        return true;
        return false;
}

const Rule *config_find_rule(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_rules; i++)
                if (strcmp(c->rules[i].name, name) == 0)
                        return &c->rules[i];
        return NULL;
}

const char *rule_target(const Rule *r) {
        switch (r->kind) {
        case RULE_IRQS:
                return "irqs";
        case RULE_WORKQUEUES:
                return "workqueues";
        default:
                return r->kthreads ? "kernel-threads" : "threads";
        }
}

const char *spread_mode_name(SpreadMode s) {
        static const char *const names[] = {"no", "yes", "rule", "index"};
        return (unsigned) s < ELEMENTSOF(names) ? names[s] : "?";
}

char *rule_describe(const Rule *r) {
        _cleanup_(freep) char *cpus = conf_escape(r->cpus.text ? r->cpus.text : "", CONF_MAX_VALUE);
        char pol[32] = "";

        if (!cpus)
                return NULL;
        if (r->kind == RULE_IRQS || r->kind == RULE_WORKQUEUES) {
                const char *what = r->kind == RULE_IRQS ? "IRQs: " : "workqueues: ";
                if (r->follow) {
                        _cleanup_(freep) char *f = conf_escape(r->follow, CONF_MAX_VALUE);
                        return f ? xasprintf("%sfollow %s", what, f) : NULL;
                }
                return xasprintf("%s%s %s%s", what, r->avoid ? "avoid" : "cpus", cpus,
                                 r->isolated_allow && !r->avoid ? ", isolated allowed" : "");
        }
        if (r->has_policy && policy_format(&r->policy, pol + 9, sizeof pol - 9) == 0)
                memcpy(pol, ", policy ", 9);
        else
                pol[0] = '\0';
        return xasprintf("%s%s %s%s%s%s%s", r->kthreads ? "kernel threads: " : "",
                         r->avoid ? "avoid" : "cpus", cpus, r->spread != SPREAD_NO ? ", spread " : "",
                         r->spread != SPREAD_NO ? spread_mode_name(r->spread) : "", pol,
                         r->isolated_allow && !r->avoid ? ", isolated allowed" : "");
}

static bool strvec_equal(const StrVec *a, const StrVec *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (strcmp(a->v[i], b->v[i]) != 0)
                        return false;
        return true;
}

const char *memory_mode_name(MemoryMode m) {
        static const char *const names[] = {"keep", "follow", "interleave"};
        return (unsigned) m < ELEMENTSOF(names) ? names[m] : "?";
}

bool rule_equal(const Rule *a, const Rule *b) {
        if (strcmp(a->name, b->name) != 0)
                return false;
        if (!strvec_equal(&a->comm, &b->comm) || !strvec_equal(&a->exe, &b->exe) ||
            !strvec_equal(&a->cgroup, &b->cgroup) || !strvec_equal(&a->unit, &b->unit) ||
            !strvec_equal(&a->parent, &b->parent) || !strvec_equal(&a->cmdline_src, &b->cmdline_src) ||
            !strvec_equal(&a->threads, &b->threads))
                return false;
        if (!strvec_equal(&a->not_comm, &b->not_comm) || !strvec_equal(&a->not_exe, &b->not_exe) ||
            !strvec_equal(&a->not_cgroup, &b->not_cgroup) || !strvec_equal(&a->not_unit, &b->not_unit) ||
            !strvec_equal(&a->not_parent, &b->not_parent) ||
            !strvec_equal(&a->not_cmdline_src, &b->not_cmdline_src) ||
            !strvec_equal(&a->not_threads, &b->not_threads))
                return false;
        /* Compare resolved uids: the same name may now be another uid. */
        if (a->n_users != b->n_users ||
            (a->n_users && memcmp(a->users, b->users, a->n_users * sizeof(uid_t)) != 0))
                return false;
        if (a->n_not_users != b->n_not_users ||
            (a->n_not_users && memcmp(a->not_users, b->not_users, a->n_not_users * sizeof(uid_t)) != 0))
                return false;
        if (a->kind != b->kind || a->workqueues != b->workqueues || !strvec_equal(&a->irqs, &b->irqs) ||
            !strvec_equal(&a->not_irqs, &b->not_irqs) || (!a->follow) != (!b->follow) ||
            (a->follow && strcmp(a->follow, b->follow) != 0))
                return false;
        return a->kthreads == b->kthreads && cpuspec_equal(&a->cpus, &b->cpus) && a->avoid == b->avoid &&
               a->spread == b->spread && a->isolated_allow == b->isolated_allow &&
               a->priority == b->priority && a->drift == b->drift && a->memory == b->memory &&
               a->has_policy == b->has_policy && a->guarantee_exec == b->guarantee_exec &&
               (!a->has_policy || policy_equal(&a->policy, &b->policy));
}
