/* SPDX-License-Identifier: MIT */
/* POSIX extended regular expressions in linear time (see ere.h): a
 * recursive-descent parser builds a tree, the tree is compiled into a
 * program (Russ Cox's "Regular Expression Matching: the Virtual Machine
 * Approach"), and the program runs as a Pike VM without captures: the set of
 * live instructions advances one byte at a time, each instruction at most
 * once per position. */
#include "lib/ere.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* ---- the tree ---- */

typedef enum NodeKind { N_EMPTY, N_CLASS, N_ASSERT, N_CAT, N_ALT, N_REPEAT } NodeKind;

typedef enum AssertKind {
        A_BEGIN,      /* ^ and \` : the start of the text */
        A_END,        /* $ and \' : its end */
        A_WORD,       /* \b */
        A_NOT_WORD,   /* \B */
        A_WORD_START, /* \< */
        A_WORD_END,   /* \> */
} AssertKind;

typedef struct Node {
        NodeKind kind;
        int a, b;     /* children (CAT, ALT; REPEAT uses a) */
        int min, max; /* REPEAT; max -1 = no bound */
        int cls;      /* CLASS: index into classes */
        int assert;   /* ASSERT: an AssertKind */
} Node;

typedef struct Bits {
        uint64_t w[4];
} Bits;

/* ---- the program ---- */

enum { I_CLASS, I_ASSERT, I_SPLIT, I_JMP, I_MATCH };

typedef struct Inst {
        uint8_t op;
        uint8_t assert;
        uint16_t cls;
        int32_t x, y; /* SPLIT: both; JMP: x; CLASS, ASSERT: the next is pc + 1 */
} Inst;

struct Ere {
        Inst *prog;
        size_t n;
        Bits *classes;
        size_t n_classes;
        /* What a match can start with: the bytes its first consuming
         * instructions take (assertions passed as if they held), so the
         * text between them is skipped; nullable: it can match without
         * consuming (skipping could miss where); anchored: only at 0. */
        Bits first;
        bool nullable, anchored;
        /* Scratch for ere_match (the daemon is single-threaded): two lists
         * of instructions, the position each was last added at, a stack. */
        int32_t *list[2], *mark, *stack;
};

/* ---- parsing ---- */

typedef struct Parser {
        const char *start, *p;
        Node *nodes;
        size_t n_nodes, cap_nodes;
        Bits *classes;
        size_t n_classes, cap_classes;
        unsigned depth;
        int err;
        char *why;
} Parser;

static int fail(Parser *ps, int err, const char *fmt, ...) _printf_(3, 4);
static int fail(Parser *ps, int err, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL;

        if (ps->err)
                return -1;
        ps->err = err;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        ps->why = msg ? xasprintf("%s (at offset %zu)", msg, (size_t) (ps->p - ps->start)) : NULL;
        free(msg);
        return -1;
}

static int new_node(Parser *ps, Node n) {
        if (ps->n_nodes == ps->cap_nodes) {
                size_t nc = ps->cap_nodes ? ps->cap_nodes * 2 : 32;
                Node *nv = reallocarray(ps->nodes, nc, sizeof *nv);
                if (!nv)
                        return fail(ps, -ENOMEM, "out of memory");
                ps->nodes = nv;
                ps->cap_nodes = nc;
        }
        ps->nodes[ps->n_nodes] = n;
        return (int) ps->n_nodes++;
}

static int new_class(Parser *ps, const Bits *b) {
        if (ps->n_classes >= UINT16_MAX)
                return fail(ps, -E2BIG, "too many character classes");
        if (ps->n_classes == ps->cap_classes) {
                size_t nc = ps->cap_classes ? ps->cap_classes * 2 : 16;
                Bits *nv = reallocarray(ps->classes, nc, sizeof *nv);
                if (!nv)
                        return fail(ps, -ENOMEM, "out of memory");
                ps->classes = nv;
                ps->cap_classes = nc;
        }
        ps->classes[ps->n_classes] = *b;
        return new_node(ps, (Node){.kind = N_CLASS, .cls = (int) ps->n_classes++});
}

