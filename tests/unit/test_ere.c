/* SPDX-License-Identifier: MIT */
/* lib/ere.c: POSIX EREs matched in linear time. Its answers are glibc's
 * regexec(REG_EXTENDED | REG_NOSUB) answers, checked case by case and on
 * random patterns and texts; what it refuses, it refuses with a reason; and
 * the patterns that make glibc's matcher explode cost it a bounded number of
 * steps. */
#include <check.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/ere.h"
#include "lib/util.h"

static bool m(const char *re, const char *text) {
        Ere *e = NULL;
        char *why = NULL;
        ck_assert_msg(ere_compile(re, &e, &why) == 0, "%s: %s", re, why);
        bool r = ere_match(e, text, strlen(text));
        ere_free(e);
        return r;
}

static bool glibc(const char *re, const char *text) {
        regex_t g;
        ck_assert_msg(regcomp(&g, re, REG_EXTENDED | REG_NOSUB) == 0, "glibc refuses %s", re);
        bool r = regexec(&g, text, 0, NULL, 0) == 0;
        regfree(&g);
        return r;
}

static const struct {
        const char *re, *text;
        bool match;
} cases[] = {
        {"", "", true},
        {"", "abc", true},
        {"abc", "xxabcxx", true},
        {"abc", "ab", false},
        {"^abc", "abcd", true},
        {"^abc", "xabc", false},
        {"abc$", "xabc", true},
        {"abc$", "abcx", false},
        {"^$", "", true},
        {"^$", "x", false},
        {"a^b", "a^b", false}, /* an anchor anywhere, never a literal */
        {"a$b", "a$b", false},
        {"a\\^b", "a^b", true},
        {"a.c", "abc", true},
        {"a.c", "a\nc", true}, /* no REG_NEWLINE: '.' takes a newline */
        {"a|b|c", "zzc", true},
        {"(a|)b", "b", true},
        {"x(|y)z", "xz", true},
        {"()", "q", true},
        {"a*", "", true},
        {"^a*$", "aaaa", true},
        {"^a+$", "", false},
        {"^a?b$", "b", true},
        {"^a{3}$", "aaa", true},
        {"^a{3}$", "aaaa", false},
        {"^a{2,}$", "aaaaa", true},
        {"^a{2,}$", "a", false},
        {"^a{2,3}$", "aaaa", false},
        {"^a{,2}$", "aa", true},
        {"^a{0}b$", "b", true},
        {"^(ab){2}$", "abab", true},
        {"^(a|b)*c$", "ababbac", true},
        {"^(a*)*$", "aaa", true},
        {"^(a*)+b$", "b", true},
        {"^(a+)+$", "aaaa", true},
        {"^a++$", "aa", true},
        {"^a**b$", "b", true},
        {"^(a{2,})+$", "aaa", true},
        {"^(a{2,})+$", "a", false},
        {"^(a{2,})*$", "", true},
        {"^(a{3,})?$", "aa", false},
        {"[abc]", "xbx", true},
        {"[^abc]", "abc", false},
        {"[a-c]+$", "xcab", true},
        {"^[]a]+$", "]a]", true},
        {"^[^]a]$", "b", true},
        {"^[a-]$", "-", true},
        {"^[-a]$", "-", true},
        {"[[:digit:]]", "x7", true},
        {"^[[:alpha:][:digit:]_]+$", "a_9", true},
        {"^[[:space:]]$", "\t", true},
        {"^[[:upper:]]$", "a", false},
        {"^[[:punct:]]+$", "!-/", true},
        {"^[[:xdigit:]]+$", "fF09", true},
        {"^[[:cntrl:]]$", "\x7f", true},
        {"^[[.a.]-c]$", "b", true},
        {"^[[=a=]]$", "a", true},
        {"\\w+", " _x1 ", true},
        {"^\\W$", "_", false},
        {"^\\s\\S$", " x", true},
        {"\\bfoo\\b", "a foo b", true},
        {"\\bfoo\\b", "afoob", false},
        {"\\Boo\\B", "foob", true},
        {"\\<foo", "x foo", true},
        {"\\<foo", "xfoo", false},
        {"foo\\>", "foo.", true},
        {"foo\\>", "foox", false},
        {"\\`ab", "ab", true},
        {"ab\\'", "abc", false},
        {"a)b", "a)b", true}, /* ')' outside a group is a character */
        {"a\\.b", "axb", false},
        {"a\\.b", "a.b", true},
        {"\\(", "(", true},
        {"\xc3\xa9", "caf\xc3\xa9", true}, /* bytes are characters */
        {"^caf.$", "caf\xc3\xa9", false},
        {"^caf..$", "caf\xc3\xa9", true},
        {"[\x80-\xff]", "a\xe9", true},
        {"(^| )--numa(=| )[0-9]{1,3}( |$)", "qemu --numa=12 -x", true},
        {"(a|b)*a(a|b){20}x$", "bbbabbbbbbbbbbbbbbbbbbbbx", true},
};

