/* SPDX-License-Identifier: MIT */
#include "core/scanorder.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

static ssize_t index_of(const pid_t *pids, size_t n, pid_t pid) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (pids[mid] == pid)
                        return (ssize_t) mid;
                if (pids[mid] < pid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -1;
}

int scan_order_parents_first(const pid_t *pids, const pid_t *ppids, size_t n, pid_t *out) {
        /* Children lists as one array ordered by parent (a counting sort),
         * then a breadth-first walk from the roots: parents level by level. */
        _cleanup_(freep) ssize_t *parent = calloc(n + 1, sizeof *parent);
        _cleanup_(freep) size_t *start = calloc(n + 2, sizeof *start), *child = calloc(n + 1, sizeof *child),
                                *queue = calloc(n + 1, sizeof *queue);
        _cleanup_(freep) bool *seen = calloc(n + 1, sizeof *seen);
        size_t head = 0, tail = 0, k = 0;

        if (!parent || !start || !child || !queue || !seen)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                parent[i] = ppids[i] > 0 && ppids[i] != pids[i] ? index_of(pids, n, ppids[i]) : -1;
                if (parent[i] >= 0)
                        start[parent[i] + 1]++;
        }
        for (size_t i = 0; i < n; i++)
                start[i + 1] += start[i];
        {
                _cleanup_(freep) size_t *fill = calloc(n + 1, sizeof *fill);
                if (!fill)
                        return -ENOMEM;
                memcpy(fill, start, n * sizeof *fill);
                /* In pid order, so siblings stay in pid order. */
                for (size_t i = 0; i < n; i++)
                        if (parent[i] >= 0)
                                child[fill[parent[i]]++] = i;
        }
        for (size_t i = 0; i < n; i++)
                if (parent[i] < 0) {
                        queue[tail++] = i;
                        seen[i] = true;
                }
        while (head < tail) {
                size_t p = queue[head++];
                out[k++] = pids[p];
                for (size_t c = start[p]; c < start[p + 1]; c++)
                        if (!seen[child[c]]) {
                                seen[child[c]] = true;
                                queue[tail++] = child[c];
                        }
        }
        for (size_t i = 0; i < n; i++)
                if (!seen[i])
                        out[k++] = pids[i];
        return 0;
}
