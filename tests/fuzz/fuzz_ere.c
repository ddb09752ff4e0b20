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
         * compiles quickly (few quantifiers, none right after another, and
         * no counted repetition of a group when there is any other: a group
         * holding a star repeated {8} took glibc over 7 s, after 175,000
         * runs; nor a group counted past 16: "(}b|\\b\\b){62}x" took it past
         * the fuzzer's 2 GB, after 2.7 million). */
        unsigned quantifiers = 0;
        bool stacked = false, counted_group = false, big_count = false;
        for (size_t i = 0; i < pl; i++)
                if (strchr("*+?{", pattern[i])) {
                        quantifiers++;
                        if (i > 0 && strchr("*+?}", pattern[i - 1]))
                                stacked = true;
                        if (pattern[i] == '{' && i > 0 && pattern[i - 1] == ')') {
                                const char *q = pattern + i + 1;
                                counted_group = true;
                                while (*q && *q != '}')
                                        if (*q >= '0' && *q <= '9') {
                                                char *end;
                                                if (strtoul(q, &end, 10) > 16)
                                                        big_count = true;
                                                q = end;
                                        } else
                                                q++;
                        }
                }
        /* glibc also lets a newline the text holds end a line for an anchor
         * that a '.' or '[^x]' stepped over, without REG_NEWLINE: '.^'
         * matches "L\n" there, but 'x^' never matches "x\n"; pinnerd's
         * newline is an ordinary character, as POSIX has it. */
        bool newline_anchor = memchr(text, '\n', tl) && strpbrk(pattern, "^$");
        regex_t g;
        if (!newline_anchor && quantifiers <= 6 && !stacked && !(counted_group && quantifiers > 1) &&
            !big_count && regcomp(&g, pattern, REG_EXTENDED | REG_NOSUB) == 0) {
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
