/* SPDX-License-Identifier: MIT */
#include "lib/cpuset.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define WORD_BITS (sizeof(unsigned long) * CHAR_BIT)

/* Hosts with up to 64 CPUs keep the bits inline (w == &small): one
 * allocation per set, which matters with a few sets per managed thread. */
struct CpuSet {
        size_t nwords;
        unsigned long *w;
        unsigned long small;
};

static bool is_inline(const CpuSet *s) {
        return s->w == &s->small;
}

static void release_words(CpuSet *s) {
        if (!is_inline(s))
                free(s->w);
        s->w = NULL;
        s->nwords = 0;
}

CpuSet *cpuset_new(void) {
        return calloc(1, sizeof(CpuSet));
}

void cpuset_free(CpuSet *s) {
        if (!s)
                return;
        release_words(s);
        free(s);
}

static int cpuset_reserve(CpuSet *s, size_t nwords) {
        unsigned long *n;

        if (nwords <= s->nwords)
                return 0;
        if (nwords == 1) {
                /* nwords was 0: no storage yet. */
                s->small = 0;
                s->w = &s->small;
                s->nwords = 1;
                return 0;
        }
        if (is_inline(s) || !s->w) {
                n = malloc(nwords * sizeof(unsigned long));
                if (!n)
                        return -ENOMEM;
                if (s->nwords > 0)
                        memcpy(n, s->w, s->nwords * sizeof(unsigned long));
        } else {
                n = realloc(s->w, nwords * sizeof(unsigned long));
                if (!n)
                        return -ENOMEM;
        }
        memset(n + s->nwords, 0, (nwords - s->nwords) * sizeof(unsigned long));
        s->w = n;
        s->nwords = nwords;
        return 0;
}

/* Drop trailing zero words so equal sets have equal sizes and memory stays
 * small for sets that were once wide. */
static void cpuset_trim(CpuSet *s) {
        while (s->nwords > 0 && s->w[s->nwords - 1] == 0)
                s->nwords--;
        if (s->nwords == 0)
                release_words(s);
}

CpuSet *cpuset_dup(const CpuSet *s) {
        CpuSet *d = cpuset_new();
        if (!d)
                return NULL;
        if (cpuset_copy(d, s) < 0) {
                cpuset_free(d);
                return NULL;
        }
        return d;
}

int cpuset_copy(CpuSet *dst, const CpuSet *src) {
        unsigned long *n = NULL;

        if (dst == src)
                return 0;
        if (src->nwords > 1) {
                n = malloc(src->nwords * sizeof(unsigned long));
                if (!n)
                        return -ENOMEM;
                memcpy(n, src->w, src->nwords * sizeof(unsigned long));
        }
        release_words(dst);
        if (src->nwords == 1) {
                dst->small = src->w[0];
                dst->w = &dst->small;
        } else
                dst->w = n;
        dst->nwords = src->nwords;
        return 0;
}

int cpuset_add(CpuSet *s, unsigned cpu) {
        int r;

        if (cpu >= CPUSET_MAX_CPUS)
                return -ERANGE;
        r = cpuset_reserve(s, cpu / WORD_BITS + 1);
        if (r < 0)
                return r;
        s->w[cpu / WORD_BITS] |= 1UL << (cpu % WORD_BITS);
        return 0;
}

int cpuset_add_range(CpuSet *s, unsigned first, unsigned last) {
        int r;

        if (first > last)
                return -EINVAL;
        if (last >= CPUSET_MAX_CPUS)
                return -ERANGE;
        r = cpuset_reserve(s, last / WORD_BITS + 1);
        if (r < 0)
                return r;
        for (unsigned c = first; c <= last; c++)
                s->w[c / WORD_BITS] |= 1UL << (c % WORD_BITS);
        return 0;
}

void cpuset_del(CpuSet *s, unsigned cpu) {
        if (cpu / WORD_BITS >= s->nwords)
                return;
        s->w[cpu / WORD_BITS] &= ~(1UL << (cpu % WORD_BITS));
        cpuset_trim(s);
}

void cpuset_clear(CpuSet *s) {
        release_words(s);
}

bool cpuset_has(const CpuSet *s, unsigned cpu) {
        if (cpu / WORD_BITS >= s->nwords)
                return false;
        return s->w[cpu / WORD_BITS] & (1UL << (cpu % WORD_BITS));
}

unsigned cpuset_count(const CpuSet *s) {
        unsigned n = 0;
        for (size_t i = 0; i < s->nwords; i++)
                n += (unsigned) __builtin_popcountl(s->w[i]);
        return n;
}

bool cpuset_empty(const CpuSet *s) {
        for (size_t i = 0; i < s->nwords; i++)
                if (s->w[i])
                        return false;
        return true;
}

static unsigned long word_at(const CpuSet *s, size_t i) {
        return i < s->nwords ? s->w[i] : 0;
}

bool cpuset_equal(const CpuSet *a, const CpuSet *b) {
        size_t n = a->nwords > b->nwords ? a->nwords : b->nwords;
        for (size_t i = 0; i < n; i++)
                if (word_at(a, i) != word_at(b, i))
                        return false;
        return true;
}

