/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "lib/cpuset.h"
#include "testutil.h"
#include "lib/util.h"

static CpuSet *list(const char *text) {
        CpuSet *s = NULL;
        CpuSetError err = {0};
        int r = cpuset_parse_list(text, &s, &err);
        ck_assert_msg(r == 0, "parse_list(\"%s\") = %d (%s '%s')", text, r, err.reason ? err.reason : "",
                      err.token);
        return s;
}

static void assert_list(const CpuSet *s, const char *expected) {
        _cleanup_(freep) char *f = cpuset_format_list(s);
        ck_assert_ptr_nonnull(f);
        ck_assert_str_eq(f, expected);
}

/* Deterministic across libcs, unlike rand(). */
static uint64_t xorshift(uint64_t *state) {
        uint64_t x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *state = x;
}

START_TEST(test_canonical_identity) {
        /* clang-format off */
        static const char *const forms[] = {
                "", "0", "1", "0-1", "0-3", "0-3,8", "0,2,4,6", "1-2,4-5,7", "63", "64", "0-63", "0-64",
                "63-64", "127-128", "1023", "1024", "0-4095", "4-63", "65535", "0,65535", "2-7,9,11-12,8190",
        };
        /* clang-format on */
        for (size_t i = 0; i < ELEMENTSOF(forms); i++) {
                _cleanup_(cpuset_freep) CpuSet *s = list(forms[i]);
                assert_list(s, forms[i]);
        }
}
END_TEST

START_TEST(test_list_syntax) {
        /* clang-format off */
        static const struct {
                const char *in, *out;
        } t[] = {
                {"0-3,8,10-15:2", "0-3,8,10,12,14"},
                {"0-15:4", "0,4,8,12"},
                {"0-0", "0"},
                {"0-3:1", "0-3"},
                {"0-7:8", "0"},
                {"3,1,2", "1-3"},
                {"0-3,2-5", "0-5"},
                {"5,5,5", "5"},
                {"0-1\n", "0-1"},
                {"\n", ""},
                {"   ", ""},
                {"  0-3 , 8 \n", "0-3,8"},
                {"\t1,\t2\t", "1-2"},
                {"1,\n2", "1-2"},
                {"0001", "1"},
        };
        /* clang-format on */
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(cpuset_freep) CpuSet *s = list(t[i].in);
                assert_list(s, t[i].out);
        }
}
END_TEST

/* clang-format off */
static const struct {
        bool mask;
        const char *in, *reason, *token;
        int r;
} bad[] = {
        {false, "1-", "bad range", "1-", -EINVAL},
        {false, "-1", "not a CPU number", "-1", -EINVAL},
        {false, "3-1", "range end before its start", "3-1", -EINVAL},
        {false, "a", "not a CPU number", "a", -EINVAL},
        {false, "1,,2", "empty entry", "1,,2", -EINVAL},
        {false, "1,", "trailing comma", "1,", -EINVAL},
        {false, ",1", "empty entry", ",1", -EINVAL},
        {false, "1,\n", "trailing comma", "1,\n", -EINVAL},
        {false, "1, \r", "trailing comma", "1, \r", -EINVAL},
        {false, "0-3:0", "bad stride", "0-3:0", -EINVAL},
        {false, "0-3:", "bad stride", "0-3:", -EINVAL},
        {false, "0-3:x", "bad stride", "0-3:x", -EINVAL},
        {false, "70000", "CPU number too large", "70000", -EINVAL},
        {false, "0-70000", "CPU number too large", "0-70000", -EINVAL},
        {false, "65536", "CPU number too large", "65536", -EINVAL},
        {false, "99999999999999999999", "CPU number too large", "99999999999999999999", -EINVAL},
        {false, "1 2", "unexpected characters", "1 2", -EINVAL},
        {false, "1-2-3", "unexpected characters", "1-2-3", -EINVAL},
        {false, "5:2", "unexpected characters", "5:2", -EINVAL},
        {false, "0x3", "unexpected characters", "0x3", -EINVAL},
        {false, "1;2", "unexpected characters", "1;2", -EINVAL},
        {false, "+1", "not a CPU number", "+1", -EINVAL},
        {false, "0,all", "not a CPU number", "all", -EINVAL},
        {true, "0x", "empty mask", "0x", -EINVAL},
        {true, "", "empty mask", "", -EINVAL},
        {true, "ff,fff", "bad mask grouping", "ff,fff", -EINVAL},
        {true, "ffffffff,", "bad mask grouping", "ffffffff,", -EINVAL},
        {true, ",ffffffff", "bad mask grouping", ",ffffffff", -EINVAL},
        {true, "1,,ffffffff", "bad mask grouping", "1,,ffffffff", -EINVAL},
        {true, "123456789,00000000", "bad mask grouping", "123456789,00000000", -EINVAL},
        {true, "g", "not a hex digit", "g", -EINVAL},
        {true, "0xfg", "not a hex digit", "fg", -EINVAL},
        {true, "ff ff", "not a hex digit", "ff ff", -EINVAL},
        {true, "-1", "not a hex digit", "-1", -EINVAL},
};
/* clang-format on */