START_TEST(test_cases) {
        bool got = m(cases[_i].re, cases[_i].text);
        ck_assert_msg(got == cases[_i].match, "'%s' on '%s': %d", cases[_i].re, cases[_i].text, got);
        /* The text has no NUL here, so glibc must agree. */
        ck_assert_msg(glibc(cases[_i].re, cases[_i].text) == cases[_i].match, "glibc: '%s' on '%s'",
                      cases[_i].re, cases[_i].text);
}
END_TEST

/* A NUL inside the text is a character too (lengths, not C strings). */
START_TEST(test_nul_in_text) {
        Ere *e = NULL;
        char *why = NULL;
        ck_assert_int_eq(ere_compile("a.b", &e, &why), 0);
        ck_assert(ere_match(e, "a\0b", 3));
        ck_assert(!ere_match(e, "a\0c", 3));
        ere_free(e);
}
END_TEST

static const struct {
        const char *re;
        int err;
        const char *why;
} bad[] = {
        {"(a)\\1", -EINVAL, "back-references such as \\1"},
        {"(ab", -EINVAL, "unmatched ("},
        {"[ab", -EINVAL, "unmatched ["},
        {"[[:alpha:]", -EINVAL, "unmatched ["},
        {"[[:alpha", -EINVAL, "unmatched [:"},
        {"*a", -EINVAL, "'*' has nothing to repeat"},
        {"a|?", -EINVAL, "'?' has nothing to repeat"},
        {"(+a)", -EINVAL, "'+' has nothing to repeat"},
        {"{1}", -EINVAL, "'{' has nothing to repeat"},
        {"a{x}", -EINVAL, "'{' starts no repetition"},
        {"a{1", -EINVAL, "'{' starts no repetition"},
        {"a{2,1}", -EINVAL, "the bound is below the count"},
        {"a{256}", -E2BIG, "a repetition count past 255"},
        {"\\", -EINVAL, "trailing backslash"},
        {"[[:word:]]", -EINVAL, "unknown character class [:word:]"},
        {"[z-a]", -EINVAL, "range out of order"},
        {"[[:alpha:]-z]", -EINVAL, "a character class cannot start a range"},
        {"[a-[:alpha:]]", -EINVAL, "a character class cannot end a range"},
        {"[[.ab.]]", -EINVAL, "must name exactly one character"},
        {"(x{255}){6}", -E2BIG, "more than 1280 states"},
        {"((a?){200}){200}", -E2BIG, "more than 1280 states"},
};

START_TEST(test_refused) {
        Ere *e = NULL;
        char *why = NULL;
        ck_assert_int_eq(ere_compile(bad[_i].re, &e, &why), bad[_i].err);
        ck_assert_ptr_null(e);
        ck_assert_msg(why && strstr(why, bad[_i].why), "%s: %s", bad[_i].re, why);
        ck_assert_msg(strstr(why, "(at offset "), "%s: no offset in '%s'", bad[_i].re, why);
        free(why);
}
END_TEST

START_TEST(test_depth) {
        char re[2 * ERE_MAX_DEPTH + 8], *why = NULL;
        Ere *e = NULL;
        size_t n = 0;
        for (int i = 0; i < ERE_MAX_DEPTH; i++)
                re[n++] = '(';
        re[n++] = 'a';
        for (int i = 0; i < ERE_MAX_DEPTH; i++)
                re[n++] = ')';
        re[n] = 0;
        ck_assert_int_eq(ere_compile(re, &e, &why), 0);
        ere_free(e);
        memmove(re + 1, re, n + 1);
        re[0] = '(';
        strcat(re, ")");
        ck_assert_int_eq(ere_compile(re, &e, &why), -E2BIG);
        ck_assert_ptr_nonnull(strstr(why, "nested deeper than 32"));
        free(why);
}
END_TEST

