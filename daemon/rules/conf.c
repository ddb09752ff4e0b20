/* SPDX-License-Identifier: MIT */
/* pinnerd.conf: the Config object. The loader layers (conf-load.c,
 * conf-ini.c, conf-keys.c and beside it) collect every problem into a Loader
 * (conf-loader.c); only a load without errors becomes a Config. */
#include "rules/conf.h"
#include "rules/conf-ini.h"
#include "rules/conf-keys.h"
#include "rules/conf-load.h"
#include "rules/conf-lint.h"

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

        if (!l->stop && !l->oom) {
                conf_keys_finish(l);
                conf_lint(l);
        }
        conf_diags_sort(l);
        /* What was read, also for a load that fails. */
        for (size_t i = 0; i < l->files.n && !l->oom; i++)
                if (strvec_push(&l->diags->files, l->files.v[i]) < 0)
                        l->oom = true;
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

int conf_check_main(const char *main_path, const char *dir, const CpuSet *possible, FILE *out, FILE *err) {
        ConfCheckOptions o = {.main_path = main_path, .dir = dir, .possible = possible};
        return conf_check(&o, out, err);
}

int conf_check_main_host(const char *main_path, const char *dir, const struct Host *host,
                         const CpuSet *possible, FILE *out, FILE *err) {
        ConfCheckOptions o = {.main_path = main_path, .dir = dir, .possible = possible, .host = host};
        return conf_check(&o, out, err);
}

int conf_diags_json(JsonWriter *w, const ConfDiags *d, bool warnings) {
        json_array_begin(w);
        for (size_t i = 0; i < d->n; i++) {
                if (d->v[i].warning != warnings)
                        continue;
                json_object_begin(w);
                json_field_string(w, "file", d->v[i].file);
                if (d->v[i].line > 0)
                        json_field_uint(w, "line", d->v[i].line);
                else
                        json_field_string(w, "line", NULL);
                /* Quoted values are escaped once already (conf_escape). */
                json_field_text(w, "message", d->v[i].message);
                json_object_end(w);
        }
        return json_array_end(w);
}

char *conf_files_format(const StrVec *files) {
        OutBuf o = OUTBUF_INIT;

        for (size_t i = 0; i < files->n; i++) {
                _cleanup_(freep) char *f = conf_escape(files->v[i], CONF_MAX_VALUE);
                outbuf_printf(&o, "%s%s", i ? ", " : "", f ? f : "?");
        }
        if (files->n == 0)
                outbuf_puts(&o, "none");
        if (outbuf_error(&o) < 0) {
                outbuf_done(&o);
                return NULL;
        }
        return o.data;
}

static int check_json(const ConfDiags *diags, const Config *c, int r, FILE *out) {
        OutBuf o = OUTBUF_INIT;
        JsonWriter w;

        json_init(&w, &o);
        json_object_begin(&w);
        json_field_bool(&w, "valid", r == 0);
        if (c)
                json_field_uint(&w, "rules", c->n_rules);
        else
                json_field_string(&w, "rules", NULL);
        json_key(&w, "files");
        json_array_begin(&w);
        for (size_t i = 0; i < diags->files.n; i++)
                json_string(&w, diags->files.v[i]);
        json_array_end(&w);
        json_key(&w, "errors");
        conf_diags_json(&w, diags, false);
        json_key(&w, "warnings");
        conf_diags_json(&w, diags, true);
        if (r < 0 && r != -EINVAL)
                json_field_string(&w, "failure", strerror(-r));
        json_object_end(&w);
        int e = json_finish(&w);
        if (e == 0 && fwrite(o.data, 1, o.len, out) != o.len)
                e = -EIO;
        outbuf_done(&o);
        return e;
}

int conf_check(const ConfCheckOptions *opts, FILE *out, FILE *err) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(conf_diags_done) ConfDiags diags = {0};
        bool root = geteuid() == 0;
        ConfLoadOptions o = {
                .main_path = opts->main_path,
                .dir = opts->dir,
                .possible = opts->possible,
                .host = opts->host,
                .check_owner = root,
                .owner_warn = !root,
        };
        int r = conf_load(&o, &c, &diags);

        if (opts->json) {
                if (check_json(&diags, c, r, out) < 0)
                        fprintf(err, "cannot write the result: %m\n");
                return r == 0 ? 0 : 1;
        }
        for (size_t i = 0; i < diags.n; i++) {
                _cleanup_(freep) char *s = conf_diag_format(&diags.v[i]);
                fprintf(err, "%s\n", s ? s : diags.v[i].message);
        }
        _cleanup_(freep) char *files = conf_files_format(&diags.files);
        if (r == -EINVAL) {
                fprintf(err, "configuration invalid: %zu error%s (files read: %s)\n", diags.n_errors,
                        diags.n_errors == 1 ? "" : "s", files ? files : "?");
                return 1;
        }
        if (r < 0) {
                fprintf(err, "cannot load configuration: %s\n", strerror(-r));
                return 1;
        }
        fprintf(out, "configuration OK: %zu rules (files read: %s)\n", c->n_rules, files ? files : "?");
        return 0;
}