START_TEST(test_malformed) {
        CpuSet *s = (CpuSet *) 0x1; /* must stay untouched */
        CpuSetError err = {0};
        int r;

        r = bad[_i].mask ? cpuset_parse_mask(bad[_i].in, &s, &err) : cpuset_parse_list(bad[_i].in, &s, &err);
        ck_assert_msg(r == bad[_i].r, "\"%s\": r = %d", bad[_i].in, r);
        ck_assert_ptr_eq(s, (CpuSet *) 0x1);
        ck_assert_ptr_nonnull(err.reason);
        ck_assert_str_eq(err.reason, bad[_i].reason);
        ck_assert_str_eq(err.token, bad[_i].token);
}
END_TEST

START_TEST(test_error_token_truncated) {
        char text[200];
        CpuSet *s = NULL;
        CpuSetError err = {0};

        memset(text, 'x', sizeof text - 1);
        text[sizeof text - 1] = '\0';
        ck_assert_int_eq(cpuset_parse_list(text, &s, &err), -EINVAL);
        ck_assert_uint_eq(strlen(err.token), sizeof err.token - 1);
        /* A NULL err is allowed. */
        ck_assert_int_eq(cpuset_parse_list("x", &s, NULL), -EINVAL);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_masks) {
        /* clang-format off */
        static const struct {
                const char *in, *list, *mask;
        } t[] = {
                {"0xff", "0-7", "ff"},
                {"ff", "0-7", "ff"},
                {"0XFF", "0-7", "ff"},
                {"ff,ffffffff", "0-39", "ff,ffffffff"},
                {"1,00000000", "32", "1,00000000"},
                {"0", "", "0"},
                {"00000000,00000000", "", "0"},
                {"0x0", "", "0"},
                {"1", "0", "1"},
                {"80000000", "31", "80000000"},
                {"deadbeef", "0-3,5-7,9-13,15-16,18-19,21,23,25-28,30-31", "deadbeef"},
                {"ffffffffff", "0-39", "ff,ffffffff"},
                {" 0x3\n", "0-1", "3"},
                {"1,00000000,00000000", "64", "1,00000000,00000000"},
        };
        /* clang-format on */
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(cpuset_freep) CpuSet *s = NULL;
                _cleanup_(freep) char *m = NULL;
                CpuSetError err = {0};

                ck_assert_msg(cpuset_parse_mask(t[i].in, &s, &err) == 0, "%s: %s", t[i].in,
                              err.reason ? err.reason : "");
                assert_list(s, t[i].list);
                m = cpuset_format_mask(s);
                ck_assert_str_eq(m, t[i].mask);
        }
}
END_TEST

START_TEST(test_mask_format_wide) {
        _cleanup_(cpuset_freep) CpuSet *s = list("0,4095");
        _cleanup_(freep) char *m = cpuset_format_mask(s);
        size_t len = strlen(m);

        /* 128 groups: "80000000" then 126 zero groups then "00000001". */
        ck_assert_uint_eq(len, 8 + 127 * 9);
        ck_assert(strncmp(m, "80000000,", 9) == 0);
        ck_assert_str_eq(m + len - 9, ",00000001");
}
END_TEST

