/* SPDX-License-Identifier: MIT */
/* pinnerd.conf: the Config object and its diagnostics. The loader layers
 * (conf-ini.c, conf-keys.c, conf-load.c) collect every problem into a
 * Loader; only a load without errors becomes a Config. */
#include "rules/conf-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define CONF_MAX_DIAGS 1000 /* then "too many errors" and stop */

char *conf_escape(const char *s, size_t max) {
        size_t n = strnlen(s, max + 1);
        bool cut = n > max;
        char *buf, *p;

        if (cut)
                n = max;
        buf = malloc(n * 4 + 4);
        if (!buf)
                return NULL;
        p = buf;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == '\\' || c == '\'') {
                        *p++ = '\\';
                        *p++ = (char) c;
                } else if (c == '\n') {
                        *p++ = '\\';
                        *p++ = 'n';
                } else if (c == '\t') {
                        *p++ = '\\';
                        *p++ = 't';
                } else if (c < 0x20 || c >= 0x7f) {
                        p += sprintf(p, "\\x%02x", c);
                } else
                        *p++ = (char) c;
        }
        if (cut)
                p = stpcpy(p, "...");
        *p = '\0';
        return buf;
}

char *conf_quote(const char *s) {
        char *e = conf_escape(s, CONF_QUOTE_MAX);
        return e ? e : strdup("");
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
        };
        if (!d->v[d->n].file) {
                free(msg);
                l->oom = true;
                return;
        }
        d->n++;
}

void conf_diags_done(ConfDiags *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].file);
                free(d->v[i].message);
        }
        free(d->v);
        *d = (ConfDiags){0};
}

/* The file name is escaped like the offending text in messages, so that a
 * formatted diagnostic is printable ASCII throughout and an output layer
 * can show it as it is, without escaping it a second time. */
static char *diag_format(const ConfDiag *d, bool severity) {
        _cleanup_(freep) char *f = conf_escape(d->file, CONF_MAX_VALUE);
        const char *w = severity && d->warning ? "warning: " : "";

        if (!f)
                return NULL;
        if (d->line > 0)
                return xasprintf("%s:%u: %s%s", f, d->line, w, d->message);
        return xasprintf("%s: %s%s", f, w, d->message);
}

char *conf_diag_format(const ConfDiag *d) {
        return diag_format(d, true);
}

char *conf_diag_format_bare(const ConfDiag *d) {
        return diag_format(d, false);
}

void conf_rule_done(Rule *r) {
        free(r->name);
        free(r->file);
        strvec_done(&r->comm);
        strvec_done(&r->exe);
        strvec_done(&r->cgroup);
        strvec_done(&r->unit);
        strvec_done(&r->parent);
        for (size_t i = 0; r->cmdline && i < r->cmdline_src.n; i++)
                regfree(&r->cmdline[i]);
        free(r->cmdline);
        strvec_done(&r->cmdline_src);
        free(r->users);
        strvec_done(&r->user_src);
        strvec_done(&r->threads);
        strvec_done(&r->not_comm);
        strvec_done(&r->not_exe);
        strvec_done(&r->not_cgroup);
        strvec_done(&r->not_unit);
        strvec_done(&r->not_parent);
        strvec_done(&r->not_threads);
        for (size_t i = 0; r->not_cmdline && i < r->not_cmdline_src.n; i++)
                regfree(&r->not_cmdline[i]);
        free(r->not_cmdline);
        strvec_done(&r->not_cmdline_src);
        free(r->not_users);
        strvec_done(&r->not_user_src);
        cpuspec_done(&r->cpus);
        *r = (Rule){0};
}

void config_free(Config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_rules; i++)
                conf_rule_done(&c->rules[i]);
        free(c->rules);
        free(c->by_priority);
        strvec_done(&c->files);
        free(c);
}
/* ---- building the Config ---- */

