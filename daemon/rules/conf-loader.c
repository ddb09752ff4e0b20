/* SPDX-License-Identifier: MIT */
/* The Loader every layer of the config loader fills (conf-loader.h): its
 * diagnostics, bounded and quoted, and the rules it holds until a Config
 * takes them. Below conf-keys.c (and beside it), conf-ini.c, conf-load.c and conf.c. */
#include "rules/conf-loader.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define CONF_MAX_DIAGS 1000 /* then "too many errors" and stop */

char *conf_quote(const char *s) {
        char *e = conf_escape(s, CONF_QUOTE_MAX);
        return e ? e : strdup("");
}

/* Odd numbers for files read (2k+1 for the kth), even ones for what is
 * said before the next file is read (a drop-in directory): the sort key. */
static size_t file_order(const Loader *l) {
        for (size_t i = l->files.n; l->file && i > 0; i--)
                if (strcmp(l->files.v[i - 1], l->file) == 0)
                        return 2 * (i - 1) + 1;
        return 2 * l->files.n;
}

void conf_diag(Loader *l, bool warning, unsigned line, const char *fmt, ...) {
        ConfDiags *d = l->diags;
        va_list ap;
        char *msg;
        int r;

        if (!warning) {
                d->n_errors++;
                l->file_errors++;
        }
        if (d->n >= CONF_MAX_DIAGS) {
                /* Bounded output for a garbage file: one last line, then stop. */
                if (!l->stop) {
                        l->stop = true;
                        fmt = "too many problems; giving up on the rest";
                        warning = false;
                } else
                        return;
        }
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                l->oom = true;
                return;
        }
        if (d->n == d->cap) {
                size_t ncap = d->cap ? d->cap * 2 : 8;
                ConfDiag *nv = realloc(d->v, ncap * sizeof(*nv));
                if (!nv) {
                        free(msg);
                        l->oom = true;
                        return;
                }
                d->v = nv;
                d->cap = ncap;
        }
        d->v[d->n] = (ConfDiag){
                .file = strdup(l->file ? l->file : ""),
                .line = line,
                .warning = warning,
                .message = msg,
                .order = file_order(l),
        };
        if (!d->v[d->n].file) {
                free(msg);
                l->oom = true;
                return;
        }
        d->n++;
}

void loader_init(Loader *l, ConfDiags *diags, const CpuSet *possible, const struct Host *host) {
        *l = (Loader){
                .diags = diags,
                .possible = possible,
                .host = host,
                .settings = {.restore = true, .restore_at_stop = true, .verify = 60, .drift = DRIFT_REAPPLY},
        };
}

void loader_done(Loader *l) {
        for (size_t i = 0; i < l->n_rules; i++)
                conf_rule_done(&l->rules[i]);
        free(l->rules);
        free(l->rule_own);
        conf_rule_done(&l->scratch);
        strvec_done(&l->files);
        free(l->linebuf);
        free(l->names);
}

int loader_alloc(Loader *l) {
        l->linebuf = malloc(CONF_MAX_LINE + 1);
        return l->linebuf ? 0 : -ENOMEM;
}

int conf_push_file(Loader *l, const char *name) {
        if (strvec_push(&l->files, name) < 0) {
                l->oom = true;
                return -ENOMEM;
        }
        l->file = l->files.v[l->files.n - 1];
        return 0;
}

static int diag_cmp(const void *a, const void *b) {
        const ConfDiag *x = a, *y = b;
        if (x->order != y->order)
                return x->order < y->order ? -1 : 1;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return 0;
}

void conf_diags_sort(Loader *l) {
        ConfDiags *d = l->diags;
        size_t n = l->stop && d->n > 0 ? d->n - 1 : d->n;

        /* Insertion sort by (file, line): stable, so diagnostics of one line
         * keep the order they were made in, and cheap on what it sorts (at
         * most CONF_MAX_DIAGS entries, nearly in order already). */
        for (size_t i = 1; i < n; i++) {
                ConfDiag tmp = d->v[i];
                size_t j = i;
                while (j > 0 && diag_cmp(&d->v[j - 1], &tmp) > 0) {
                        d->v[j] = d->v[j - 1];
                        j--;
                }
                d->v[j] = tmp;
        }
}
