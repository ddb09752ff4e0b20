/* SPDX-License-Identifier: MIT */
/* Kernel threads a `kthreads = yes` rule cannot move: the kernel keeps them
 * on their CPUs (per-CPU workers, ksoftirqd, migration: PF_NO_SETAFFINITY,
 * EINVAL from sched_setaffinity). Said once per rule and kind of name
 * ("ksoftirqd/N", "kworker/N:NH"), with how many threads of each, not once
 * per thread: a shield rule (`avoid =`) over kernel threads meets dozens of
 * them on every CPU. Pure bookkeeping; the manager logs what it returns. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Distinct (rule, kind) pairs remembered; past this, new kinds go
 * unsummarised (the per-thread debug records still name each thread). */
#define UNMOVABLE_MAX_KINDS 512u

typedef struct UnmovableKind {
        char *rule;
        char *kind;
        unsigned threads;
        bool said;
} UnmovableKind;

typedef struct Unmovable {
        UnmovableKind *v;
        size_t n, cap;
        bool pending; /* something not said yet */
} Unmovable;

/* The kind of a kernel thread name: every run of digits becomes "N"
 * ("kworker/0:1H" -> "kworker/N:NH"); cut to size - 1 bytes. */
void unmovable_kind(const char *name, char *out, size_t size);

/* Thread `name` of rule `rule` cannot move. 0, or -ENOMEM. */
int unmovable_note(Unmovable *u, const char *rule, const char *name);

/* The first rule with kinds not said yet: its kinds as "cpuhp/N (2),
 * ksoftirqd/N (2)" (sorted) and their thread count; marks them said.
 * Returns the rule's name (owned by u; valid until the next note or reset)
 * and a malloc'd list in *ret_kinds, or NULL when everything was said. */
const char *unmovable_take(Unmovable *u, char **ret_kinds, unsigned *ret_threads);

/* Forget everything. Not at reload: a thread whose rule stays keeps its
 * "reported" mark, and one that a new rule takes is noted under that rule. */
void unmovable_reset(Unmovable *u);
