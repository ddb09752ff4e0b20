/* SPDX-License-Identifier: MIT */
/* Full scans of /proc against the rules (reconcile-scan.c). */
#pragma once

#include "core/reconciler.h"

/* A full /proc scan: every process against the rules, entries the scan did
 * not reach released or forgotten. The host is re-read first. */
void reconcile_rescan(Reconciler *rc, const char *why);
/* Say which kernel threads rules could not move and that were not said yet:
 * one record per rule, after a scan or a batch of events. */
void reconcile_say_unmovable(Reconciler *rc);
