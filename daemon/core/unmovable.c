/* SPDX-License-Identifier: MIT */
#include "core/unmovable.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

void unmovable_kind(const char *name, char *out, size_t size) {
        size_t o = 0;

        if (size == 0)
                return;
        for (const char *p = name; *p && o + 1 < size;) {
                if (isdigit((unsigned char) *p)) {
                        out[o++] = 'N';
                        while (isdigit((unsigned char) *p))
                                p++;
                } else
                        out[o++] = *p++;
        }
        out[o] = '\0';
}

int unmovable_note(Unmovable *u, const char *rule, const char *name) {
        char kind[64];

        unmovable_kind(name, kind, sizeof kind);
        for (size_t i = 0; i < u->n; i++)
                if (strcmp(u->v[i].rule, rule) == 0 && strcmp(u->v[i].kind, kind) == 0) {
                        if (!u->v[i].said)
                                u->v[i].threads++;
                        return 0;
                }
        if (u->n >= UNMOVABLE_MAX_KINDS)
                return 0;
        if (u->n == u->cap) {
                size_t cap = u->cap ? u->cap * 2 : 16;
                UnmovableKind *v = reallocarray(u->v, cap, sizeof *v);
                if (!v)
                        return -ENOMEM;
                u->v = v;
                u->cap = cap;
        }
        UnmovableKind k = {.rule = strdup(rule), .kind = strdup(kind), .threads = 1};
        if (!k.rule || !k.kind) {
                free(k.rule);
                free(k.kind);
                return -ENOMEM;
        }
        u->v[u->n++] = k;
        u->pending = true;
        return 0;
}

static int cmp_kind(const void *a, const void *b) {
        const UnmovableKind *x = *(const UnmovableKind *const *) a, *y = *(const UnmovableKind *const *) b;
        return strcmp(x->kind, y->kind);
}

const char *unmovable_take(Unmovable *u, char **ret_kinds, unsigned *ret_threads) {
        const char *rule = NULL;

        *ret_kinds = NULL;
        *ret_threads = 0;
        for (size_t i = 0; i < u->n && !rule; i++)
                if (!u->v[i].said)
                        rule = u->v[i].rule;
        if (!rule) {
                u->pending = false;
                return NULL;
        }
        _cleanup_(freep) UnmovableKind **sel = calloc(u->n, sizeof *sel);
        size_t n = 0;
        if (!sel)
                return NULL;
        for (size_t i = 0; i < u->n; i++)
                if (!u->v[i].said && strcmp(u->v[i].rule, rule) == 0)
                        sel[n++] = &u->v[i];
        qsort(sel, n, sizeof *sel, cmp_kind);
        char *list = strdup("");
        for (size_t i = 0; list && i < n; i++) {
                char *prev = list;
                list = xasprintf("%s%s%s (%u)", prev, i ? ", " : "", sel[i]->kind, sel[i]->threads);
                free(prev);
        }
        if (!list)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                *ret_threads += sel[i]->threads;
                sel[i]->said = true;
        }
        *ret_kinds = list;
        return rule;
}

void unmovable_reset(Unmovable *u) {
        for (size_t i = 0; i < u->n; i++) {
                free(u->v[i].rule);
                free(u->v[i].kind);
        }
        free(u->v);
        *u = (Unmovable){0};
}
