/* SPDX-License-Identifier: MIT */
#include "rules/cpuspec.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/host.h"
#include "kernel/topology.h"
#include "lib/util.h"

static const struct {
        const char *word;
        CpuTermKind kind;
} words[] = {
        {"all", CPU_TERM_ALL},
        {"housekeeping", CPU_TERM_HOUSEKEEPING},
        {"isolated", CPU_TERM_ISOLATED},
        {"smt-primary", CPU_TERM_SMT_PRIMARY},
};

static const struct {
        const char *prefix; /* with the ':' */
        CpuTermKind kind;
        unsigned max;
        const char *what, *name;
} numbered[] = {
        {"node:", CPU_TERM_NODE, CPUSPEC_MAX_NODE, "a NUMA node number", "node number"},
        {"package:", CPU_TERM_PACKAGE, CPUSPEC_MAX_ID, "a package number", "package number"},
        {"llc:", CPU_TERM_LLC, CPUSPEC_MAX_ID, "an LLC domain number", "LLC domain number"},
};

static void term_done(CpuTerm *t) {
        cpuset_free(t->set);
        t->set = NULL;
}

void cpuspec_done(CpuSpec *s) {
        for (size_t i = 0; i < s->n_terms; i++)
                term_done(&s->terms[i]);
        free(s->terms);
        free(s->text);
        *s = (CpuSpec){0};
}

static void set_error(CpuSpecError *err, const char *token, const char *fmt, ...) _printf_(3, 4);
static void set_error(CpuSpecError *err, const char *token, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err->reason, sizeof err->reason, fmt, ap);
        va_end(ap);
        snprintf(err->token, sizeof err->token, "%s", token);
}

/* One term, already stripped and non-empty. */
static int parse_term(const char *s, CpuTerm *ret, CpuSpecError *e) {
        CpuTerm t = {0};
        CpuSetError err = {0};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strcmp(s, words[i].word) == 0) {
                        ret->kind = words[i].kind;
                        ret->set = NULL;
                        ret->id = 0;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(numbered); i++) {
                size_t n = strlen(numbered[i].prefix);
                unsigned id;

                if (strncmp(s, numbered[i].prefix, n) != 0)
                        continue;
                r = parse_uint(s + n, &id);
                if (r == -EINVAL) {
                        set_error(e, s, "not %s", numbered[i].what);
                        return -EINVAL;
                }
                if (r < 0 || id > numbered[i].max) {
                        set_error(e, s, "%s too large (at most %u)", numbered[i].name, numbered[i].max);
                        return -ERANGE;
                }
                ret->kind = numbered[i].kind;
                ret->set = NULL;
                ret->id = id;
                return 0;
        }
        /* A word we do not know (a typo of one above): say what is
         * allowed rather than "not a CPU number". */
        if (isalpha((unsigned char) s[0])) {
                set_error(e, s,
                          "unknown term (all, housekeeping, isolated, smt-primary, node:N, package:N, llc:N, "
                          "a CPU list or a 0x mask)");
                return -EINVAL;
        }
        bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
        t.kind = CPU_TERM_LIST;
        r = hex ? cpuset_parse_mask(s, &t.set, &err) : cpuset_parse_list(s, &t.set, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                set_error(e, err.token, "%s", err.reason ? err.reason : "bad value");
                return -EINVAL;
        }
        if (cpuset_empty(t.set)) {
                cpuset_free(t.set);
                set_error(e, s, "selects no CPU");
                return -EINVAL;
        }
        *ret = t;
        return 0;
}