static CpuSet *random_set(uint64_t *seed, unsigned width) {
        CpuSet *s = cpuset_new();
        unsigned density = (unsigned) (xorshift(seed) % 4);

        ck_assert_ptr_nonnull(s);
        for (unsigned c = 0; c < width; c++) {
                uint64_t x = xorshift(seed);
                bool on;
                switch (density) {
                case 0:
                        on = x % 64 == 0; /* sparse */
                        break;
                case 1:
                        on = x % 2 == 0;
                        break;
                case 2:
                        on = (c / 37) % 2 == 0 && x % 16 != 0; /* ranges with holes */
                        break;
                default:
                        on = x % 64 != 0; /* dense */
                }
                if (on)
                        ck_assert_int_eq(cpuset_add(s, c), 0);
        }
        return s;
}

START_TEST(test_random_round_trip) {
        uint64_t seed = 0x9e3779b97f4a7c15ull;

        for (unsigned iter = 0; iter < 300; iter++) {
                unsigned width = 1 + (unsigned) (xorshift(&seed) % 8192);
                _cleanup_(cpuset_freep) CpuSet *s = random_set(&seed, width);
                _cleanup_(cpuset_freep) CpuSet *from_list = NULL, *from_mask = NULL;
                _cleanup_(freep) char *l = cpuset_format_list(s), *m = cpuset_format_mask(s), *l2 = NULL;
                CpuSetError err = {0};

                ck_assert_ptr_nonnull(l);
                ck_assert_ptr_nonnull(m);
                ck_assert_int_eq(cpuset_parse_list(l, &from_list, &err), 0);
                ck_assert_int_eq(cpuset_parse_mask(m, &from_mask, &err), 0);
                ck_assert_msg(cpuset_equal(s, from_list), "iteration %u: list %s", iter, l);
                ck_assert_msg(cpuset_equal(s, from_mask), "iteration %u: mask", iter);
                ck_assert_uint_eq(cpuset_count(from_list), cpuset_count(s));
                l2 = cpuset_format_list(from_mask);
                ck_assert_str_eq(l, l2);
        }
}
END_TEST

