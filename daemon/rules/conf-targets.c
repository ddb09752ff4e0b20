/* SPDX-License-Identifier: MIT */
/* Rules about IRQs and workqueues: their keys, and one kind per rule. */
#include "rules/conf-targets.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* IRQ numbers are below this (irq.h's IRQ_MAX_NUMBER; the rules layer does
 * not include the kernel's IRQ module for one number). */
#define CONF_IRQ_MAX_NUMBER 1048576u

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* One item of an irqs list, trimmed, as written (negated with its '!'). */
static void irqs_item(Loader *l, Rule *r, const char *value, char *item) {
        _cleanup_(freep) char *v = conf_quote(value), *it = conf_quote(item);
        bool negated = item[0] == '!';
        char *glob = negated ? item + 1 : item;

        if (item[0] == '\0') {
                ERR(l, "irqs '%s': an empty item (two commas, or one at an end)", v);
                return;
        }
        if (negated) {
                if (glob[0] == '\0') {
                        ERR(l, "irqs '%s': '!' negates nothing: write '!GLOB'", v);
                        return;
                }
                if (glob[0] == '!') {
                        ERR(l, "irqs '%s': one '!' negates an item", v);
                        return;
                }
                if (isspace((unsigned char) glob[0])) {
                        ERR(l, "irqs '%s': no space may follow '!' in '%s'", v, it);
                        return;
                }
        }
        /* A number no IRQ can have: said, as for a name too long to match. */
        if (all_digits(glob) && (strlen(glob) > 7 || (unsigned) atoi(glob) >= CONF_IRQ_MAX_NUMBER)) {
                _cleanup_(freep) char *g = conf_quote(glob);
                WARN(l, "irqs '%s': '%s' %s: no IRQ has that number", v, g,
                     negated ? "excludes nothing" : "can never match");
        }
        if (strvec_push(negated ? &r->not_irqs : &r->irqs, glob) < 0)
                l->oom = true;
}

void conf_key_irqs(Loader *l, Rule *r, const char *value) {
        _cleanup_(freep) char *copy = strdup(value);
        char *p;

        if (!copy) {
                l->oom = true;
                return;
        }
        /* Items are separated by commas; action names never hold one
         * ("PCIe PME, pciehp" is two actions sharing an IRQ). */
        for (p = copy;;) {
                char *comma = strchr(p, ',');
                if (comma)
                        *comma = '\0';
                irqs_item(l, r, value, strstrip(p));
                if (!comma)
                        break;
                p = comma + 1;
        }
}

void conf_key_workqueues(Loader *l, Rule *r, const char *value) {
        if (parse_boolean(value, &r->workqueues) < 0) {
                _cleanup_(freep) char *v = conf_quote(value);
                ERR(l, "workqueues '%s' is not a boolean (yes or no)", v);
        }
}

void conf_key_follow(Loader *l, Rule *r, const char *value) {
        _cleanup_(freep) char *v = conf_quote(value);

        for (const char *p = value; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.:@-", *p)) {
                        ERR(l, "follow '%s' is not a rule name (letters, digits and _ . : @ -)", v);
                        return;
                }
        if (strlen(value) > CONF_MAX_NAME) {
                ERR(l, "follow '%s' is not a rule name (at most %d bytes)", v, CONF_MAX_NAME);
                return;
        }
        free(r->follow);
        r->follow = strdup(value);
        if (!r->follow)
                l->oom = true;
        r->follow_line = l->line;
}

/* The first line of the keys that make a rule about tasks (its match keys),
 * 0 when none. */
static unsigned task_key_line(const Loader *l, const char **ret_key) {
        static const char *const names[] = {"comm", "exe", "cmdline", "user", "cgroup", "unit", "parent"};
        unsigned best = 0;

        for (unsigned k = K_COMM; k <= K_PARENT; k++)
                if (l->key_line[k] && (best == 0 || l->key_line[k] < best)) {
                        best = l->key_line[k];
                        *ret_key = names[k - K_COMM];
                }
        return best;
}

typedef struct KindUse {
        RuleKind kind;
        const char *key;
        unsigned line;
} KindUse;

/* Keys that only mean something for threads. */
static const struct {
        RuleKey key;
        const char *name;
} thread_only[] = {
        {K_THREADS, "threads"}, {K_SPREAD, "spread"}, {K_POLICY, "policy"},       {K_RTPRIO, "rtprio"},
        {K_NICE, "nice"},       {K_MEMORY, "memory"}, {K_GUARANTEE, "guarantee"},
};