static void bit_set(Bits *b, unsigned c) {
        b->w[c >> 6] |= (uint64_t) 1 << (c & 63);
}

static bool bit_test(const Bits *b, unsigned c) {
        return b->w[c >> 6] >> (c & 63) & 1;
}

static bool is_word(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The C locale's classes (bytes past 0x7f belong to none). */
static bool in_named_class(int which, unsigned c) {
        bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z', digit = c >= '0' && c <= '9';
        switch (which) {
        case 0:
                return upper || lower;
        case 1:
                return digit;
        case 2:
                return upper || lower || digit;
        case 3:
                return upper;
        case 4:
                return lower;
        case 5:
                return c == ' ' || (c >= '\t' && c <= '\r');
        case 6:
                return c == ' ' || c == '\t';
        case 7:
                return c > ' ' && c < 0x7f && !(upper || lower || digit);
        case 8:
                return c >= ' ' && c < 0x7f;
        case 9:
                return c > ' ' && c < 0x7f;
        case 10:
                return c < ' ' || c == 0x7f;
        case 11:
                return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        }
        return false;
}

static const char *const class_names[] = {"alpha", "digit", "alnum", "upper", "lower", "space",
                                          "blank", "punct", "print", "graph", "cntrl", "xdigit"};

static void add_named(Bits *b, int which) {
        for (unsigned c = 0; c < 256; c++)
                if (in_named_class(which, c))
                        bit_set(b, c);
}

/* One element of a bracket expression that can end a range: a byte, or
 * [.c.] / [=c=] naming one. Returns the byte, -2 for a [:class:] (added to
 * b), -1 on error. */
static int bracket_element(Parser *ps, Bits *b) {
        const char *p = ps->p;

        if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
                char kind = p[1];
                const char *body = p + 2, *end = body;
                while (*end && !(end[0] == kind && end[1] == ']'))
                        end++;
                if (!*end)
                        return fail(ps, -EINVAL, "unmatched [%c in a bracket expression", kind);
                size_t len = (size_t) (end - body);
                ps->p = end + 2;
                if (kind == ':') {
                        for (size_t i = 0; i < ELEMENTSOF(class_names); i++)
                                if (strlen(class_names[i]) == len && memcmp(class_names[i], body, len) == 0) {
                                        add_named(b, (int) i);
                                        return -2;
                                }
                        return fail(ps, -EINVAL, "unknown character class [:%.*s:]",
                                    (int) (len > 20 ? 20 : len), body);
                }
                if (len != 1)
                        return fail(ps, -EINVAL, "[%c%c] must name exactly one character", kind, kind);
                return (unsigned char) body[0];
        }
        if (!*p)
                return fail(ps, -EINVAL, "unmatched [");
        ps->p = p + 1;
        return (unsigned char) p[0];
}

/* After the '['. */
static int parse_bracket(Parser *ps) {
        Bits b = {{0}};
        bool neg = false, first = true;

        if (*ps->p == '^') {
                neg = true;
                ps->p++;
        }
        for (;;) {
                if (!*ps->p)
                        return fail(ps, -EINVAL, "unmatched [");
                if (*ps->p == ']' && !first) {
                        ps->p++;
                        break;
                }
                first = false;
                int lo = bracket_element(ps, &b);
                if (lo == -1)
                        return -1;
                if (ps->p[0] == '-' && ps->p[1] && ps->p[1] != ']') {
                        if (lo == -2)
                                return fail(ps, -EINVAL, "a character class cannot start a range");
                        ps->p++;
                        int hi = bracket_element(ps, &b);
                        if (hi == -1)
                                return -1;
                        if (hi == -2)
                                return fail(ps, -EINVAL, "a character class cannot end a range");
                        if (hi < lo)
                                return fail(ps, -EINVAL, "range out of order");
                        for (int c = lo; c <= hi; c++)
                                bit_set(&b, (unsigned) c);
                } else if (lo >= 0)
                        bit_set(&b, (unsigned) lo);
        }
        if (neg)
                for (int i = 0; i < 4; i++)
                        b.w[i] = ~b.w[i];
        return new_class(ps, &b);
}

static int literal(Parser *ps, unsigned char c) {
        Bits b = {{0}};
        bit_set(&b, c);
        return new_class(ps, &b);
}