bool cpuset_subset(const CpuSet *a, const CpuSet *b) {
        for (size_t i = 0; i < a->nwords; i++)
                if (a->w[i] & ~word_at(b, i))
                        return false;
        return true;
}

void cpuset_and(CpuSet *dst, const CpuSet *src) {
        for (size_t i = 0; i < dst->nwords; i++)
                dst->w[i] &= word_at(src, i);
        cpuset_trim(dst);
}

int cpuset_or(CpuSet *dst, const CpuSet *src) {
        int r = cpuset_reserve(dst, src->nwords);
        if (r < 0)
                return r;
        for (size_t i = 0; i < src->nwords; i++)
                dst->w[i] |= src->w[i];
        return 0;
}

void cpuset_andnot(CpuSet *dst, const CpuSet *src) {
        for (size_t i = 0; i < dst->nwords; i++)
                dst->w[i] &= ~word_at(src, i);
        cpuset_trim(dst);
}

int cpuset_next(const CpuSet *s, int prev) {
        size_t start = prev < 0 ? 0 : (size_t) prev + 1;
        size_t i = start / WORD_BITS;

        if (i >= s->nwords)
                return -1;
        unsigned long word = s->w[i] & (~0UL << (start % WORD_BITS));
        for (;;) {
                if (word)
                        return (int) (i * WORD_BITS + (size_t) __builtin_ctzl(word));
                if (++i >= s->nwords)
                        return -1;
                word = s->w[i];
        }
}

int cpuset_last(const CpuSet *s) {
        for (size_t i = s->nwords; i > 0; i--)
                if (s->w[i - 1])
                        return (int) ((i - 1) * WORD_BITS + WORD_BITS - 1 -
                                      (size_t) __builtin_clzl(s->w[i - 1]));
        return -1;
}

int cpuset_nth(const CpuSet *s, unsigned n) {
        for (size_t i = 0; i < s->nwords; i++) {
                unsigned k = (unsigned) __builtin_popcountl(s->w[i]);
                if (n >= k) {
                        n -= k;
                        continue;
                }
                unsigned long word = s->w[i];
                while (n-- > 0)
                        word &= word - 1;
                return (int) (i * WORD_BITS + (size_t) __builtin_ctzl(word));
        }
        return -1;
}

static int set_error(CpuSetError *err, const char *tok, size_t len, const char *reason) {
        if (err) {
                if (len >= sizeof(err->token))
                        len = sizeof(err->token) - 1;
                memcpy(err->token, tok, len);
                err->token[len] = '\0';
                err->reason = reason;
        }
        return -EINVAL;
}

/* Parse a decimal CPU number at *p, advancing it. */
static int parse_cpu_number(const char **p, unsigned *ret) {
        unsigned long v = 0;
        const char *s = *p;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        while (isdigit((unsigned char) *s)) {
                v = v * 10 + (unsigned long) (*s - '0');
                if (v >= CPUSET_MAX_CPUS)
                        return -ERANGE;
                s++;
        }
        *p = s;
        *ret = (unsigned) v;
        return 0;
}

