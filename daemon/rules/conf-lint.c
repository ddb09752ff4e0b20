/* SPDX-License-Identifier: MIT */
/* Checks across rules and files, after the last file: what no host and no
 * process could ever make work is said with the file and line it is about.
 *
 * - A `cpus` with an `isolated` term names isolated CPUs only (terms are
 *   intersected), and a rule that does not allow isolated CPUs removes them
 *   all: every thread it matches would be skipped, on every host. That is an
 *   error, like any other value that cannot mean what it says; an `avoid`
 *   is not affected (keeping threads off isolated CPUs is meaningful). When
 *   only this host makes the CPUs all isolated (`cpus = 4-7` with
 *   isolcpus=4-7), it is a warning: the same file may suit another host.
 * - A rule is shadowed when a rule that wins over it (higher priority, or the
 *   same priority and defined first) matches every thread it matches: every
 *   match key of the winner is also in the shadowed rule, with the same
 *   values. The shadowed rule can then never apply; that is a warning (the
 *   configuration is valid, the rule is dead). */
#include "rules/conf-lint.h"

#include <stdint.h>
#include <string.h>

#include "kernel/host.h"

/* Match keys as a bit set, and each one's values, for comparing rules. */
enum {
        MK_COMM,
        MK_EXE,
        MK_CMDLINE,
        MK_USER,
        MK_CGROUP,
        MK_UNIT,
        MK_PARENT,
        MK_THREADS,
        _MK_MAX,
};

static const StrVec *key_values(const Rule *r, unsigned k, bool negated) {
        switch (k) {
        case MK_COMM:
                return negated ? &r->not_comm : &r->comm;
        case MK_EXE:
                return negated ? &r->not_exe : &r->exe;
        case MK_CMDLINE:
                return negated ? &r->not_cmdline_src : &r->cmdline_src;
        case MK_USER:
                return negated ? &r->not_user_src : &r->user_src;
        case MK_CGROUP:
                return negated ? &r->not_cgroup : &r->cgroup;
        case MK_UNIT:
                return negated ? &r->not_unit : &r->unit;
        case MK_PARENT:
                return negated ? &r->not_parent : &r->parent;
        default:
                return negated ? &r->not_threads : &r->threads;
        }
}

static unsigned match_keys(const Rule *r) {
        unsigned keys = 0;
        for (unsigned k = 0; k < _MK_MAX; k++)
                if (key_values(r, k, false)->n || key_values(r, k, true)->n)
                        keys |= 1u << k;
        return keys;
}

/* The same values, in any order (duplicates aside). */
static bool same_values(const StrVec *a, const StrVec *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++) {
                bool found = false;
                for (size_t j = 0; j < b->n && !found; j++)
                        found = strcmp(a->v[i], b->v[j]) == 0;
                if (!found)
                        return false;
        }
        return true;
}

static bool same_uids(const uid_t *a, size_t na, const uid_t *b, size_t nb) {
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++) {
                bool found = false;
                for (size_t j = 0; j < nb && !found; j++)
                        found = a[i] == b[j];
                if (!found)
                        return false;
        }
        return true;
}

/* Does every thread `loser` matches also match `winner`? Sound, not
 * complete: only when each key the winner gives, the loser gives with the
 * same values (users compared as resolved uids). */
static bool covers(const Rule *winner, unsigned wkeys, const Rule *loser, unsigned lkeys) {
        if (winner->kthreads != loser->kthreads || (wkeys & ~lkeys))
                return false;
        for (unsigned k = 0; k < _MK_MAX; k++) {
                if (!(wkeys & (1u << k)))
                        continue;
                if (k == MK_USER) {
                        if (!same_uids(winner->users, winner->n_users, loser->users, loser->n_users) ||
                            !same_uids(winner->not_users, winner->n_not_users, loser->not_users,
                                       loser->n_not_users))
                                return false;
                } else if (!same_values(key_values(winner, k, false), key_values(loser, k, false)) ||
                           !same_values(key_values(winner, k, true), key_values(loser, k, true)))
                        return false;
        }
        return true;
}