static int assertion(Parser *ps, AssertKind k) {
        return new_node(ps, (Node){.kind = N_ASSERT, .assert = k});
}

static int parse_alt(Parser *ps);

/* \x: GNU's shorthands, or x itself. */
static int parse_escape(Parser *ps) {
        unsigned char c = (unsigned char) *ps->p;
        Bits b = {{0}};

        if (!c)
                return fail(ps, -EINVAL, "trailing backslash");
        ps->p++;
        switch (c) {
        case 'w':
        case 'W':
        case 's':
        case 'S':
                for (unsigned k = 0; k < 256; k++) {
                        bool in = c == 'w' || c == 'W' ? is_word((int) k) : in_named_class(5, k);
                        if (in == (c == 'w' || c == 's'))
                                bit_set(&b, k);
                }
                return new_class(ps, &b);
        case 'b':
                return assertion(ps, A_WORD);
        case 'B':
                return assertion(ps, A_NOT_WORD);
        case '<':
                return assertion(ps, A_WORD_START);
        case '>':
                return assertion(ps, A_WORD_END);
        case '`':
                return assertion(ps, A_BEGIN);
        case '\'':
                return assertion(ps, A_END);
        }
        if (c >= '1' && c <= '9')
                return fail(ps, -EINVAL,
                            "back-references such as \\%c are not supported (no matcher bounds their cost)",
                            c);
        return literal(ps, c);
}

static int parse_atom(Parser *ps) {
        char c = *ps->p;

        switch (c) {
        case '(': {
                if (++ps->depth > ERE_MAX_DEPTH)
                        return fail(ps, -E2BIG, "parentheses nested deeper than %d", ERE_MAX_DEPTH);
                ps->p++;
                int n = parse_alt(ps);
                if (n < 0)
                        return -1;
                if (*ps->p != ')')
                        return fail(ps, -EINVAL, "unmatched (");
                ps->p++;
                ps->depth--;
                return n;
        }
        case ')':
                /* Outside any group, as glibc (RE_UNMATCHED_RIGHT_PAREN_ORD):
                 * an ordinary character. */
                ps->p++;
                return literal(ps, ')');
        case '*':
        case '+':
        case '?':
        case '{':
                return fail(ps, -EINVAL, "'%c' has nothing to repeat", c);
        case '[':
                ps->p++;
                return parse_bracket(ps);
        case '.': {
                Bits b;
                memset(&b, 0xff, sizeof b);
                ps->p++;
                return new_class(ps, &b);
        }
        case '^':
                ps->p++;
                return assertion(ps, A_BEGIN);
        case '$':
                ps->p++;
                return assertion(ps, A_END);
        case '\\':
                ps->p++;
                return parse_escape(ps);
        }
        ps->p++;
        return literal(ps, (unsigned char) c);
}

/* A decimal of at most ERE_MAX_REPEAT in a {m,n}. */
static int parse_count(Parser *ps, int *ret) {
        int v = 0;

        if (*ps->p < '0' || *ps->p > '9')
                return -1;
        while (*ps->p >= '0' && *ps->p <= '9') {
                v = v * 10 + (*ps->p - '0');
                if (v > ERE_MAX_REPEAT)
                        return fail(ps, -E2BIG, "a repetition count past %d", ERE_MAX_REPEAT);
                ps->p++;
        }
        *ret = v;
        return 0;
}