int cpuspec_parse(const char *text, CpuSpec *ret, CpuSpecError *err) {
        _cleanup_(cpuspec_done) CpuSpec spec = {0};
        _cleanup_(freep) char *copy = strdup(text);
        char *p, *amp;
        int r;

        if (!copy)
                return -ENOMEM;
        spec.terms = calloc(CPUSPEC_MAX_TERMS, sizeof(CpuTerm));
        spec.text = strdup(text);
        if (!spec.terms || !spec.text)
                return -ENOMEM;
        for (p = copy;; p = amp + 1) {
                char *term;

                amp = strchr(p, '&');
                if (amp)
                        *amp = '\0';
                term = strstrip(p);
                if (term[0] == '\0') {
                        /* "& x", "x &", "a & & b", "": a missing term, said plainly. */
                        set_error(err, "", "%s",
                                  spec.n_terms == 0 && !amp ? "no CPU term"
                                  : spec.n_terms == 0       ? "'&' without a term before it"
                                  : !amp                    ? "'&' without a term after it"
                                                            : "'&' without a term between two '&'");
                        return -EINVAL;
                }
                if (spec.n_terms == CPUSPEC_MAX_TERMS) {
                        set_error(err, "", "more than %d terms joined by '&'", CPUSPEC_MAX_TERMS);
                        return -EINVAL;
                }
                r = parse_term(term, &spec.terms[spec.n_terms], err);
                if (r < 0)
                        return r;
                spec.n_terms++;
                if (!amp)
                        break;
        }
        *ret = spec;
        spec = (CpuSpec){0};
        return 0;
}

bool cpuspec_equal(const CpuSpec *a, const CpuSpec *b) {
        if (a->n_terms != b->n_terms)
                return false;
        for (size_t i = 0; i < a->n_terms; i++) {
                const CpuTerm *x = &a->terms[i], *y = &b->terms[i];
                if (x->kind != y->kind || x->id != y->id)
                        return false;
                if (x->kind == CPU_TERM_LIST && !(x->set && y->set && cpuset_equal(x->set, y->set)))
                        return false;
        }
        return true;
}

char *cpuspec_term_format(const CpuTerm *t) {
        switch (t->kind) {
        case CPU_TERM_LIST:
                return cpuset_format_list(t->set);
        case CPU_TERM_NODE:
                return xasprintf("node:%u", t->id);
        case CPU_TERM_PACKAGE:
                return xasprintf("package:%u", t->id);
        case CPU_TERM_LLC:
                return xasprintf("llc:%u", t->id);
        default:
                for (size_t i = 0; i < ELEMENTSOF(words); i++)
                        if (words[i].kind == t->kind)
                                return strdup(words[i].word);
                return NULL;
        }
}

static CpuSet *dup_or_empty(const CpuSet *s) {
        return s ? cpuset_dup(s) : cpuset_new();
}

