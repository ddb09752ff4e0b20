/* SPDX-License-Identifier: MIT */
#include "lib/intmap.h"

#include <errno.h>
#include <stdlib.h>

static size_t slot_of(int32_t key, size_t cap) {
        uint32_t x = (uint32_t) key;
        x ^= x >> 16;
        x *= 0x7feb352dU;
        x ^= x >> 15;
        x *= 0x846ca68bU;
        x ^= x >> 16;
        return x & (cap - 1);
}

static size_t find(const IntMap *m, int32_t key) {
        size_t i = slot_of(key, m->cap);
        while (m->slots[i].key != -1 && m->slots[i].key != key)
                i = (i + 1) & (m->cap - 1);
        return i;
}

static int resize(IntMap *m, size_t ncap) {
        IntMapSlot *ns = malloc(ncap * sizeof *ns);
        if (!ns)
                return -ENOMEM;
        for (size_t i = 0; i < ncap; i++)
                ns[i].key = -1;
        for (size_t i = 0; i < m->cap; i++) {
                if (m->slots[i].key == -1)
                        continue;
                size_t j = slot_of(m->slots[i].key, ncap);
                while (ns[j].key != -1)
                        j = (j + 1) & (ncap - 1);
                ns[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
        return 0;
}

int intmap_put(IntMap *m, int32_t key, uintptr_t value, uintptr_t *ret_old) {
        size_t i;

        if (key < 0)
                return -EINVAL;
        /* Keep the load at or under 3/4: probe runs stay short. */
        if ((m->n + 1) * 4 > m->cap * 3 && resize(m, m->cap ? m->cap * 2 : 64) < 0)
                return -ENOMEM;
        i = find(m, key);
        if (m->slots[i].key == key) {
                if (ret_old)
                        *ret_old = m->slots[i].value;
                m->slots[i].value = value;
                return 1;
        }
        m->slots[i] = (IntMapSlot){key, value};
        m->n++;
        return 0;
}

bool intmap_get(const IntMap *m, int32_t key, uintptr_t *ret) {
        if (m->cap == 0 || key < 0)
                return false;
        size_t i = find(m, key);
        if (m->slots[i].key != key)
                return false;
        if (ret)
                *ret = m->slots[i].value;
        return true;
}

bool intmap_remove(IntMap *m, int32_t key, uintptr_t *ret_old) {
        size_t i, j;

        if (m->cap == 0 || key < 0)
                return false;
        i = find(m, key);
        if (m->slots[i].key != key)
                return false;
        if (ret_old)
                *ret_old = m->slots[i].value;
        m->slots[i].key = -1;
        m->n--;
        /* Backward shift: move later entries of the probe run into the hole
         * unless their home slot lies cyclically in (hole, j]. */
        j = i;
        for (;;) {
                j = (j + 1) & (m->cap - 1);
                if (m->slots[j].key == -1)
                        break;
                size_t home = slot_of(m->slots[j].key, m->cap);
                bool stay = i <= j ? (i < home && home <= j) : (i < home || home <= j);
                if (stay)
                        continue;
                m->slots[i] = m->slots[j];
                m->slots[j].key = -1;
                i = j;
        }
        /* After a peak (a storm of threads that exited): back to a quarter
         * full, so memory follows what is kept. Failing that, stay. */
        if (m->cap > 64 && m->n * 8 < m->cap)
                (void) resize(m, m->cap / 2);
        return true;
}

const IntMapSlot *intmap_next(const IntMap *m, size_t *iter) {
        while (*iter < m->cap) {
                const IntMapSlot *s = &m->slots[(*iter)++];
                if (s->key != -1)
                        return s;
        }
        return NULL;
}

void intmap_done(IntMap *m) {
        free(m->slots);
        *m = INTMAP_INIT;
}
