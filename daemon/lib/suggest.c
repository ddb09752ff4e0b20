/* SPDX-License-Identifier: MIT */
#include "lib/suggest.h"

#include <string.h>

unsigned suggest_distance(const char *a, const char *b) {
        /* Three rows of the dynamic programme: two back for the swap. */
        unsigned rows[3][SUGGEST_MAX_LEN + 1];
        size_t n = strlen(a), m = strlen(b);

        if (n > SUGGEST_MAX_LEN || m > SUGGEST_MAX_LEN)
                return SUGGEST_MAX_LEN + 1;
        for (size_t j = 0; j <= m; j++)
                rows[0][j] = (unsigned) j;
        for (size_t i = 1; i <= n; i++) {
                unsigned *cur = rows[i % 3], *prev = rows[(i - 1) % 3], *prev2 = rows[(i + 1) % 3];
                cur[0] = (unsigned) i;
                for (size_t j = 1; j <= m; j++) {
                        unsigned cost = a[i - 1] != b[j - 1];
                        unsigned best = prev[j] + 1; /* deletion */
                        if (cur[j - 1] + 1 < best)
                                best = cur[j - 1] + 1; /* insertion */
                        if (prev[j - 1] + cost < best)
                                best = prev[j - 1] + cost; /* substitution */
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            prev2[j - 2] + 1 < best)
                                best = prev2[j - 2] + 1; /* two letters swapped */
                        cur[j] = best;
                }
        }
        return rows[n % 3][m];
}

const char *suggest_word(const char *word, const char *const *candidates, size_t n) {
        size_t len = strlen(word);
        unsigned limit = len <= 4 ? 1 : 2, best_d = limit + 1;
        const char *best = NULL;

        if (len == 0)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                unsigned d;
                if (!candidates[i] || strcmp(candidates[i], word) == 0)
                        continue;
                d = suggest_distance(word, candidates[i]);
                if (d < best_d && d < len) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        return best;
}
