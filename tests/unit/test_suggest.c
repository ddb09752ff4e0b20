/* SPDX-License-Identifier: MIT */
/* suggest.c: edit distance and "did you mean", on the key names of
 * pinnerd.conf and on words no one should be told they meant. */
#include <check.h>
#include <string.h>

#include "lib/suggest.h"
#include "lib/util.h"

static const struct {
        const char *a, *b;
        unsigned d;
} distances[] = {
        {"", "", 0},
        {"cpus", "cpus", 0},
        {"cpu", "cpus", 1},         /* insertion */
        {"cpuss", "cpus", 1},       /* deletion */
        {"cpos", "cpus", 1},        /* substitution */
        {"cpsu", "cpus", 1},        /* two letters swapped: one edit */
        {"priorty", "priority", 1}, /* a letter left out */
        {"threds", "threads", 1},
        {"isolate", "isolated", 1},
        {"kthread", "kthreads", 1},
        {"", "cpus", 4},
        {"spread", "", 6},
        {"abc", "xyz", 3},
        {"CPUS", "cpus", 4}, /* case counts: keys are lower case */
};

START_TEST(test_distance) {
        ck_assert_msg(suggest_distance(distances[_i].a, distances[_i].b) == distances[_i].d, "'%s' '%s': %u",
                      distances[_i].a, distances[_i].b, suggest_distance(distances[_i].a, distances[_i].b));
        /* Symmetric. */
        ck_assert_uint_eq(suggest_distance(distances[_i].b, distances[_i].a), distances[_i].d);
}
END_TEST

static const char *const keys[] = {"comm",     "exe",      "cmdline", "user", "cgroup", "unit",
                                   "parent",   "kthreads", "threads", "cpus", "spread", "isolated",
                                   "priority", "policy",   "rtprio",  "nice", "drift",  "avoid"};

static const struct {
        const char *word, *want; /* want NULL: nothing is close enough */
} suggestions[] = {
        {"cpu", "cpus"},
        {"cpuset", "cpus"},
        {"CPUs", NULL},
        {"threds", "threads"},
        {"thread", "threads"},
        {"kthread", "kthreads"},
        {"priorty", "priority"},
        {"polcy", "policy"},
        {"isolate", "isolated"},
        {"isolcpus", NULL},
        {"avoids", "avoid"},
        {"spred", "spread"},
        {"usr", "user"},
        {"x", NULL},
        {"ab", NULL},
        {"", NULL},
        {"cpus", NULL}, /* the word itself is no suggestion */
        {"frobnicate", NULL},
};

START_TEST(test_suggest) {
        const char *got = suggest_word(suggestions[_i].word, keys, ELEMENTSOF(keys));
        if (suggestions[_i].want)
                ck_assert_msg(got && strcmp(got, suggestions[_i].want) == 0, "'%s': got '%s', want '%s'",
                              suggestions[_i].word, got ? got : "(none)", suggestions[_i].want);
        else
                ck_assert_msg(!got, "'%s': got '%s', want nothing", suggestions[_i].word, got);
}
END_TEST

/* Hostile input: words past the limit, bytes that are no letters, NULL
 * candidates, no candidates. */
START_TEST(test_hostile) {
        char big[SUGGEST_MAX_LEN * 4];
        const char *with_null[] = {NULL, "cpus", NULL};

        memset(big, 'c', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        ck_assert_uint_eq(suggest_distance(big, "cpus"), SUGGEST_MAX_LEN + 1);
        ck_assert_uint_eq(suggest_distance("cpus", big), SUGGEST_MAX_LEN + 1);
        ck_assert_ptr_null(suggest_word(big, keys, ELEMENTSOF(keys)));
        ck_assert_str_eq(suggest_word("cpu", with_null, ELEMENTSOF(with_null)), "cpus");
        ck_assert_ptr_null(suggest_word("cpu", keys, 0));
        ck_assert_ptr_null(suggest_word("\xff\xfe\n", keys, ELEMENTSOF(keys)));
        /* Ties go to the candidate listed first. */
        const char *tie[] = {"abcd", "abce"};
        ck_assert_str_eq(suggest_word("abcf", tie, 2), "abcd");
}
END_TEST

Suite *suggest_suite(void) {
        Suite *s = suite_create("suggest");
        TCase *tc = tcase_create("core");
        tcase_add_loop_test(tc, test_distance, 0, (int) ELEMENTSOF(distances));
        tcase_add_loop_test(tc, test_suggest, 0, (int) ELEMENTSOF(suggestions));
        tcase_add_test(tc, test_hostile);
        suite_add_tcase(s, tc);
        return s;
}