static int parse_repeat(Parser *ps) {
        int n = parse_atom(ps);

        while (n >= 0) {
                int min, max;
                char c = *ps->p;
                if (c == '*')
                        min = 0, max = -1;
                else if (c == '+')
                        min = 1, max = -1;
                else if (c == '?')
                        min = 0, max = 1;
                else if (c == '{') {
                        /* {m} {m,} {m,n}, and glibc's {,n} and {,}. */
                        const char *brace = ps->p++;
                        min = 0;
                        if (*ps->p != ',' && parse_count(ps, &min) < 0) {
                                if (!ps->err) {
                                        ps->p = brace;
                                        return fail(ps, -EINVAL,
                                                    "'{' starts no repetition {m}, {m,} or {m,n}");
                                }
                                return -1;
                        }
                        max = min;
                        if (*ps->p == ',') {
                                ps->p++;
                                max = -1;
                                if (*ps->p != '}' && parse_count(ps, &max) < 0) {
                                        if (!ps->err) {
                                                ps->p = brace;
                                                return fail(ps, -EINVAL,
                                                            "'{' starts no repetition {m}, {m,} or {m,n}");
                                        }
                                        return -1;
                                }
                        }
                        if (*ps->p != '}') {
                                ps->p = brace;
                                return fail(ps, -EINVAL, "'{' starts no repetition {m}, {m,} or {m,n}");
                        }
                        if (max >= 0 && max < min)
                                return fail(ps, -EINVAL, "{%d,%d}: the bound is below the count", min, max);
                } else
                        break;
                ps->p++;
                /* A repetition of an unbounded one is one repetition, when
                 * that is the same language: (x{a,}){b,c} is x{ab,} for b
                 * >= 1, and x* for b = 0 when a <= 1. So `a++++` stays two
                 * states instead of doubling with every '+'. */
                Node *in = &ps->nodes[n];
                if (in->kind == N_REPEAT && in->max < 0 && (max < 0 || max >= 1)) {
                        if (min >= 1 && in->min * min <= ERE_MAX_REPEAT) {
                                in->min *= min;
                                continue;
                        }
                        if (min == 0 && in->min <= 1) {
                                in->min = 0;
                                continue;
                        }
                }
                n = new_node(ps, (Node){.kind = N_REPEAT, .a = n, .min = min, .max = max});
        }
        return n;
}

static int parse_cat(Parser *ps) {
        int n = -1;

        while (*ps->p && *ps->p != '|' && !(*ps->p == ')' && ps->depth > 0)) {
                int m = parse_repeat(ps);
                if (m < 0)
                        return -1;
                n = n < 0 ? m : new_node(ps, (Node){.kind = N_CAT, .a = n, .b = m});
                if (n < 0)
                        return -1;
        }
        return n >= 0 ? n : new_node(ps, (Node){.kind = N_EMPTY});
}

static int parse_alt(Parser *ps) {
        int n = parse_cat(ps);

        while (n >= 0 && *ps->p == '|') {
                ps->p++;
                int m = parse_cat(ps);
                if (m < 0)
                        return -1;
                n = new_node(ps, (Node){.kind = N_ALT, .a = n, .b = m});
        }
        return n;
}

/* ---- compiling ---- */

/* Instructions node n takes, saturating past the bound. */
static size_t node_size(const Parser *ps, int n) {
        const Node *x = &ps->nodes[n];
        size_t a, s;

        switch (x->kind) {
        case N_EMPTY:
                return 0;
        case N_CLASS:
        case N_ASSERT:
                return 1;
        case N_CAT:
                s = node_size(ps, x->a) + node_size(ps, x->b);
                return s > ERE_MAX_STATES ? ERE_MAX_STATES + 1 : s;
        case N_ALT:
                s = node_size(ps, x->a) + node_size(ps, x->b) + 2;
                return s > ERE_MAX_STATES ? ERE_MAX_STATES + 1 : s;
        case N_REPEAT:
                a = node_size(ps, x->a);
                /* min copies, then a loop (split, x, jmp) or max-min optional ones (split, x). */
                s = (size_t) x->min * a;
                if (x->max < 0)
                        s += a + 2;
                else
                        s += (size_t) (x->max - x->min) * (a + 1);
                return s > ERE_MAX_STATES ? ERE_MAX_STATES + 1 : s;
        }
        return 0;
}

typedef struct Gen {
        Inst *prog;
        size_t n;
} Gen;

static size_t emit(Gen *g, Inst i) {
        g->prog[g->n] = i;
        return g->n++;
}