static bool wins_over(const Rule *a, const Rule *b) {
        return a->priority > b->priority || (a->priority == b->priority && a->index < b->index);
}

/* An order-free hash of one key's values (positive and negated apart), so
 * that rules with the same values meet in a hash table; users hash their
 * resolved uids, as covers() compares them. */
static uint64_t fnv(const void *data, size_t n, uint64_t h) {
        const unsigned char *p = data;
        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 1099511628211u;
        return h;
}

static uint64_t set_hash(const StrVec *v) {
        uint64_t sum = 0;
        for (size_t i = 0; i < v->n; i++)
                sum += fnv(v->v[i], strlen(v->v[i]) + 1, 14695981039346656037u);
        return sum;
}

static uint64_t uid_hash(const uid_t *u, size_t n) {
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++)
                sum += fnv(&u[i], sizeof u[i], 14695981039346656037u);
        return sum;
}

static uint64_t key_hash(const Rule *r, unsigned k) {
        if (k == MK_USER)
                return uid_hash(r->users, r->n_users) * 31 + uid_hash(r->not_users, r->n_not_users);
        return set_hash(key_values(r, k, false)) * 31 + set_hash(key_values(r, k, true));
}

/* The signature of a rule's match on the keys in `keys`: what two rules
 * share when their values are the same on those keys. */
static uint64_t signature(const uint64_t *hashes, unsigned keys, bool kthreads) {
        uint64_t h = fnv(&keys, sizeof keys, 14695981039346656037u);
        h = fnv(&kthreads, sizeof kthreads, h);
        for (unsigned k = 0; k < _MK_MAX; k++)
                if (keys & (1u << k))
                        h = fnv(&hashes[k], sizeof hashes[k], h);
        return h;
}

/* A rule w covers a rule l when w's keys are a subset S of l's with the same
 * values: so for every subset S of each rule's keys (at most 2^8), the rules
 * whose whole match is S with l's values are looked up in a table of every
 * rule's own signature, and only those are compared for real. Linear in the
 * rules: measured on 4096 rules sharing one comm, a whole --check took
 * 0.33 s comparing every pair and takes 0.05 s (as without this check). */
static void lint_shadowed(Loader *l) {
        size_t n = l->n_rules, cap = 1;
        while (cap < 2 * n)
                cap <<= 1;
        _cleanup_(freep) unsigned *keys = calloc(n ? n : 1, sizeof(unsigned));
        _cleanup_(freep) uint64_t *hashes = calloc(n ? n * _MK_MAX : 1, sizeof(uint64_t)),
                                  *sig = calloc(n ? n : 1, sizeof(uint64_t));
        _cleanup_(freep) size_t *head = malloc(cap * sizeof(size_t)),
                                *next = calloc(n ? n : 1, sizeof(size_t));

        if (!keys || !hashes || !sig || !head || !next) {
                l->oom = true;
                return;
        }
        for (size_t i = 0; i < cap; i++)
                head[i] = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
                const Rule *r = &l->rules[i];
                keys[i] = match_keys(r);
                for (unsigned k = 0; k < _MK_MAX; k++)
                        if (keys[i] & (1u << k))
                                hashes[i * _MK_MAX + k] = key_hash(r, k);
                sig[i] = signature(&hashes[i * _MK_MAX], keys[i], r->kthreads);
                /* A rule with no task match key targets no task (or every
                 * kernel thread, with kthreads): never a winner here. */
                if (keys[i] == 0 && !r->kthreads)
                        continue;
                next[i] = head[sig[i] & (cap - 1)];
                head[sig[i] & (cap - 1)] = i;
        }
        for (size_t i = 0; i < n && !l->stop; i++) {
                const Rule *loser = &l->rules[i], *w = NULL;
                /* Every subset of the loser's keys, the empty one included
                 * (a kthreads = yes rule alone covers every kernel thread). */
                for (unsigned sub = keys[i];; sub = (sub - 1) & keys[i]) {
                        uint64_t want = signature(&hashes[i * _MK_MAX], sub, loser->kthreads);
                        for (size_t j = head[want & (cap - 1)]; j != SIZE_MAX; j = next[j]) {
                                const Rule *c = &l->rules[j];
                                /* The first rule defined, as a reader scans the file. */
                                if (j != i && sig[j] == want && (!w || c->index < w->index) &&
                                    wins_over(c, loser) && covers(c, keys[j], loser, keys[i]))
                                        w = c;
                        }
                        if (sub == 0)
                                break;
                }
                if (!w)
                        continue;
                _cleanup_(freep) char *ln = conf_quote(loser->name), *wn = conf_quote(w->name),
                                      *wf = strcmp(w->file, loser->file) ? conf_quote(w->file) : NULL;
                l->file = loser->file;
                conf_diag(l, true, loser->line,
                          "[rule:%s] can never apply: [rule:%s] (%s%sline %u) matches every thread it "
                          "matches and wins (%s); give [rule:%s] a higher priority or remove it",
                          ln, wn, wf ? wf : "", wf ? " " : "", w->line,
                          w->priority > loser->priority ? "higher priority" : "same priority, defined first",
                          ln);
        }
        l->file = NULL;
}

