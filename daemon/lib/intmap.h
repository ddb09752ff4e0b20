/* SPDX-License-Identifier: MIT */
/* A hash map from non-negative int keys (tids, pids) to pointer-sized values.
 * Open addressing with linear probing and backward-shift deletion: no
 * tombstones, so a long-running daemon's map never degrades. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct IntMapSlot {
        int32_t key; /* -1 = empty */
        uintptr_t value;
} IntMapSlot;

typedef struct IntMap {
        IntMapSlot *slots;
        size_t cap, n; /* cap is 0 or a power of two */
} IntMap;

#define INTMAP_INIT ((IntMap){0})

/* Insert or replace; *ret_old (if non-NULL) gets the replaced value and the
 * return is 1 when one was replaced, 0 when inserted, -ENOMEM. */
int intmap_put(IntMap *m, int32_t key, uintptr_t value, uintptr_t *ret_old);
bool intmap_get(const IntMap *m, int32_t key, uintptr_t *ret);
/* Returns whether the key was there; *ret_old gets its value. */
bool intmap_remove(IntMap *m, int32_t key, uintptr_t *ret_old);
/* Iterate: size_t i = 0; IntMapSlot *s; while ((s = intmap_next(m, &i))) ... */
const IntMapSlot *intmap_next(const IntMap *m, size_t *iter);
static inline size_t intmap_size(const IntMap *m) {
        return m->n;
}
void intmap_done(IntMap *m);