START_TEST(test_set_operations) {
        _cleanup_(cpuset_freep) CpuSet *a = list("0-3,8,100");
        _cleanup_(cpuset_freep) CpuSet *b = list("2-9");
        _cleanup_(cpuset_freep) CpuSet *wide = list("3,5000");
        _cleanup_(cpuset_freep) CpuSet *empty = list("");
        _cleanup_(cpuset_freep) CpuSet *x = NULL;

        x = cpuset_dup(a);
        cpuset_and(x, b);
        assert_list(x, "2-3,8");
        cpuset_free(x);

        x = cpuset_dup(a);
        ck_assert_int_eq(cpuset_or(x, b), 0);
        assert_list(x, "0-9,100");
        ck_assert_int_eq(cpuset_or(x, wide), 0);
        assert_list(x, "0-9,100,5000");
        cpuset_free(x);

        x = cpuset_dup(a);
        cpuset_andnot(x, b);
        assert_list(x, "0-1,100");
        cpuset_free(x);

        /* Narrow dst, wide src and the other way round. */
        x = cpuset_dup(b);
        cpuset_and(x, wide);
        assert_list(x, "3");
        cpuset_free(x);
        x = cpuset_dup(wide);
        cpuset_and(x, b);
        assert_list(x, "3");
        cpuset_free(x);
        x = cpuset_dup(wide);
        cpuset_andnot(x, b);
        assert_list(x, "5000");
        cpuset_free(x);
        x = cpuset_dup(b);
        cpuset_andnot(x, wide);
        assert_list(x, "2,4-9");
        cpuset_free(x);
        x = NULL;

        /* and/andnot leave no trailing zero words: equal to a narrow set. */
        {
                _cleanup_(cpuset_freep) CpuSet *y = cpuset_dup(wide), *three = list("3");
                cpuset_and(y, b);
                ck_assert(cpuset_equal(y, three));
                ck_assert(cpuset_equal(three, y));
                cpuset_del(wide, 5000);
                ck_assert(cpuset_equal(wide, three));
                ck_assert_int_eq(cpuset_last(wide), 3);
                ck_assert_int_eq(cpuset_add(wide, 5000), 0);
        }

        ck_assert(cpuset_equal(empty, empty));
        ck_assert(!cpuset_equal(a, b));
        ck_assert(cpuset_subset(empty, a));
        ck_assert(!cpuset_subset(a, empty));
        ck_assert(cpuset_subset(a, a));
        {
                _cleanup_(cpuset_freep) CpuSet *sub = list("2,8"), *big = list("0-6000");
                ck_assert(cpuset_subset(sub, a));
                ck_assert(cpuset_subset(sub, b));
                ck_assert(!cpuset_subset(a, b));
                ck_assert(cpuset_subset(wide, big));
                ck_assert(!cpuset_subset(big, wide));
                ck_assert(cpuset_subset(sub, big));
        }

        ck_assert_uint_eq(cpuset_count(a), 6);
        ck_assert_uint_eq(cpuset_count(empty), 0);
        ck_assert(cpuset_empty(empty));
        ck_assert(!cpuset_empty(a));
        ck_assert(cpuset_has(a, 100));
        ck_assert(!cpuset_has(a, 99));
        ck_assert(!cpuset_has(a, 65535));
        ck_assert(!cpuset_has(empty, 0));

        ck_assert_int_eq(cpuset_next(a, -1), 0);
        ck_assert_int_eq(cpuset_next(a, 3), 8);
        ck_assert_int_eq(cpuset_next(a, 8), 100);
        ck_assert_int_eq(cpuset_next(a, 100), -1);
        ck_assert_int_eq(cpuset_next(a, 5000), -1);
        ck_assert_int_eq(cpuset_next(empty, -1), -1);
        ck_assert_int_eq(cpuset_next(wide, 3), 5000);
        ck_assert_int_eq(cpuset_last(a), 100);
        ck_assert_int_eq(cpuset_last(wide), 5000);
        ck_assert_int_eq(cpuset_last(empty), -1);
        ck_assert_int_eq(cpuset_nth(a, 0), 0);
        ck_assert_int_eq(cpuset_nth(a, 4), 8);
        ck_assert_int_eq(cpuset_nth(a, 5), 100);
        ck_assert_int_eq(cpuset_nth(a, 6), -1);
        ck_assert_int_eq(cpuset_nth(wide, 1), 5000);
        ck_assert_int_eq(cpuset_nth(empty, 0), -1);

        /* Iteration visits each CPU once, in order. */
        {
                unsigned n = 0;
                int prev = -1;
                for (int c = cpuset_next(a, -1); c >= 0; c = cpuset_next(a, c)) {
                        ck_assert_int_gt(c, prev);
                        ck_assert(cpuset_has(a, (unsigned) c));
                        prev = c;
                        n++;
                }
                ck_assert_uint_eq(n, cpuset_count(a));
        }

        /* copy, clear, del, add_range. */
        {
                _cleanup_(cpuset_freep) CpuSet *c = cpuset_new();
                ck_assert_int_eq(cpuset_copy(c, wide), 0);
                ck_assert(cpuset_equal(c, wide));
                ck_assert_int_eq(cpuset_copy(c, c), 0);
                ck_assert(cpuset_equal(c, wide));
                ck_assert_int_eq(cpuset_copy(c, empty), 0);
                ck_assert(cpuset_empty(c));
                ck_assert_int_eq(cpuset_add_range(c, 60, 70), 0);
                assert_list(c, "60-70");
                ck_assert_int_eq(cpuset_add_range(c, 5, 4), -EINVAL);
                ck_assert_int_eq(cpuset_add_range(c, 0, 65536), -ERANGE);
                assert_list(c, "60-70");
                cpuset_del(c, 64);
                cpuset_del(c, 9999);
                assert_list(c, "60-63,65-70");
                cpuset_clear(c);
                ck_assert(cpuset_empty(c));
                assert_list(c, "");
        }
}
END_TEST