static bool has_isolated_term(const CpuSpec *s) {
        for (size_t i = 0; i < s->n_terms; i++)
                if (s->terms[i].kind == CPU_TERM_ISOLATED)
                        return true;
        return false;
}

/* What the rule acts on, for the messages below. */
static const char *lint_things(const Rule *r) {
        switch (r->kind) {
        case RULE_IRQS:
                return "IRQ";
        case RULE_WORKQUEUES:
                return "workqueue mask";
        default:
                return "thread";
        }
}

static void lint_isolated(Loader *l) {
        for (size_t i = 0; i < l->n_rules && !l->stop; i++) {
                const Rule *r = &l->rules[i];
                const RuleOwn *own = &l->rule_own[i];
                bool allow = own->isolated >= 0 ? own->isolated : l->settings.isolated_allow;
                unsigned line = own->cpus_line ? own->cpus_line : r->line;

                if (r->avoid || allow || r->cpus.n_terms == 0)
                        continue;
                _cleanup_(freep) char *n = conf_quote(r->name), *v = conf_quote(r->cpus.text);
                l->file = r->file;
                if (has_isolated_term(&r->cpus)) {
                        conf_diag(l, false, line,
                                  "[rule:%s]: cpus '%s' names isolated CPUs only, but isolated CPUs are "
                                  "excluded for this rule (isolated = exclude), so every %s it matches "
                                  "would be skipped; add 'isolated = allow' to [rule:%s] (or to [pinnerd])",
                                  n, v, lint_things(r), n);
                        continue;
                }
                if (!l->host || !l->host->isolated || cpuset_empty(l->host->isolated))
                        continue;
                _cleanup_(cpuset_freep) CpuSet *set = NULL;
                if (cpuspec_resolve(l->host, &r->cpus, &set) < 0) {
                        l->oom = true;
                        return;
                }
                if (cpuset_empty(set) || !cpuset_subset(set, l->host->isolated))
                        continue;
                _cleanup_(freep) char *c = cpuset_format_list(set);
                conf_diag(
                        l, true, line,
                        "[rule:%s]: cpus '%s' is CPUs %s here, all isolated, and isolated CPUs are excluded "
                        "for this rule: its %ss are skipped on this host; add 'isolated = allow' if they "
                        "belong there",
                        n, v, c ? c : "?", lint_things(r));
        }
        l->file = NULL;
}

void conf_lint(Loader *l) {
        if (l->oom || l->stop)
                return;
        lint_isolated(l);
        lint_shadowed(l);
}