static void gen(Gen *g, const Parser *ps, int n) {
        const Node *x = &ps->nodes[n];
        size_t split, jmp, start;

        switch (x->kind) {
        case N_EMPTY:
                return;
        case N_CLASS:
                emit(g, (Inst){.op = I_CLASS, .cls = (uint16_t) x->cls});
                return;
        case N_ASSERT:
                emit(g, (Inst){.op = I_ASSERT, .assert = (uint8_t) x->assert});
                return;
        case N_CAT:
                gen(g, ps, x->a);
                gen(g, ps, x->b);
                return;
        case N_ALT:
                split = emit(g, (Inst){.op = I_SPLIT});
                g->prog[split].x = (int32_t) g->n;
                gen(g, ps, x->a);
                jmp = emit(g, (Inst){.op = I_JMP});
                g->prog[split].y = (int32_t) g->n;
                gen(g, ps, x->b);
                g->prog[jmp].x = (int32_t) g->n;
                return;
        case N_REPEAT:
                for (int k = 0; k < x->min; k++)
                        gen(g, ps, x->a);
                if (x->max < 0) {
                        start = emit(g, (Inst){.op = I_SPLIT});
                        g->prog[start].x = (int32_t) g->n;
                        gen(g, ps, x->a);
                        emit(g, (Inst){.op = I_JMP, .x = (int32_t) start});
                        g->prog[start].y = (int32_t) g->n;
                        return;
                }
                /* x? x? ... : the same language as (x(x)?)?, one split each,
                 * all jumping past the last copy. */
                size_t k = 0, splits[ERE_MAX_REPEAT];
                for (int r = x->min; r < x->max; r++) {
                        splits[k] = emit(g, (Inst){.op = I_SPLIT});
                        g->prog[splits[k]].x = (int32_t) g->n;
                        gen(g, ps, x->a);
                        k++;
                }
                for (size_t j = 0; j < k; j++)
                        g->prog[splits[j]].y = (int32_t) g->n;
                return;
        }
}

/* The first set, nullable and anchored (see struct Ere), by a walk from
 * instruction 0 that consumes nothing. */
static void ere_analyse(Ere *re) {
        size_t sp = 0;

        for (size_t k = 0; k < re->n; k++)
                re->mark[k] = -1;
        re->stack[sp++] = 0;
        while (sp > 0) {
                int32_t pc = re->stack[--sp];
                if (re->mark[pc] == 0)
                        continue;
                re->mark[pc] = 0;
                const Inst *in = &re->prog[pc];
                switch (in->op) {
                case I_MATCH:
                        re->nullable = true;
                        break;
                case I_CLASS:
                        for (int w = 0; w < 4; w++)
                                re->first.w[w] |= re->classes[in->cls].w[w];
                        break;
                case I_JMP:
                        re->stack[sp++] = in->x;
                        break;
                case I_SPLIT:
                        re->stack[sp++] = in->y;
                        re->stack[sp++] = in->x;
                        break;
                case I_ASSERT:
                        re->stack[sp++] = pc + 1;
                        break;
                }
        }
        re->anchored = re->prog[0].op == I_ASSERT && re->prog[0].assert == A_BEGIN;
}

void ere_free(Ere *re) {
        if (!re)
                return;
        free(re->prog);
        free(re->classes);
        free(re->list[0]);
        free(re->list[1]);
        free(re->mark);
        free(re->stack);
        free(re);
}

int ere_compile(const char *pattern, Ere **ret, char **ret_error) {
        Parser ps = {.start = pattern, .p = pattern};
        Ere *re = NULL;
        int root;

        *ret_error = NULL;
        if (strlen(pattern) > ERE_MAX_PATTERN) {
                *ret_error = xasprintf("longer than %d bytes", ERE_MAX_PATTERN);
                return -E2BIG;
        }
        root = parse_alt(&ps);
        if (root >= 0 && !ps.err) {
                size_t size = node_size(&ps, root) + 1;
                if (size > ERE_MAX_STATES)
                        (void) fail(&ps, -E2BIG,
                                    "more than %d states once repetitions are expanded (a bounded match "
                                    "needs fewer)",
                                    ERE_MAX_STATES);
                else {
                        re = calloc(1, sizeof *re);
                        Gen g = {.prog = calloc(size, sizeof(Inst))};
                        if (!re || !g.prog) {
                                free(g.prog);
                                (void) fail(&ps, -ENOMEM, "out of memory");
                        } else {
                                gen(&g, &ps, root);
                                emit(&g, (Inst){.op = I_MATCH});
                                re->prog = g.prog;
                                re->n = g.n;
                                re->classes = TAKE_PTR(ps.classes);
                                re->n_classes = ps.n_classes;
                                re->list[0] = calloc(re->n, sizeof(int32_t));
                                re->list[1] = calloc(re->n, sizeof(int32_t));
                                re->mark = malloc(re->n * sizeof(int32_t));
                                re->stack = calloc(2 * re->n + 2, sizeof(int32_t));
                                if (!re->list[0] || !re->list[1] || !re->mark || !re->stack)
                                        (void) fail(&ps, -ENOMEM, "out of memory");
                                else
                                        ere_analyse(re);
                        }
                }
        }
        free(ps.nodes);
        free(ps.classes);
        if (ps.err) {
                ere_free(re);
                *ret_error = ps.why;
                return ps.err;
        }
        *ret = re;
        return 0;
}

