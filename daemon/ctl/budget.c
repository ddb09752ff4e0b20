/* SPDX-License-Identifier: MIT */
#include "ctl/budget.h"

void ctl_budget_init(CtlBudget *b, unsigned uid_share, unsigned all_share) {
        *b = (CtlBudget){.uid_share = uid_share ? uid_share : 1, .all_share = all_share ? all_share : 1};
}

static uint64_t max_u64(uint64_t a, uint64_t b) {
        return a > b ? a : b;
}

uint64_t ctl_budget_ready_at(const CtlBudget *b, uid_t uid) {
        uint64_t t = b->all_ready_at;
        for (size_t i = 0; i < b->n; i++)
                if (b->v[i].uid == uid)
                        return max_u64(t, b->v[i].ready_at);
        return t;
}

void ctl_budget_charge(CtlBudget *b, uid_t uid, uint64_t now, uint64_t cost_usec) {
        size_t i, slot = b->n;

        for (i = 0; i < b->n; i++)
                if (b->v[i].uid == uid)
                        break;
        if (i == b->n) {
                if (b->n < CTL_BUDGET_UIDS)
                        slot = b->n++;
                else {
                        /* Full: reuse the entry that is free soonest. Its uid
                         * may then work early, but never past the overall
                         * share, which every charge raises. */
                        slot = 0;
                        for (size_t k = 1; k < b->n; k++)
                                if (b->v[k].ready_at < b->v[slot].ready_at)
                                        slot = k;
                }
                b->v[slot].uid = uid;
                b->v[slot].ready_at = 0;
                i = slot;
        }
        b->v[i].ready_at = max_u64(b->v[i].ready_at, now) + cost_usec * (b->uid_share - 1);
        b->all_ready_at = max_u64(b->all_ready_at, now) + cost_usec * (b->all_share - 1);
}