void conf_targets_end_rule(Loader *l, Rule *r, const char *n) {
        KindUse uses[4];
        size_t n_uses = 0;
        const char *tk = NULL;
        unsigned tl = task_key_line(l, &tk);

        /* A kernel-thread rule may use comm and the other match keys. */
        if (r->kthreads)
                uses[n_uses++] = (KindUse){RULE_KTHREADS, "kthreads", l->key_line[K_KTHREADS]};
        else if (tl)
                uses[n_uses++] = (KindUse){RULE_TASKS, tk, tl};
        if (l->key_line[K_IRQS])
                uses[n_uses++] = (KindUse){RULE_IRQS, "irqs", l->key_line[K_IRQS]};
        if (r->workqueues)
                uses[n_uses++] = (KindUse){RULE_WORKQUEUES, "workqueues", l->key_line[K_WORKQUEUES]};
        if (l->key_line[K_IRQS])
                r->kind = RULE_IRQS;
        else if (r->workqueues)
                r->kind = RULE_WORKQUEUES;
        else
                r->kind = r->kthreads ? RULE_KTHREADS : RULE_TASKS;

        if (n_uses > 1) {
                /* Said at the later key: that is where the second kind came in. */
                size_t a = 0, b = 1;
                if (uses[a].line > uses[b].line) {
                        a = 1;
                        b = 0;
                }
                conf_diag(l, false, uses[b].line,
                          "[rule:%s] targets %s (%s, line %u) and %s (%s): a rule targets exactly one kind "
                          "of thing; write one rule for each",
                          n, rule_kind_name(uses[a].kind), uses[a].key, uses[a].line,
                          rule_kind_name(uses[b].kind), uses[b].key);
                return;
        }
        if (l->key_line[K_FOLLOW] && r->kind != RULE_IRQS)
                conf_diag(l, false, l->key_line[K_FOLLOW],
                          "[rule:%s]: 'follow' is only for irqs rules (an IRQ follows a task rule's threads)",
                          n);
        if (r->kind != RULE_IRQS && r->kind != RULE_WORKQUEUES)
                return;
        for (size_t i = 0; i < ELEMENTSOF(thread_only); i++)
                if (l->key_line[thread_only[i].key])
                        conf_diag(l, false, l->key_line[thread_only[i].key],
                                  "[rule:%s]: '%s' applies to threads, not to %s", n, thread_only[i].name,
                                  rule_kind_name(r->kind));
        if (r->kind != RULE_IRQS)
                return;
        /* An irqs rule: exactly one of cpus, avoid and follow. */
        static const struct {
                RuleKey key;
                const char *name;
        } actions[] = {{K_CPUS, "cpus"}, {K_AVOID, "avoid"}, {K_FOLLOW, "follow"}};
        unsigned first = 0;
        const char *first_name = NULL;
        for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
                unsigned line = l->key_line[actions[i].key];
                if (!line)
                        continue;
                if (!first_name) {
                        first = line;
                        first_name = actions[i].name;
                        continue;
                }
                conf_diag(l, false, line, "[rule:%s] has both '%s' (line %u) and '%s': give one of them", n,
                          first_name, first, actions[i].name);
        }
        if (!first_name)
                conf_diag(l, false, r->line, "[rule:%s] has no 'cpus', 'avoid' or 'follow'", n);
}

void conf_targets_finish(Loader *l) {
        const char *saved = l->file;

        for (size_t i = 0; i < l->n_rules; i++) {
                const Rule *r = &l->rules[i], *t = NULL;
                if (!r->follow)
                        continue;
                for (size_t k = 0; k < l->n_rules && !t; k++)
                        if (strcmp(l->rules[k].name, r->follow) == 0)
                                t = &l->rules[k];
                _cleanup_(freep) char *n = conf_quote(r->name), *f = conf_quote(r->follow);
                l->file = r->file;
                if (!t)
                        conf_diag(l, false, r->follow_line, "[rule:%s]: follow '%s' names no rule", n, f);
                else if (t->kind != RULE_TASKS && t->kind != RULE_KTHREADS)
                        conf_diag(l, false, r->follow_line,
                                  "[rule:%s]: follow '%s' names a rule about %s; it must name a rule about "
                                  "tasks, whose threads' CPUs the IRQs take",
                                  n, f, rule_kind_name(t->kind));
        }
        l->file = saved;
}
