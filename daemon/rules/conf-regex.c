/* SPDX-License-Identifier: MIT */
/* Cost an ERE the way glibc's regcomp will build it, before it does.
 *
 * The model (glibc posix/regcomp.c, parse_dup_op and calc_first): every
 * token but concatenation becomes one node; `x*` is x plus a star node;
 * `x?` is x plus an alternation node; `x+` is `xx*`; `x{m,n}` is m copies
 * of x, then n-m copies each wrapped in an alternation; `x{m,}` is m copies
 * then `x*`; `\b` and `\B` are an alternation of two anchors; a bracket
 * expression is at most three nodes (a complex bracket in a multibyte
 * locale). Nodes that match without consuming input (alternation, star,
 * anchors, group boundaries) are counted again as "optional": glibc computes
 * for each of them the set of nodes reachable through them, so they are what
 * makes compile time and memory grow faster than the size.
 *
 * The parse ends each construct no later than glibc does, so when glibc
 * rejects the pattern it has built at most what was costed; where glibc
 * would refuse a construct (`^*`, `*x`, `a{x}`) it is costed as if it were
 * accepted, which only over-estimates. */
#include "rules/conf-regex.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define SATURATE ((uint64_t) 1 << 40)

typedef struct Cost {
        uint64_t nodes, optional;
} Cost;

typedef struct Parser {
        const char *p;
        unsigned depth, max_depth;
        const char *why;
        int err;
} Parser;

static uint64_t sat_add(uint64_t a, uint64_t b) {
        return a + b > SATURATE ? SATURATE : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b) {
        if (a != 0 && b > SATURATE / a)
                return SATURATE;
        return a * b > SATURATE ? SATURATE : a * b;
}

static void cost_add(Cost *c, Cost d) {
        c->nodes = sat_add(c->nodes, d.nodes);
        c->optional = sat_add(c->optional, d.optional);
}

static bool is_quantifier(char c) {
        return c == '*' || c == '+' || c == '?' || c == '{';
}

static int fail(Parser *ps, int err, const char *why) {
        if (!ps->err) {
                ps->err = err;
                ps->why = why;
        }
        return ps->err;
}

/* `[...]` from just after the '['; ends where glibc's bracket parser ends.
 * Returns false when the bracket does not close: glibc then fails with
 * "Unmatched [" having built nothing more. */
static bool skip_bracket(Parser *ps) {
        const char *p = ps->p;

        if (*p == '^')
                p++;
        if (*p == ']')
                p++; /* a leading ']' is a member */
        for (;;) {
                if (*p == '\0')
                        return false;
                if (*p == ']') {
                        ps->p = p + 1;
                        return true;
                }
                if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
                        char close[3] = {p[1], ']', '\0'};
                        const char *e = strstr(p + 2, close);
                        if (!e)
                                return false;
                        p = e + 2;
                        continue;
                }
                p++; /* backslash is not special inside a bracket */
        }
}

/* `{m}`, `{m,}`, `{m,n}`, `{,n}` from the '{'. *max is UINT32_MAX for no
 * upper bound. Returns false when the text does not have that form: glibc
 * refuses it ("Invalid content of \{\}") without building more. */
static bool parse_interval(const char *s, const char **end, unsigned *min, unsigned *max) {
        const char *p = s + 1;
        unsigned long m = 0, n;
        bool have_m = false, have_n = false;

        while (*p >= '0' && *p <= '9') {
                if (m <= 100000)
                        m = m * 10 + (unsigned) (*p - '0');
                have_m = true;
                p++;
        }
        n = m;
        if (*p == ',') {
                p++;
                n = 0;
                while (*p >= '0' && *p <= '9') {
                        if (n <= 100000)
                                n = n * 10 + (unsigned) (*p - '0');
                        have_n = true;
                        p++;
                }
                if (!have_n)
                        n = UINT32_MAX;
        } else if (!have_m)
                return false;
        if (*p != '}')
                return false;
        *end = p + 1;
        *min = m > UINT32_MAX ? UINT32_MAX : (unsigned) m;
        *max = n > UINT32_MAX ? UINT32_MAX : (unsigned) n;
        return true;
}

/* The cost of x repeated: see the model above. */
static Cost repeat(Cost x, unsigned min, unsigned max) {
        Cost c;

        if (max == UINT32_MAX) { /* m copies, then x* */
                c.nodes = sat_add(sat_mul(x.nodes, (uint64_t) min + 1), 1);
                c.optional = sat_add(sat_mul(x.optional, (uint64_t) min + 1), 1);
        } else { /* n copies, n-m of them under an alternation */
                uint64_t opt = max > min ? max - min : 0;
                c.nodes = sat_add(sat_mul(x.nodes, max), opt);
                c.optional = sat_add(sat_mul(x.optional, max), opt);
        }
        return c;
}

static Cost parse_alternation(Parser *ps);

