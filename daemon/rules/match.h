/* SPDX-License-Identifier: MIT */
/* Rule matching: pure functions from a task's facts to the winning rule. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "rules/config.h"

/* What is known about one thread. Strings may hold any byte but NUL. Facts a
 * rule needs but that are NULL / !has_uid never match (the task vanished or
 * the file was unreadable). */
typedef struct TaskFacts {
        pid_t pid, tid;
        const char *comm;    /* process name: proc/PID/comm */
        const char *thread;  /* thread name: proc/PID/task/TID/comm */
        const char *exe;     /* FACT_EXE */
        const char *cmdline; /* FACT_CMDLINE, argv joined by spaces */
        uid_t uid;           /* FACT_UID */
        bool has_uid;
        const char *cgroup;      /* FACT_CGROUP: v2 path, or name=systemd path */
        const char *parent_comm; /* FACT_PARENT */
        bool kthread;
        /* FACT_* whose values whoever asks may not see (explain for a peer
         * without ptrace-level access): matched on as always, but a reason
         * says "(withheld)" instead of the value. */
        unsigned withheld;
} TaskFacts;

/* The systemd unit a cgroup path belongs to, as systemd derives it: the first
 * path component below the slices that is not a slice
 * ("/system.slice/nginx.service/x" → "nginx.service"). NULL if none.
 * Writes into buf. */
const char *cgroup_path_unit(const char *path, char *buf, size_t size);

/* Does the rule's process part (every key but threads) match? When it does
 * not and why is non-NULL, *why gets a malloc'd sentence naming the key, e.g.
 * "comm 'bash' does not match 'qemu-*'". */
bool rule_match_process(const Rule *r, const TaskFacts *f, char **why);
/* Does the rule's thread filter match f->thread? */
bool rule_match_thread(const Rule *r, const TaskFacts *f, char **why);

/* Negated match values (`cgroup = !/kubepods.slice/...`) are part of both
 * functions above: a value a negated pattern matches fails the key, with
 * *why "cgroup '...' is excluded by '!...'".
 *
 * The re-check right before the write. Between the scan that decided and the
 * sched_setaffinity that applies, a task can change in ways that reach
 * pinnerd only as a later event, or not at all: move to another cgroup
 * (into a container a rule excludes), change uid, be reparented. The apply
 * path re-reads the facts rule_recheck_facts() names (FACT_* bits; 0 means
 * nothing to re-read) and calls rule_still_matches() with them; false means
 * the write must not happen (why, when non-NULL, says why). It re-evaluates
 * the cgroup and unit keys, positive and negated, and every negated value of
 * the other keys; comm and thread are taken from f as they are (a rename is
 * an event of its own). Positive comm, exe, cmdline, user and parent values
 * are not re-checked: they only change with an exec or rename, which pinnerd
 * sees as an event. An unknown fact (NULL, !has_uid) makes it false. */
unsigned rule_recheck_facts(const Rule *r);
bool rule_still_matches(const Rule *r, const TaskFacts *f, char **why);

/* Do the rule's exe values (positive OR, negated AND NOT) match path? A
 * rule without exe values matches any. */
bool rule_match_exe(const Rule *r, const char *path);

/* Could a rule match a task with this process name and kernel-thread flag,
 * if its other facts matched too? A no lets the daemon skip reading them. */
bool match_comm_possible(const Config *c, const char *comm, bool kthread);

/* The winning rule for this thread: highest priority, ties to the rule
 * defined first, among rules whose process and thread parts both match.
 * NULL when none does. */
const Rule *match_thread(const Config *c, const TaskFacts *f);
