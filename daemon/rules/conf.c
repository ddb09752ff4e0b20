/* SPDX-License-Identifier: MIT */
/* pinnerd.conf: the Config object. The loader layers (conf-load.c,
 * conf-ini.c, conf-keys.c) collect every problem into a Loader
 * (conf-loader.c); only a load without errors becomes a Config. */
#include "rules/conf.h"
#include "rules/conf-ini.h"
#include "rules/conf-keys.h"
#include "rules/conf-load.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* ---- building the Config ---- */

static int by_priority_cmp(const void *a, const void *b) {
        const Rule *x = *(const Rule *const *) a, *y = *(const Rule *const *) b;
        if (x->priority != y->priority)
                return x->priority > y->priority ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

static int loader_finish(Loader *l, Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;

        if (!l->stop && !l->oom)
                conf_keys_finish(l);
        if (l->oom)
                return -ENOMEM;
        if (l->diags->n_errors > 0)
                return -EINVAL;
        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        c->settings = l->settings;
        if (l->n_rules > 0) {
                c->by_priority = calloc(l->n_rules, sizeof(Rule *));
                if (!c->by_priority)
                        return -ENOMEM;
        }
        c->rules = TAKE_PTR(l->rules);
        c->n_rules = l->n_rules;
        l->n_rules = 0;
        c->files = l->files;
        l->files = (StrVec){0};
        for (size_t i = 0; i < c->n_rules; i++) {
                Rule *r = &c->rules[i];
                const RuleOwn *own = &l->rule_own[i];
                r->isolated_allow = own->isolated >= 0 ? own->isolated : c->settings.isolated_allow;
                r->drift = own->drift >= 0 ? (DriftAction) own->drift : c->settings.drift;
                c->facts |= rule_facts(r);
                c->memory |= r->memory != MEMORY_KEEP;
                c->by_priority[i] = r;
        }
        if (c->n_rules > 1)
                qsort(c->by_priority, c->n_rules, sizeof(Rule *), by_priority_cmp);
        *ret = TAKE_PTR(c);
        return 0;
}

int conf_load(const ConfLoadOptions *opts, Config **ret, ConfDiags *diags) {
        Loader l;
        int r;

        loader_init(&l, diags, opts->possible, opts->host);
        r = loader_alloc(&l);
        if (r == 0) {
                conf_load_file(&l, opts->main_path, opts);
                if (opts->dir && !l.stop && !l.oom)
                        conf_load_dir(&l, opts->dir, opts);
                r = loader_finish(&l, ret);
        }
        loader_done(&l);
        return r;
}

int conf_load_string(const char *text, const char *name, const CpuSet *possible, Config **ret,
                     ConfDiags *diags) {
        Loader l;
        int r;

        loader_init(&l, diags, possible, NULL);
        r = loader_alloc(&l);
        if (r == 0 && conf_push_file(&l, name) == 0)
                conf_ini_parse(&l, text, strlen(text));
        if (r == 0)
                r = loader_finish(&l, ret);
        loader_done(&l);
        return r;
}

static int check_main(const char *main_path, const char *dir, const CpuSet *possible, const struct Host *host,
                      FILE *out, FILE *err);

int conf_check_main(const char *main_path, const char *dir, const CpuSet *possible, FILE *out, FILE *err) {
        return check_main(main_path, dir, possible, NULL, out, err);
}

int conf_check_main_host(const char *main_path, const char *dir, const struct Host *host,
                         const CpuSet *possible, FILE *out, FILE *err) {
        return check_main(main_path, dir, possible, host, out, err);
}

static int check_main(const char *main_path, const char *dir, const CpuSet *possible, const struct Host *host,
                      FILE *out, FILE *err) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(conf_diags_done) ConfDiags diags = {0};
        bool root = geteuid() == 0;
        ConfLoadOptions o = {
                .main_path = main_path,
                .dir = dir,
                .possible = possible,
                .host = host,
                .check_owner = root,
                .owner_warn = !root,
        };
        int r = conf_load(&o, &c, &diags);

        for (size_t i = 0; i < diags.n; i++) {
                _cleanup_(freep) char *s = conf_diag_format(&diags.v[i]);
                fprintf(err, "%s\n", s ? s : diags.v[i].message);
        }
        if (r == -EINVAL) {
                fprintf(err, "configuration invalid: %zu error%s\n", diags.n_errors,
                        diags.n_errors == 1 ? "" : "s");
                return 1;
        }
        if (r < 0) {
                fprintf(err, "cannot load configuration: %s\n", strerror(-r));
                return 1;
        }
        fprintf(out, "configuration OK: %zu rules\n", c->n_rules);
        return 0;
}
