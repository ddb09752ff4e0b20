/* SPDX-License-Identifier: MIT */
/* "Did you mean ...?": the closest word of a list to a misspelled one, by
 * edit distance (insertions, deletions, substitutions and swaps of two
 * adjacent letters each count one). Pure. */
#pragma once

#include <stddef.h>

/* The longest word compared; longer ones are never close to anything. */
#define SUGGEST_MAX_LEN 64

/* The edit distance between a and b (optimal string alignment), at most
 * SUGGEST_MAX_LEN + 1: words longer than SUGGEST_MAX_LEN are that far from
 * everything. Case-sensitive, byte-wise. */
unsigned suggest_distance(const char *a, const char *b);

/* The candidate closest to word, when it is close enough to be what was
 * meant: at most 1 edit for words of up to 4 bytes, 2 for longer ones, and
 * fewer edits than the word has bytes. Ties go to the candidate listed
 * first; a candidate equal to word is not a suggestion. NULL entries in
 * candidates are skipped. NULL when nothing is close. */
const char *suggest_word(const char *word, const char *const *candidates, size_t n);
