/* SPDX-License-Identifier: MIT */
/* POSIX extended regular expressions, matched in time linear in the text.
 *
 * glibc's regexec builds its DFA lazily and without bound: a pattern such
 * as `(a|b)*a(a|b){20}x$` (which compiles quickly) cost 1.7 s of CPU and
 * 300 MB per 4 KB command line of a hostile user's exec. Here a pattern is
 * compiled into a small program of at most ERE_MAX_STATES instructions and
 * run as a Thompson/Pike simulation: every instruction is visited at most
 * once per byte of text, so a match costs at most (text length + 1) x
 * states steps and no memory beyond two state lists, for any pattern and
 * any text.
 *
 * The language is what regcomp(REG_EXTENDED | REG_NOSUB) takes in the C
 * locale, bytes being characters: literals, `.`, bracket expressions with
 * ranges, [:classes:], [=c=] and [.c.], `^` and `$` anywhere, `( )`, `|`
 * (empty alternatives too), `*` `+` `?` `{m}` `{m,}` `{m,n}` (m, n at most
 * ERE_MAX_REPEAT), and GNU's `\w \W \s \S \b \B \< \> \` \'`. A backslash
 * before any other character makes it literal; a `)` outside any group is
 * an ordinary character, as in glibc. Refused with a reason:
 * back-references (`\1`: no linear-time matcher exists for them), a
 * quantifier with nothing to repeat, a `{` that starts no repetition,
 * unbalanced parentheses or brackets, bad ranges or class names, nesting
 * deeper than ERE_MAX_DEPTH, and programs past ERE_MAX_STATES after
 * repetitions are expanded (`x{m,n}` is m copies and n-m optional ones). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define ERE_MAX_PATTERN 1024 /* bytes of pattern */
#define ERE_MAX_DEPTH 32     /* nested parentheses */
#define ERE_MAX_REPEAT 255   /* m and n in {m,n}: POSIX's least RE_DUP_MAX */
#define ERE_MAX_STATES 1280  /* instructions of the compiled program */

typedef struct Ere Ere;

/* Compile. 0 with *ret set; -EINVAL (a syntax error or a refused
 * construct), -E2BIG (past a bound above) or -ENOMEM, with *ret_error a
 * malloc'd sentence (NULL on ENOMEM) and *ret untouched. */
int ere_compile(const char *pattern, Ere **ret, char **ret_error);
void ere_free(Ere *re);
/* Does re match anywhere in text[0..len)? Linear: at most
 * (len + 1) * ere_states(re) steps. Bytes are characters (NUL too). */
bool ere_match(const Ere *re, const char *text, size_t len);
/* Instructions of the compiled program (the per-byte cost bound). */
size_t ere_states(const Ere *re);
