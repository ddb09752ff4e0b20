/* SPDX-License-Identifier: MIT */
/* The value of `cpus`: terms joined by '&' (intersected), each a CPU list,
 * a hex mask, or a word the host resolves: all, housekeeping, isolated,
 * smt-primary, node:N, package:N, llc:N. Parsing is pure; resolving reads
 * only the Host (plan_resolve_cpus is the planner's entry point). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/cpuset.h"

struct Host;

#define CPUSPEC_MAX_TERMS 16 /* '&' joins at most this many terms */
#define CPUSPEC_MAX_NODE 1023u
#define CPUSPEC_MAX_ID (CPUSET_MAX_CPUS - 1) /* package:N and llc:N */

typedef enum CpuTermKind {
        CPU_TERM_LIST,         /* explicit cpulist or hex mask: `set` */
        CPU_TERM_ALL,          /* every online CPU */
        CPU_TERM_HOUSEKEEPING, /* online − isolated */
        CPU_TERM_ISOLATED,     /* isolcpus= and isolated partitions */
        CPU_TERM_NODE,         /* node:N */
        CPU_TERM_SMT_PRIMARY,  /* the lowest-numbered CPU of each core */
        CPU_TERM_PACKAGE,      /* package:N, physical_package_id N */
        CPU_TERM_LLC,          /* llc:N, the Nth last-level cache domain */
} CpuTermKind;

typedef struct CpuTerm {
        CpuTermKind kind;
        CpuSet *set; /* CPU_TERM_LIST */
        unsigned id; /* node, package or LLC number */
} CpuTerm;

typedef struct CpuSpec {
        CpuTerm *terms; /* intersected, in the order written */
        size_t n_terms;
        char *text; /* as written, for messages */
} CpuSpec;

/* Where a parse failed: a reason ("not a package number", "bad range") and
 * the offending text, raw and truncated (the caller escapes it); token is
 * "" when the reason says it all ("'&' without a term after it"). */
typedef struct CpuSpecError {
        char reason[128];
        char token[64];
} CpuSpecError;

/* Parse a cpus value. On failure *ret is untouched and *err says what is
 * wrong: -EINVAL for bad syntax (an empty term around '&', an unknown word,
 * "package:", "llc:-1", a bad list or a list selecting no CPU), -ERANGE for
 * a number past its limit, -ENOMEM. */
int cpuspec_parse(const char *text, CpuSpec *ret, CpuSpecError *err);
void cpuspec_done(CpuSpec *s);
bool cpuspec_equal(const CpuSpec *a, const CpuSpec *b);
/* One term as it would be written ("package:1", "smt-primary", "0-3");
 * malloc'd, NULL on ENOMEM. */
char *cpuspec_term_format(const CpuTerm *t);

/* The CPUs of one term, or of the whole spec (the intersection), on this
 * host. A term the host does not have (node:7 on a 2-node host, llc:4 with
 * four domains, isolated without isolated CPUs) is the empty set, never an
 * error. A host without topology information has every CPU as its own core
 * in no package and no LLC domain. */
int cpuspec_resolve_term(const struct Host *h, const CpuTerm *t, CpuSet **ret);
int cpuspec_resolve(const struct Host *h, const CpuSpec *spec, CpuSet **ret);

/* Why the spec is empty on this host, for a load-time warning and a plan's
 * skip reason: the first term that resolves to no CPU ("package:3 has no
 * CPU on this host (packages: 0-1)"), or, when every term has CPUs, that
 * they share none. *ret = NULL when the spec is not empty. */
int cpuspec_empty_reason(const struct Host *h, const CpuSpec *spec, char **ret);