int cpuspec_resolve_term(const Host *h, const CpuTerm *t, CpuSet **ret) {
        const Topology *topo = h->topology;
        CpuSet *s = NULL;

        switch (t->kind) {
        case CPU_TERM_LIST:
                s = dup_or_empty(t->set);
                break;
        case CPU_TERM_ALL:
                s = dup_or_empty(h->online);
                break;
        case CPU_TERM_HOUSEKEEPING:
                if (h->housekeeping)
                        s = cpuset_dup(h->housekeeping);
                else {
                        /* Defined as online − isolated when the host did not say. */
                        s = dup_or_empty(h->online);
                        if (s && h->isolated)
                                cpuset_andnot(s, h->isolated);
                }
                break;
        case CPU_TERM_ISOLATED:
                s = dup_or_empty(h->isolated);
                break;
        case CPU_TERM_NODE:
                s = dup_or_empty(host_node_cpus(h, t->id));
                break;
        case CPU_TERM_SMT_PRIMARY:
                /* Without topology every CPU is its own core. */
                s = topo ? cpuset_dup(topology_smt_primary(topo)) : dup_or_empty(h->possible);
                break;
        case CPU_TERM_PACKAGE:
                s = dup_or_empty(topo ? topology_package(topo, t->id) : NULL);
                break;
        case CPU_TERM_LLC:
                s = dup_or_empty(topo ? topology_llc(topo, t->id) : NULL);
                break;
        default:
                return -EINVAL;
        }
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int cpuspec_resolve(const Host *h, const CpuSpec *spec, CpuSet **ret) {
        _cleanup_(cpuset_freep) CpuSet *acc = NULL;
        int r;

        if (spec->n_terms == 0)
                return -EINVAL;
        for (size_t i = 0; i < spec->n_terms; i++) {
                _cleanup_(cpuset_freep) CpuSet *s = NULL;
                r = cpuspec_resolve_term(h, &spec->terms[i], &s);
                if (r < 0)
                        return r;
                if (!acc)
                        acc = TAKE_PTR(s);
                else
                        cpuset_and(acc, s);
        }
        *ret = TAKE_PTR(acc);
        return 0;
}

/* What the host has of a numbered term's kind, for the message. */
static char *what_host_has(const Host *h, CpuTermKind kind) {
        _cleanup_(cpuset_freep) CpuSet *ids = cpuset_new();
        _cleanup_(freep) char *l = NULL;
        const char *name;

        if (!ids)
                return NULL;
        switch (kind) {
        case CPU_TERM_NODE:
                name = "NUMA nodes";
                for (unsigned i = 0; i < h->n_nodes; i++)
                        if (host_node_cpus(h, i) && !cpuset_empty(host_node_cpus(h, i)) &&
                            cpuset_add(ids, i) < 0)
                                return NULL;
                break;
        case CPU_TERM_PACKAGE:
                name = "packages";
                for (unsigned i = 0; h->topology && i < topology_n_packages(h->topology); i++)
                        if (topology_package(h->topology, i) && cpuset_add(ids, i) < 0)
                                return NULL;
                break;
        case CPU_TERM_LLC:
                name = "LLC domains";
                if (h->topology && topology_n_llc(h->topology) > 0 &&
                    cpuset_add_range(ids, 0, topology_n_llc(h->topology) - 1) < 0)
                        return NULL;
                break;
        default:
                return strdup("");
        }
        if (cpuset_empty(ids))
                return xasprintf(" (no %s known)", name);
        l = cpuset_format_list(ids);
        return l ? xasprintf(" (%s: %s)", name, l) : NULL;
}

int cpuspec_empty_reason(const Host *h, const CpuSpec *spec, char **ret) {
        _cleanup_(cpuset_freep) CpuSet *all = NULL;
        int r;

        r = cpuspec_resolve(h, spec, &all);
        if (r < 0)
                return r;
        if (!cpuset_empty(all)) {
                *ret = NULL;
                return 0;
        }
        for (size_t i = 0; i < spec->n_terms; i++) {
                _cleanup_(cpuset_freep) CpuSet *s = NULL;
                _cleanup_(freep) char *name = NULL, *has = NULL;
                const CpuTerm *t = &spec->terms[i];

                r = cpuspec_resolve_term(h, t, &s);
                if (r < 0)
                        return r;
                if (!cpuset_empty(s))
                        continue;
                if (t->kind == CPU_TERM_ISOLATED)
                        *ret = strdup("no CPU is isolated on this host");
                else if (t->kind == CPU_TERM_HOUSEKEEPING)
                        *ret = strdup("no housekeeping CPU is online on this host");
                else if (t->kind == CPU_TERM_ALL)
                        *ret = strdup("no CPU is online on this host");
                else {
                        name = cpuspec_term_format(t);
                        has = what_host_has(h, t->kind);
                        if (!name || !has)
                                return -ENOMEM;
                        *ret = xasprintf("%s has no CPU on this host%s", name, has);
                }
                return *ret ? 0 : -ENOMEM;
        }
        /* Every term has CPUs, together none. Written canonically, not as
         * the user wrote it: the text may hold tabs and odd spacing. */
        _cleanup_(freep) char *joined = strdup("");
        for (size_t i = 0; joined && i < spec->n_terms; i++) {
                _cleanup_(freep) char *t = cpuspec_term_format(&spec->terms[i]), *prev = joined;
                joined = t ? xasprintf("%s%s%s", prev, i ? " & " : "", t) : NULL;
        }
        if (!joined)
                return -ENOMEM;
        *ret = xasprintf("%s share no CPU on this host", joined);
        return *ret ? 0 : -ENOMEM;
}
