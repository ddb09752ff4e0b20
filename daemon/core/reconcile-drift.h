/* SPDX-License-Identifier: MIT */
/* Drift: remembered threads against the masks pinnerd set (reconcile-drift.c). */
#pragma once

#include <sys/types.h>

#include "core/reconciler.h"

/* Every remembered thread against the mask pinnerd set (verify). */
void reconcile_check_drift(Reconciler *rc);
/* Someone else's sched_setaffinity named tid (a drift event): check that one
 * thread against what pinnerd set and apply the drift policy. */
void reconcile_drift_event(Reconciler *rc, pid_t tid);
