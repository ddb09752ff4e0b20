/* SPDX-License-Identifier: MIT */
/* The order a full scan visits processes in when a shield (a task rule
 * with `avoid`) is loaded: every parent before its children. A process
 * forks with its own mask, so once a parent is off the shielded CPUs every
 * child it creates afterwards is born off them too; visiting in pid order
 * instead would move a child before the parent that may fork it again
 * (pids wrap, so a parent's pid is not always lower). Pure. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* pids ascending (procfs_list_pids), ppids[i] the parent of pids[i] (0 or a
 * pid not in the list: a root of the forest, as are pids whose parent could
 * not be read). out gets the n pids, each parent before its children,
 * siblings and roots in pid order; entries a racy snapshot left in a cycle
 * come last, in pid order. -ENOMEM. */
int scan_order_parents_first(const pid_t *pids, const pid_t *ppids, size_t n, pid_t *out);
