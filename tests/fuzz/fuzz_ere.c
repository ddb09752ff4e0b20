/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for lib/ere.c, differential: the input is a pattern,
 * a NUL, and a text. Whatever pinnerd's matcher compiles must match the text
 * exactly when glibc's regexec does (patterns are kept short, and texts
 * NUL-free, so glibc answers fast and on the same string); nothing may
 * crash, leak, or take more than the linear bound's time. */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ere.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *nul = memchr(data, 0, size);
        size_t pl = nul ? (size_t) (nul - data) : size;
        char pattern[64], text[512];
        size_t tl = nul ? size - pl - 1 : 0;

        if (pl >= sizeof pattern || tl >= sizeof text || (nul && memchr(nul + 1, 0, tl)))
                return 0;
        memcpy(pattern, data, pl);
        pattern[pl] = 0;
        if (nul)
                memcpy(text, nul + 1, tl);
        text[tl] = 0;

        Ere *e = NULL;
        char *why = NULL;
        int r = ere_compile(pattern, &e, &why);
        if (r < 0) {
                if (!why)
                        abort(); /* every refusal says why */
                free(why);
                return 0;
        }
        bool mine = ere_match(e, text, tl);
        /* glibc's regcomp copies what a quantifier repeats, so stacked or
         * nested repetitions make it exponential: compare only patterns it
         * compiles quickly (few quantifiers, none right after another). */
        unsigned quantifiers = 0;
        bool stacked = false;
        for (size_t i = 0; i < pl; i++)
                if (strchr("*+?{", pattern[i])) {
                        quantifiers++;
                        if (i > 0 && strchr("*+?}", pattern[i - 1]))
                                stacked = true;
                }
        regex_t g;
        if (quantifiers <= 6 && !stacked && regcomp(&g, pattern, REG_EXTENDED | REG_NOSUB) == 0) {
                bool theirs = regexec(&g, text, 0, NULL, 0) == 0;
                regfree(&g);
                if (mine != theirs) {
                        fprintf(stderr, "'%s' on '%s': pinnerd %d, glibc %d\n", pattern, text, mine, theirs);
                        abort();
                }
        }
        ere_free(e);
        return 0;
}