/* Stacked repetitions of unbounded ones fold into one: two states, not 2^26. */
START_TEST(test_stacked_fold) {
        Ere *e = NULL;
        char *why = NULL;
        ck_assert_int_eq(ere_compile("^x (a++++++++++++++++++++++++++|b)+$", &e, &why), 0);
        ck_assert_uint_lt(ere_states(e), 32);
        ck_assert(ere_match(e, "x aaab", 6));
        ck_assert(!ere_match(e, "x c", 3));
        ere_free(e);
}
END_TEST

/* The issue's pattern on 4 KB command lines of a hostile user: glibc took
 * 1.7 s and ~300 MB per line. Here every line costs at most (4096 + 1) x
 * states steps; 64 of them must run in well under Check's timeout, and
 * memory is the program's. */
START_TEST(test_hostile_linear) {
        Ere *e = NULL;
        char *why = NULL, *text = malloc(4096);
        ck_assert_int_eq(ere_compile("(a|b)*a(a|b){40}x$", &e, &why), 0);
        ck_assert_uint_lt(ere_states(e), 200);
        srand(7);
        for (int k = 0; k < 64; k++) {
                for (int i = 0; i < 4096; i++)
                        text[i] = "ab"[rand() % 2];
                ck_assert(!ere_match(e, text, 4096));
        }
        ere_free(e);
        free(text);
}
END_TEST

/* Random patterns over a small alphabet full of specials, each on random
 * texts: where glibc compiles the pattern too, the answers agree. */
START_TEST(test_differential) {
        static const char alpha[] = "ab.|*+?(){}[]^$\\-,0123:_ ]w";
        unsigned seed = 12345;
        size_t compared = 0;
        for (int it = 0; it < 20000; it++) {
                char pat[12], txt[12];
                int pl = rand_r(&seed) % 10;
                for (int i = 0; i < pl; i++)
                        pat[i] = alpha[rand_r(&seed) % (sizeof alpha - 1)];
                pat[pl] = 0;
                regex_t g;
                Ere *e = NULL;
                char *why = NULL;
                int gr = regcomp(&g, pat, REG_EXTENDED | REG_NOSUB);
                int er = ere_compile(pat, &e, &why);
                free(why);
                if (gr == 0 && er == 0)
                        for (int k = 0; k < 10; k++) {
                                int tl = rand_r(&seed) % 10;
                                for (int i = 0; i < tl; i++)
                                        txt[i] = "ab_ -0)w{}"[rand_r(&seed) % 10];
                                txt[tl] = 0;
                                bool want = regexec(&g, txt, 0, NULL, 0) == 0;
                                ck_assert_msg(ere_match(e, txt, strlen(txt)) == want,
                                              "'%s' on '%s': glibc %d", pat, txt, want);
                                compared++;
                        }
                /* Refusing what glibc takes: only back-references and the bounds. */
                if (gr == 0 && er != 0)
                        ck_assert_msg(strchr(pat, '\\') || strchr(pat, '{'), "refused '%s'", pat);
                if (gr == 0)
                        regfree(&g);
                ere_free(e);
        }
        ck_assert_uint_gt(compared, 50000);
}
END_TEST

Suite *ere_suite(void) {
        Suite *s = suite_create("ere");
        TCase *tc = tcase_create("match");
        tcase_add_loop_test(tc, test_cases, 0, (int) ELEMENTSOF(cases));
        tcase_add_test(tc, test_nul_in_text);
        tcase_add_loop_test(tc, test_refused, 0, (int) ELEMENTSOF(bad));
        tcase_add_test(tc, test_depth);
        tcase_add_test(tc, test_stacked_fold);
        tcase_add_test(tc, test_hostile_linear);
        tcase_add_test(tc, test_differential);
        suite_add_tcase(s, tc);
        return s;
}
