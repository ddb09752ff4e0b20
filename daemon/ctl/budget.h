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
/* A peer less than this past its share goes on rather than waiting: a wait
 * costs the loop a timer and a wakeup of its own (measured: a loop of bare
 * connects from 4 uids took ~13 loop iterations per connection with waits
 * of ~100 us, so the iterations, not the charged work, were most of the
 * cost). The share over a longer time is the same: the debt stays. */
#define CTL_BUDGET_SLACK_USEC 1000
/* What the loop itself spends on a wakeup for a peer (epoll, clocks, timers),
 * beyond the time measured inside the callback: charged with each piece of
 * work, or a flood of cheap ones (connects refused at once) would cost the
 * daemon more than its share (measured: 13% of a CPU instead of 10%, at
 * ~2.5 us of loop per piece). */
#define CTL_BUDGET_LOOP_USEC 10
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
/* When any non-root peer may: before that, not even a new connection of
 * theirs is taken (its uid is known only once it is accepted). */
uint64_t ctl_budget_all_ready_at(const CtlBudget *b);
/* uid did cost_usec of work, ending at now. */
void ctl_budget_charge(CtlBudget *b, uid_t uid, uint64_t now, uint64_t cost_usec);
