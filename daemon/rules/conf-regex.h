/* SPDX-License-Identifier: MIT */
/* What a `cmdline` regular expression may cost before regcomp(3) sees it.
 *
 * glibc compiles an ERE by expanding every repetition into copies of its
 * operand (`x+` is `xx*`, `x{2,4}` is `xx(x(x)?)?`) and then computing, for
 * every node, the set of nodes reachable without consuming input. So the
 * compiled size is the product of nested repetition counts, stacked
 * quantifiers double it each time (`a++++` is 2^4 copies), and time and
 * memory grow with size times the number of optional nodes: `^x
 * (a++++++++++++++++++++++++++|b)+$` takes 10 s and 4 GB. A config must not
 * be able to do that to a daemon running at SCHED_FIFO, so every pattern is
 * costed here, conservatively, and refused with a reason past the bounds
 * below. The estimate mirrors glibc's expansion and is never below it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define REGEX_MAX_LENGTH 1024  /* bytes of pattern */
#define REGEX_MAX_DEPTH 16     /* nested parentheses */
#define REGEX_MAX_REPEAT 255   /* m and n in {m,n}: POSIX's least RE_DUP_MAX */
#define REGEX_MAX_NODES 4096   /* compiled nodes after expanding repetitions */
#define REGEX_MAX_OPTIONAL 256 /* of which optional: *, ?, |, {m,n} beyond m */

typedef struct RegexCost {
        size_t length;
        unsigned depth;    /* deepest nesting of parentheses */
        uint64_t nodes;    /* estimated compiled nodes (saturates) */
        uint64_t optional; /* estimated nodes that may match empty (saturates) */
} RegexCost;

/* Cost an extended regular expression (REG_EXTENDED, C locale). Returns 0
 * when it is within every bound above, else -E2BIG (too long, too deep, too
 * large) or -EINVAL (a construct refused outright: back-references, stacked
 * quantifiers such as `a**`, a quantifier with nothing to repeat, a `{` that
 * does not start a repetition), with *why a static sentence. Syntax errors
 * this does not recognise are left to regcomp, which fails fast on them.
 * cost (may be NULL) gets the figures as far as they were computed. */
int conf_regex_check(const char *re, RegexCost *cost, const char **why);