static int by_priority_cmp(const void *a, const void *b) {
        const Rule *x = *(const Rule *const *) a, *y = *(const Rule *const *) b;
        if (x->priority != y->priority)
                return x->priority > y->priority ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

static void loader_init(Loader *l, ConfDiags *diags, const CpuSet *possible, const struct Host *host) {
        *l = (Loader){
                .diags = diags,
                .possible = possible,
                .host = host,
                .settings = {.restore = true, .restore_at_stop = true, .verify = 60, .drift = DRIFT_REAPPLY},
        };
}

static void loader_done(Loader *l) {
        for (size_t i = 0; i < l->n_rules; i++)
                conf_rule_done(&l->rules[i]);
        free(l->rules);
        free(l->rule_own);
        conf_rule_done(&l->scratch);
        strvec_done(&l->files);
        free(l->linebuf);
        free(l->names);
}

unsigned rule_facts(const Rule *r) {
        unsigned f = 0;

        if (r->exe.n || r->not_exe.n)
                f |= FACT_EXE;
        if (r->cmdline_src.n || r->not_cmdline_src.n)
                f |= FACT_CMDLINE;
        if (r->n_users || r->n_not_users)
                f |= FACT_UID;
        if (r->cgroup.n || r->unit.n || r->not_cgroup.n || r->not_unit.n)
                f |= FACT_CGROUP;
        if (r->parent.n || r->not_parent.n)
                f |= FACT_PARENT;
        return f;
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
                c->by_priority[i] = r;
        }
        if (c->n_rules > 1)
                qsort(c->by_priority, c->n_rules, sizeof(Rule *), by_priority_cmp);
        *ret = TAKE_PTR(c);
        return 0;
}

static int loader_alloc(Loader *l) {
        l->linebuf = malloc(CONF_MAX_LINE + 1);
        return l->linebuf ? 0 : -ENOMEM;
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

const Rule *config_find_rule(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_rules; i++)
                if (strcmp(c->rules[i].name, name) == 0)
                        return &c->rules[i];
        return NULL;
}

static bool strvec_equal(const StrVec *a, const StrVec *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (strcmp(a->v[i], b->v[i]) != 0)
                        return false;
        return true;
}

bool rule_equal(const Rule *a, const Rule *b) {
        if (strcmp(a->name, b->name) != 0)
                return false;
        if (!strvec_equal(&a->comm, &b->comm) || !strvec_equal(&a->exe, &b->exe) ||
            !strvec_equal(&a->cgroup, &b->cgroup) || !strvec_equal(&a->unit, &b->unit) ||
            !strvec_equal(&a->parent, &b->parent) || !strvec_equal(&a->cmdline_src, &b->cmdline_src) ||
            !strvec_equal(&a->threads, &b->threads))
                return false;
        if (!strvec_equal(&a->not_comm, &b->not_comm) || !strvec_equal(&a->not_exe, &b->not_exe) ||
            !strvec_equal(&a->not_cgroup, &b->not_cgroup) || !strvec_equal(&a->not_unit, &b->not_unit) ||
            !strvec_equal(&a->not_parent, &b->not_parent) ||
            !strvec_equal(&a->not_cmdline_src, &b->not_cmdline_src) ||
            !strvec_equal(&a->not_threads, &b->not_threads))
                return false;
        /* Compare resolved uids: the same name may now be another uid. */
        if (a->n_users != b->n_users ||
            (a->n_users && memcmp(a->users, b->users, a->n_users * sizeof(uid_t)) != 0))
                return false;
        if (a->n_not_users != b->n_not_users ||
            (a->n_not_users && memcmp(a->not_users, b->not_users, a->n_not_users * sizeof(uid_t)) != 0))
                return false;
        return a->kthreads == b->kthreads && cpuspec_equal(&a->cpus, &b->cpus) && a->avoid == b->avoid &&
               a->spread == b->spread && a->isolated_allow == b->isolated_allow &&
               a->priority == b->priority && a->drift == b->drift && a->has_policy == b->has_policy &&
               (!a->has_policy || policy_equal(&a->policy, &b->policy));
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