/* One atom and at most one quantifier. */
static Cost parse_piece(Parser *ps) {
        Cost x = {0, 0};
        char c = *ps->p;

        if (c == '(') {
                ps->p++;
                if (++ps->depth > REGEX_MAX_DEPTH) {
                        fail(ps, -E2BIG, "parentheses nested more than 16 deep");
                        return x;
                }
                if (ps->depth > ps->max_depth)
                        ps->max_depth = ps->depth;
                x = parse_alternation(ps);
                ps->depth--;
                if (ps->err)
                        return x;
                if (*ps->p == ')')
                        ps->p++;
                /* else: "Unmatched ( or \(", nothing more is built. */
                cost_add(&x, (Cost){2, 2}); /* the group's open and close */
        } else if (c == '[') {
                ps->p++;
                if (!skip_bracket(ps)) {
                        ps->p += strlen(ps->p); /* glibc stops here */
                        return (Cost){3, 1};
                }
                x = (Cost){3, 1};
        } else if (c == '\\') {
                char e = ps->p[1];
                if (e >= '1' && e <= '9') {
                        fail(ps, -EINVAL,
                             "back-references (\\1 to \\9) are not allowed: matching them can take time "
                             "exponential in the command line's length");
                        return x;
                }
                if (e == '\0') {
                        ps->p++; /* "Trailing backslash" */
                        return (Cost){1, 0};
                }
                ps->p += 2;
                if (e == 'b' || e == 'B')
                        x = (Cost){3, 3};
                else if (strchr("<>`'", e))
                        x = (Cost){1, 1};
                else
                        x = (Cost){1, 0};
        } else if (c == '^' || c == '$') {
                ps->p++;
                x = (Cost){1, 1};
        } else {
                /* A literal, '.', a ')' with no '(' (literal in an ERE), or a
                 * quantifier with nothing before it, which glibc refuses:
                 * costed as a one-node operand. */
                if (!is_quantifier(c))
                        ps->p++;
                x = (Cost){1, 0};
        }

        c = *ps->p;
        if (!is_quantifier(c))
                return x;
        unsigned min, max;
        const char *end = ps->p + 1;
        if (c == '*')
                min = 0, max = UINT32_MAX;
        else if (c == '+')
                min = 1, max = UINT32_MAX;
        else if (c == '?')
                min = 0, max = 1;
        else if (!parse_interval(ps->p, &end, &min, &max)) {
                ps->p += strlen(ps->p); /* glibc refuses the brace and stops */
                return x;
        }
        if ((min != UINT32_MAX && min > REGEX_MAX_REPEAT) || (max != UINT32_MAX && max > REGEX_MAX_REPEAT)) {
                fail(ps, -E2BIG, "a repetition count above 255 in {m,n}");
                return x;
        }
        ps->p = end;
        if (is_quantifier(*ps->p)) {
                fail(ps, -EINVAL,
                     "stacked quantifiers (as in 'a**', 'a+?' or 'a{2}+') are undefined in POSIX and "
                     "each one doubles the compiled size; group with parentheses");
                return x;
        }
        return repeat(x, min, max);
}

static Cost parse_branch(Parser *ps) {
        Cost c = {0, 0};

        while (*ps->p && *ps->p != '|' && !(*ps->p == ')' && ps->depth > 0) && !ps->err) {
                cost_add(&c, parse_piece(ps));
                if (c.nodes > REGEX_MAX_NODES || c.optional > REGEX_MAX_OPTIONAL)
                        break; /* already too large: say so without reading on */
        }
        return c;
}

static Cost parse_alternation(Parser *ps) {
        Cost c = parse_branch(ps);

        while (*ps->p == '|' && !ps->err && c.nodes <= REGEX_MAX_NODES && c.optional <= REGEX_MAX_OPTIONAL) {
                ps->p++;
                cost_add(&c, (Cost){1, 1});
                cost_add(&c, parse_branch(ps));
        }
        return c;
}

int conf_regex_check(const char *re, RegexCost *cost, const char **why) {
        Parser ps = {.p = re};
        size_t len = strlen(re);
        Cost c = {0, 0};
        int r = 0;

        *why = NULL;
        if (len > REGEX_MAX_LENGTH) {
                r = -E2BIG;
                *why = "longer than 1024 bytes";
        } else {
                /* A ')' closing nothing at depth 0 is a literal: parse on. */
                while (*ps.p && !ps.err && c.nodes <= REGEX_MAX_NODES && c.optional <= REGEX_MAX_OPTIONAL)
                        cost_add(&c, parse_alternation(&ps));
                c.nodes = sat_add(c.nodes, 2); /* the end-of-pattern node and the root */
                if (ps.err) {
                        r = ps.err;
                        *why = ps.why;
                } else if (c.nodes > REGEX_MAX_NODES) {
                        r = -E2BIG;
                        *why = "it would compile to more than 4096 nodes (each repetition copies its "
                               "operand)";
                } else if (c.optional > REGEX_MAX_OPTIONAL) {
                        r = -E2BIG;
                        *why = "it would compile to more than 256 optional nodes (*, ?, |, anchors, "
                               "groups, and {m,n} beyond m, times the repetitions around them)";
                }
        }
        if (cost)
                *cost = (RegexCost){
                        .length = len,
                        .depth = ps.max_depth,
                        .nodes = c.nodes,
                        .optional = c.optional,
                };
        return r;
}