int cpuset_parse_list(const char *text, CpuSet **ret, CpuSetError *err) {
        _cleanup_(cpuset_freep) CpuSet *s = cpuset_new();
        const char *p = text;

        if (!s)
                return -ENOMEM;
        while (isspace((unsigned char) *p))
                p++;
        if (*p == '\0') {
                *ret = TAKE_PTR(s);
                return 0;
        }
        for (;;) {
                const char *tok, *tokend;
                unsigned first, last, stride = 1;
                int r;

                /* Any whitespace may precede a token, as any may follow it:
                 * "1,\n2" is as valid as "1, 2". */
                while (isspace((unsigned char) *p))
                        p++;
                tok = p;
                tokend = tok + strcspn(tok, ",");
                /* Tokens end at a comma; trailing whitespace belongs to the end of text. */
                while (tokend > tok && isspace((unsigned char) tokend[-1]))
                        tokend--;
                if (tokend == tok)
                        return set_error(err, text, strlen(text), "empty entry");

                r = parse_cpu_number(&p, &first);
                if (r == -ERANGE)
                        return set_error(err, tok, (size_t) (tokend - tok), "CPU number too large");
                if (r < 0)
                        return set_error(err, tok, (size_t) (tokend - tok), "not a CPU number");
                last = first;
                if (*p == '-') {
                        p++;
                        r = parse_cpu_number(&p, &last);
                        if (r == -ERANGE)
                                return set_error(err, tok, (size_t) (tokend - tok), "CPU number too large");
                        if (r < 0)
                                return set_error(err, tok, (size_t) (tokend - tok), "bad range");
                        if (last < first)
                                return set_error(err, tok, (size_t) (tokend - tok),
                                                 "range end before its start");
                        if (*p == ':') {
                                p++;
                                r = parse_cpu_number(&p, &stride);
                                if (r < 0 || stride == 0)
                                        return set_error(err, tok, (size_t) (tokend - tok), "bad stride");
                        }
                }
                if (p != tokend)
                        return set_error(err, tok, (size_t) (tokend - tok), "unexpected characters");

                for (unsigned long c = first; c <= last; c += stride) {
                        r = cpuset_add(s, (unsigned) c);
                        if (r < 0)
                                return r;
                }

                while (isspace((unsigned char) *p))
                        p++;
                if (*p == '\0')
                        break;
                if (*p != ',')
                        return set_error(err, p, strcspn(p, ","), "unexpected characters");
                p++;
                {
                        const char *q = p;
                        while (isspace((unsigned char) *q))
                                q++;
                        if (*q == '\0')
                                return set_error(err, text, strlen(text), "trailing comma");
                }
        }
        *ret = TAKE_PTR(s);
        return 0;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char) tolower((unsigned char) c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int cpuset_parse_mask(const char *text, CpuSet **ret, CpuSetError *err) {
        _cleanup_(cpuset_freep) CpuSet *s = cpuset_new();
        const char *start = text, *end;
        unsigned bit = 0;
        bool any = false;

        if (!s)
                return -ENOMEM;
        while (isspace((unsigned char) *start))
                start++;
        end = start + strlen(start);
        while (end > start && isspace((unsigned char) end[-1]))
                end--;
        if (end - start >= 2 && start[0] == '0' && (start[1] == 'x' || start[1] == 'X'))
                start += 2;
        if (end == start)
                return set_error(err, text, strlen(text), "empty mask");

        /* Walk from the least significant digit; commas separate 32-bit groups
         * and must sit on a group boundary when present. */
        unsigned group_digits = 0;
        bool grouped = memchr(start, ',', (size_t) (end - start)) != NULL;
        for (const char *p = end; p > start; p--) {
                char c = p[-1];
                if (c == ',') {
                        if (group_digits != 8 || p - 1 == start)
                                return set_error(err, start, (size_t) (end - start), "bad mask grouping");
                        group_digits = 0;
                        continue;
                }
                int v = hexval(c);
                if (v < 0)
                        return set_error(err, start, (size_t) (end - start), "not a hex digit");
                if (grouped && group_digits == 8)
                        return set_error(err, start, (size_t) (end - start), "bad mask grouping");
                group_digits++;
                for (int b = 0; b < 4; b++, bit++) {
                        if (!(v & (1 << b)))
                                continue;
                        if (bit >= CPUSET_MAX_CPUS)
                                return set_error(err, start, (size_t) (end - start), "CPU number too large");
                        int r = cpuset_add(s, bit);
                        if (r < 0)
                                return r;
                        any = true;
                }
        }
        (void) any;
        *ret = TAKE_PTR(s);
        return 0;
}

char *cpuset_format_list(const CpuSet *s) {
        size_t cap = 64, len = 0;
        char *buf = malloc(cap);
        int c = cpuset_next(s, -1);

        if (!buf)
                return NULL;
        buf[0] = '\0';
        while (c >= 0) {
                int last = c, n;
                while (cpuset_next(s, last) == last + 1)
                        last++;
                for (;;) {
                        if (last == c)
                                n = snprintf(buf + len, cap - len, "%s%d", len ? "," : "", c);
                        else
                                n = snprintf(buf + len, cap - len, "%s%d-%d", len ? "," : "", c, last);
                        if ((size_t) n < cap - len)
                                break;
                        char *nb = realloc(buf, cap * 2);
                        if (!nb) {
                                free(buf);
                                return NULL;
                        }
                        buf = nb;
                        cap *= 2;
                }
                len += (size_t) n;
                c = cpuset_next(s, last);
        }
        return buf;
}

char *cpuset_format_mask(const CpuSet *s) {
        int last = cpuset_last(s);
        unsigned ngroups = last < 0 ? 1 : (unsigned) last / 32 + 1;
        char *buf = malloc(ngroups * 9 + 1), *p = buf;

        if (!buf)
                return NULL;
        for (unsigned g = ngroups; g > 0; g--) {
                uint32_t v = 0;
                for (unsigned b = 0; b < 32; b++)
                        if (cpuset_has(s, (g - 1) * 32 + b))
                                v |= (uint32_t) 1 << b;
                if (g == ngroups)
                        p += sprintf(p, "%x", v);
                else
                        p += sprintf(p, ",%08x", v);
        }
        return buf;
}

void cpuset_to_kernel(const CpuSet *s, void *buf, size_t bytes) {
        size_t n = bytes / sizeof(unsigned long);
        unsigned long *w = buf;

        memset(buf, 0, bytes);
        for (size_t i = 0; i < n && i < s->nwords; i++)
                w[i] = s->w[i];
}

int cpuset_from_kernel(const void *buf, size_t bytes, CpuSet **ret) {
        _cleanup_(cpuset_freep) CpuSet *s = cpuset_new();
        size_t n = bytes / sizeof(unsigned long);

        if (!s)
                return -ENOMEM;
        if (n > 0) {
                int r = cpuset_reserve(s, n);
                if (r < 0)
                        return r;
                memcpy(s->w, buf, n * sizeof(unsigned long));
                cpuset_trim(s);
        }
        *ret = TAKE_PTR(s);
        return 0;
}