START_TEST(test_kernel_buffer) {
        _cleanup_(cpuset_freep) CpuSet *s = list("0,5,63,64,1000,4095");
        _cleanup_(cpuset_freep) CpuSet *back = NULL, *cut = NULL;
        unsigned long buf[512 / sizeof(unsigned long)];
        unsigned long small[2];

        cpuset_to_kernel(s, buf, sizeof buf);
        ck_assert(buf[0] == ((1UL << 0) | (1UL << 5) | (1UL << 63)));
        ck_assert_int_eq(cpuset_from_kernel(buf, sizeof buf, &back), 0);
        ck_assert(cpuset_equal(s, back));
        assert_list(back, "0,5,63-64,1000,4095");

        /* CPUs at or past bytes * 8 are dropped; the rest of buf is zeroed. */
        memset(small, 0xff, sizeof small);
        cpuset_to_kernel(s, small, sizeof small);
        ck_assert_int_eq(cpuset_from_kernel(small, sizeof small, &cut), 0);
        assert_list(cut, "0,5,63-64");

        /* An all-zero buffer is the empty set, trimmed. */
        memset(buf, 0, sizeof buf);
        cpuset_free(back);
        back = NULL;
        ck_assert_int_eq(cpuset_from_kernel(buf, sizeof buf, &back), 0);
        ck_assert(cpuset_empty(back));
        ck_assert_int_eq(cpuset_last(back), -1);
}
END_TEST

START_TEST(test_limits) {
        _cleanup_(cpuset_freep) CpuSet *s = cpuset_new();
        _cleanup_(cpuset_freep) CpuSet *p = NULL, *m = NULL;
        CpuSetError err = {0};
        char mask[16384 + 2];

        ck_assert_int_eq(cpuset_add(s, 65535), 0);
        ck_assert_int_eq(cpuset_add(s, 65536), -ERANGE);
        ck_assert_int_eq(cpuset_add(s, UINT32_MAX), -ERANGE);
        assert_list(s, "65535");
        ck_assert_int_eq(cpuset_parse_list("65535", &p, &err), 0);
        ck_assert(cpuset_equal(p, s));

        /* 16384 hex digits are bits 0..65535: the top bit is fine... */
        mask[0] = '8';
        memset(mask + 1, '0', 16383);
        mask[16384] = '\0';
        ck_assert_int_eq(cpuset_parse_mask(mask, &m, &err), 0);
        ck_assert(cpuset_equal(m, s));
        cpuset_free(m);
        m = NULL;
        /* ...a 16385th digit of 1 is bit 65536... */
        mask[0] = '1';
        memset(mask + 1, '0', 16384);
        mask[16385] = '\0';
        ck_assert_int_eq(cpuset_parse_mask(mask, &m, &err), -EINVAL);
        ck_assert_str_eq(err.reason, "CPU number too large");
        ck_assert_ptr_null(m);
        /* ...but leading zeros past the limit are harmless. */
        mask[0] = '0';
        mask[1] = '8';
        ck_assert_int_eq(cpuset_parse_mask(mask, &m, &err), 0);
        ck_assert(cpuset_equal(m, s));
}
END_TEST

/* Declared for -Wmissing-prototypes; not at the start of a line, so the
 * Makefile's runner generator sees only the definition. */
extern Suite *cpuset_suite(void);
Suite *cpuset_suite(void) {
        Suite *s = suite_create("cpuset");
        TCase *tc = tcase_create("cpuset");

        tcase_add_test(tc, test_canonical_identity);
        tcase_add_test(tc, test_list_syntax);
        tcase_add_loop_test(tc, test_malformed, 0, (int) ELEMENTSOF(bad));
        tcase_add_test(tc, test_error_token_truncated);
        tcase_add_test(tc, test_masks);
        tcase_add_test(tc, test_mask_format_wide);
        tcase_add_test(tc, test_random_round_trip);
        tcase_add_test(tc, test_set_operations);
        tcase_add_test(tc, test_kernel_buffer);
        tcase_add_test(tc, test_limits);
        suite_add_tcase(s, tc);
        return s;
}