size_t ere_states(const Ere *re) {
        return re->n;
}

/* ---- matching ---- */

static bool assert_holds(int kind, const unsigned char *t, size_t len, size_t i) {
        bool before = i > 0 && is_word(t[i - 1]), after = i < len && is_word(t[i]);

        switch (kind) {
        case A_BEGIN:
                return i == 0;
        case A_END:
                return i == len;
        case A_WORD:
                return before != after;
        case A_NOT_WORD:
                return before == after;
        case A_WORD_START:
                return !before && after;
        case A_WORD_END:
                return before && !after;
        }
        return false;
}

/* Follow jumps, splits and assertions from pc at position i; consuming
 * instructions go on list (length *n). Returns true when MATCH is reached. */
static bool add(Ere *re, int32_t *list, size_t *n, int32_t pc, const unsigned char *t, size_t len, size_t i) {
        int32_t *stack = re->stack;
        size_t sp = 0;

        stack[sp++] = pc;
        while (sp > 0) {
                pc = stack[--sp];
                if (re->mark[pc] == (int32_t) i)
                        continue;
                re->mark[pc] = (int32_t) i;
                const Inst *in = &re->prog[pc];
                switch (in->op) {
                case I_MATCH:
                        return true;
                case I_CLASS:
                        list[(*n)++] = pc;
                        break;
                case I_JMP:
                        stack[sp++] = in->x;
                        break;
                case I_SPLIT:
                        stack[sp++] = in->y;
                        stack[sp++] = in->x;
                        break;
                case I_ASSERT:
                        if (assert_holds(in->assert, t, len, i))
                                stack[sp++] = pc + 1;
                        break;
                }
        }
        return false;
}

bool ere_match(const Ere *cre, const char *text, size_t len) {
        Ere *re = (Ere *) cre; /* scratch only */
        const unsigned char *t = (const unsigned char *) text;
        size_t nc = 0, nn;

        /* Positions are marked by their index: texts past INT32_MAX are
         * matched over their first INT32_MAX - 1 bytes. */
        if (len >= INT32_MAX)
                len = INT32_MAX - 1;
        for (size_t k = 0; k < re->n; k++)
                re->mark[k] = -1;
        for (size_t i = 0;; i++) {
                if (nc == 0) {
                        /* Nothing alive: a match can only start here. */
                        if (re->anchored && i > 0)
                                return false;
                        if (!re->nullable)
                                while (i < len && !bit_test(&re->first, t[i]))
                                        i++;
                }
                int32_t *cur = re->list[i & 1], *next = re->list[(i + 1) & 1];
                /* Unanchored: a match may start at every position. */
                if (add(re, cur, &nc, 0, t, len, i))
                        return true;
                if (i == len || nc == 0) {
                        if (i == len)
                                return false;
                        /* Nothing alive: skip ahead to the next position. */
                        continue;
                }
                nn = 0;
                for (size_t k = 0; k < nc; k++) {
                        const Inst *in = &re->prog[cur[k]];
                        if (bit_test(&re->classes[in->cls], t[i]) &&
                            add(re, next, &nn, cur[k] + 1, t, len, i + 1))
                                return true;
                }
                nc = nn;
        }
}
