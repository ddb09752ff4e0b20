/* SPDX-License-Identifier: MIT */
/* What non-root peers may cost the daemon. pinnerd holds a CPU at
 * SCHED_FIFO, so any user's requests compete with pinning itself: each uid
 * may use at most 1/uid_share of one CPU, and all non-root peers together
 * at most 1/all_share, however many connections they open. After a piece of
 * work of c µs, the uid waits c x (uid_share - 1) µs and every non-root peer
 * c x (all_share - 1) µs before its next piece. Root is never charged.
 * Pure: time is given. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 5% of a CPU per uid, 10% for all non-root peers together. */
#define CTL_BUDGET_UID_SHARE 20
#define CTL_BUDGET_ALL_SHARE 10
/* uids remembered at once; an entry whose wait is over is forgotten first. */
#define CTL_BUDGET_UIDS 64

typedef struct CtlBudget {
        struct {
                uid_t uid;
                uint64_t ready_at;
        } v[CTL_BUDGET_UIDS];
        size_t n;
        uint64_t all_ready_at;
        unsigned uid_share, all_share;
} CtlBudget;

void ctl_budget_init(CtlBudget *b, unsigned uid_share, unsigned all_share);
/* When uid may do its next piece of work (0 or a time in the past: now). */
uint64_t ctl_budget_ready_at(const CtlBudget *b, uid_t uid);
/* uid did cost_usec of work, ending at now. */
void ctl_budget_charge(CtlBudget *b, uid_t uid, uint64_t now, uint64_t cost_usec);
