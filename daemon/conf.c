/* SPDX-License-Identifier: MIT */
/* pinnerd.conf: read every file, feed it to libinih line by line, validate
 * every key, collect every problem, and only then build a Config.
 *
 * Why a custom inih reader instead of ini_parse_file(): Debian's libinih is
 * built with a 200-byte line buffer on the stack. A longer line is split by
 * fgets() into several "lines", so a long value would be silently truncated
 * and the rest parsed as garbage with shifted line numbers; section names are
 * truncated to 50 bytes; the handler gets no line number; and inih reports
 * only the first bad line. The reader below hands inih one physical line at a
 * time, so it always knows the line number, and it deals with what inih
 * cannot: section headers (our own tracking, untruncated), lines that do not
 * fit inih's buffer (split here with inih's exact rules and passed to the same
 * key handler), and lines inih would reject (reported here with file:line).
 * It also strips leading whitespace, which turns off inih's multi-line
 * continuations: an indented line is an ordinary line, as admins expect. */
#include "conf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <pwd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

/* Bounds on what a config may make us allocate or print. */
#define CONF_MAX_LINE (4 * CONF_MAX_VALUE) /* longer lines are refused whole */
#define CONF_MAX_FILE_BYTES (4u << 20)     /* 4096 rules fit easily */
#define CONF_MAX_FILES 1024                /* drop-ins */
#define CONF_MAX_DIAGS 1000                /* then "too many errors" and stop */
#define CONF_MAX_SECONDS 86400u            /* rescan, verify */
#define CONF_MAX_NODE 1023u
#define QUOTE_MAX 80  /* bytes of offending text quoted */
#define COMM_BYTES 15 /* TASK_COMM_LEN - 1 */

typedef enum RuleKey {
        K_COMM,
        K_EXE,
        K_CMDLINE,
        K_USER,
        K_CGROUP,
        K_UNIT,
        K_PARENT,
        K_KTHREADS,
        K_THREADS,
        K_CPUS,
        K_SPREAD,
        K_ISOLATED,
        K_PRIORITY,
        _K_MAX,
} RuleKey;

static const struct {
        const char *name;
        bool repeatable;
} rule_keys[_K_MAX] = {
        [K_COMM] = {"comm", true},          [K_EXE] = {"exe", true},
        [K_CMDLINE] = {"cmdline", true},    [K_USER] = {"user", true},
        [K_CGROUP] = {"cgroup", true},      [K_UNIT] = {"unit", true},
        [K_PARENT] = {"parent", true},      [K_KTHREADS] = {"kthreads", false},
        [K_THREADS] = {"threads", true},    [K_CPUS] = {"cpus", false},
        [K_SPREAD] = {"spread", false},     [K_ISOLATED] = {"isolated", false},
        [K_PRIORITY] = {"priority", false},
};

typedef enum SettingKey { S_ISOLATED, S_RESTORE, S_RESCAN, S_VERIFY, S_DRIFT, _S_MAX } SettingKey;

static const char *const setting_keys[_S_MAX] = {
        [S_ISOLATED] = "isolated", [S_RESTORE] = "restore", [S_RESCAN] = "rescan",
        [S_VERIFY] = "verify",     [S_DRIFT] = "drift",
};

typedef enum Section { SEC_NONE, SEC_SETTINGS, SEC_RULE, SEC_IGNORED } Section;

typedef struct Loader {
        ConfDiags *diags;
        const CpuSet *possible;
        bool oom;
        bool stop; /* too many errors: stop reading */

        Settings settings;
        Rule *rules;
        signed char *rule_isolated; /* per rule: -1 unset, 0 exclude, 1 allow */
        size_t n_rules, cap_rules;
        bool too_many_reported;
        StrVec files;

        /* The file being read. */
        const char *file;
        const char *pos, *end;
        unsigned line;
        bool expect_handler; /* the line handed to inih must reach the handler */
        size_t file_errors;
        unsigned setting_line[_S_MAX]; /* first line of each setting in this file */
        char *linebuf;

        /* The section being read. */
        Section sec;
        Rule *rule; /* into rules, or &scratch for a rule that is checked, not kept */
        Rule scratch;
        bool rule_kept;
        unsigned key_line[_K_MAX];
        signed char isolated;
} Loader;

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

/* A quoted piece of text for a message; "" on ENOMEM (the message still
 * names file:line). Freed by the caller. */
static char *q(const char *s) {
        char *e = conf_escape(s, QUOTE_MAX);
        return e ? e : strdup("");
}

static _printf_(4, 5) void diag(Loader *l, bool warning, unsigned line, const char *fmt, ...) {
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

#define ERR(l, ...) diag((l), false, (l)->line, __VA_ARGS__)
#define WARN(l, ...) diag((l), true, (l)->line, __VA_ARGS__)

void conf_diags_done(ConfDiags *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].file);
                free(d->v[i].message);
        }
        free(d->v);
        *d = (ConfDiags){0};
}

char *conf_diag_format(const ConfDiag *d) {
        const char *w = d->warning ? "warning: " : "";
        if (d->line > 0)
                return xasprintf("%s:%u: %s%s", d->file, d->line, w, d->message);
        return xasprintf("%s: %s%s", d->file, w, d->message);
}

static void rule_done(Rule *r) {
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
        cpuset_free(r->cpus.set);
        free(r->cpus.text);
        *r = (Rule){0};
}

void config_free(Config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_rules; i++)
                rule_done(&c->rules[i]);
        free(c->rules);
        free(c->by_priority);
        strvec_done(&c->files);
        free(c);
}

/* ---- values ---- */

static bool has_glob_chars(const char *s) {
        return strpbrk(s, "*?[") != NULL;
}

static int parse_bool_value(Loader *l, const char *key, const char *value, bool *ret) {
        if (parse_boolean(value, ret) < 0) {
                _cleanup_(freep) char *v = q(value);
                ERR(l, "%s '%s' is not a boolean (yes or no)", key, v);
                return -EINVAL;
        }
        return 0;
}

static int parse_seconds_value(Loader *l, const char *key, const char *value, unsigned *ret) {
        _cleanup_(freep) char *v = q(value);
        unsigned u;
        int r = parse_uint(value, &u);

        if (r == -EINVAL) {
                ERR(l, "%s '%s' is not a number of seconds", key, v);
                return r;
        }
        if (r < 0 || u > CONF_MAX_SECONDS) {
                ERR(l, "%s '%s' is out of range (0-%u seconds)", key, v, CONF_MAX_SECONDS);
                return -ERANGE;
        }
        *ret = u;
        return 0;
}

static int parse_isolated_value(Loader *l, const char *value, bool *ret) {
        if (strcmp(value, "exclude") == 0)
                *ret = false;
        else if (strcmp(value, "allow") == 0)
                *ret = true;
        else {
                _cleanup_(freep) char *v = q(value);
                ERR(l, "isolated '%s' must be exclude or allow", v);
                return -EINVAL;
        }
        return 0;
}

/* Warn (not fail) about CPUs this host does not have: one file serves many
 * machines. */
static void warn_beyond_possible(Loader *l, const CpuSpec *spec) {
        _cleanup_(cpuset_freep) CpuSet *beyond = NULL;
        _cleanup_(freep) char *b = NULL, *p = NULL, *v = NULL;

        if (!l->possible || spec->kind != CPUS_LIST)
                return;
        beyond = cpuset_dup(spec->set);
        if (!beyond) {
                l->oom = true;
                return;
        }
        cpuset_andnot(beyond, l->possible);
        if (cpuset_empty(beyond))
                return;
        b = cpuset_format_list(beyond);
        p = cpuset_format_list(l->possible);
        v = q(spec->text);
        if (!b || !p) {
                l->oom = true;
                return;
        }
        WARN(l, "cpus '%s': CPUs %s beyond this host's possible CPUs %s", v, b, p);
}

static int parse_cpus_value(Loader *l, const char *value, CpuSpec *ret) {
        _cleanup_(freep) char *v = q(value);
        CpuSpec spec = {0};
        CpuSetError err = {0};
        int r;

        if (strcmp(value, "all") == 0)
                spec.kind = CPUS_ALL;
        else if (strcmp(value, "housekeeping") == 0)
                spec.kind = CPUS_HOUSEKEEPING;
        else if (strcmp(value, "isolated") == 0)
                spec.kind = CPUS_ISOLATED;
        else if (strncmp(value, "node:", 5) == 0) {
                unsigned n;
                r = parse_uint(value + 5, &n);
                if (r == -EINVAL) {
                        ERR(l, "cpus '%s': not a NUMA node number", v);
                        return r;
                }
                if (r < 0 || n > CONF_MAX_NODE) {
                        ERR(l, "cpus '%s': node number too large (at most %u)", v, CONF_MAX_NODE);
                        return -ERANGE;
                }
                spec.kind = CPUS_NODE;
                spec.node = n;
        } else {
                bool hex = value[0] == '0' && (value[1] == 'x' || value[1] == 'X');
                spec.kind = CPUS_LIST;
                r = hex ? cpuset_parse_mask(value, &spec.set, &err)
                        : cpuset_parse_list(value, &spec.set, &err);
                if (r == -ENOMEM) {
                        l->oom = true;
                        return r;
                }
                if (r < 0) {
                        _cleanup_(freep) char *t = q(err.token);
                        ERR(l, "cpus '%s': %s: '%s'", v, err.reason ? err.reason : "bad value", t);
                        return r;
                }
                if (cpuset_empty(spec.set)) {
                        cpuset_free(spec.set);
                        ERR(l, "cpus '%s' selects no CPU", v);
                        return -EINVAL;
                }
        }
        spec.text = strdup(value);
        if (!spec.text) {
                cpuset_free(spec.set);
                l->oom = true;
                return -ENOMEM;
        }
        warn_beyond_possible(l, &spec);
        *ret = spec;
        return 0;
}

static int lookup_user(Loader *l, const char *value, uid_t *ret) {
        _cleanup_(freep) char *v = q(value);
        _cleanup_(freep) char *buf = NULL;
        struct passwd pw, *res = NULL;
        unsigned u;
        int r;

        if (isdigit((unsigned char) value[0])) {
                r = parse_uint(value, &u);
                /* (uid_t) -1 means "no change" to the kernel: never a real uid. */
                if (r < 0 || u == (unsigned) (uid_t) -1) {
                        ERR(l, "user '%s' is not a valid uid", v);
                        return -EINVAL;
                }
                *ret = (uid_t) u;
                return 0;
        }
        buf = malloc(16384);
        if (!buf) {
                l->oom = true;
                return -ENOMEM;
        }
        r = getpwnam_r(value, &pw, buf, 16384, &res);
        if (r != 0 || !res) {
                if (r != 0 && r != ENOENT && r != ESRCH)
                        ERR(l, "user '%s': cannot look it up: %s", v, strerror(r));
                else
                        ERR(l, "unknown user '%s'", v);
                return -ENOENT;
        }
        *ret = res->pw_uid;
        return 0;
}

static int push_glob(Loader *l, StrVec *vec, const char *value) {
        if (strvec_push(vec, value) < 0) {
                l->oom = true;
                return -ENOMEM;
        }
        return 0;
}

/* Mistakes that parse but can never match deserve a warning. */
static void warn_unmatchable(Loader *l, RuleKey k, const char *value) {
        _cleanup_(freep) char *v = NULL;

        if ((k == K_COMM || k == K_THREADS || k == K_PARENT) && !has_glob_chars(value) &&
            strlen(value) > COMM_BYTES) {
                v = q(value);
                WARN(l, "%s '%s' can never match: the kernel truncates task names to %d bytes",
                     rule_keys[k].name, v, COMM_BYTES);
        } else if ((k == K_EXE || k == K_CGROUP) && value[0] != '/' && value[0] != '*') {
                v = q(value);
                WARN(l, "%s '%s' can never match: it is an absolute path (try '*/%s')", rule_keys[k].name, v,
                     v);
        }
}

static void rule_key(Loader *l, Rule *r, RuleKey k, const char *value) {
        const char *key = rule_keys[k].name;
        _cleanup_(freep) char *v = q(value);

        if (l->key_line[k] != 0 && !rule_keys[k].repeatable) {
                _cleanup_(freep) char *n = q(r->name);
                ERR(l, "'%s' given twice in [rule:%s] (first on line %u): '%s'", key, n, l->key_line[k], v);
                return;
        }
        if (l->key_line[k] == 0)
                l->key_line[k] = l->line;
        if (value[0] == '\0' && k != K_CPUS) {
                ERR(l, "'%s' has an empty value", key);
                return;
        }

        switch (k) {
        case K_COMM:
        case K_EXE:
        case K_CGROUP:
        case K_UNIT:
        case K_PARENT:
        case K_THREADS: {
                StrVec *vec = k == K_COMM     ? &r->comm
                              : k == K_EXE    ? &r->exe
                              : k == K_CGROUP ? &r->cgroup
                              : k == K_UNIT   ? &r->unit
                              : k == K_PARENT ? &r->parent
                                              : &r->threads;
                if (push_glob(l, vec, value) == 0)
                        warn_unmatchable(l, k, value);
                break;
        }
        case K_CMDLINE: {
                regex_t re;
                int rc = regcomp(&re, value, REG_EXTENDED | REG_NOSUB);
                if (rc != 0) {
                        char msg[256];
                        regerror(rc, &re, msg, sizeof msg);
                        ERR(l, "cmdline '%s' is not a valid regular expression: %s", v, msg);
                        return;
                }
                regex_t *nv = realloc(r->cmdline, (r->cmdline_src.n + 1) * sizeof(regex_t));
                if (!nv) {
                        regfree(&re);
                        l->oom = true;
                        return;
                }
                r->cmdline = nv;
                r->cmdline[r->cmdline_src.n] = re;
                if (strvec_push(&r->cmdline_src, value) < 0) {
                        /* cmdline_src.n counts compiled entries: keep them in step. */
                        regfree(&r->cmdline[r->cmdline_src.n]);
                        l->oom = true;
                }
                break;
        }
        case K_USER: {
                uid_t uid;
                if (lookup_user(l, value, &uid) < 0)
                        return;
                uid_t *nv = realloc(r->users, (r->n_users + 1) * sizeof(uid_t));
                if (!nv) {
                        l->oom = true;
                        return;
                }
                r->users = nv;
                if (strvec_push(&r->user_src, value) < 0) {
                        l->oom = true;
                        return;
                }
                r->users[r->n_users++] = uid;
                break;
        }
        case K_KTHREADS:
                (void) parse_bool_value(l, key, value, &r->kthreads);
                break;
        case K_CPUS:
                if (value[0] == '\0') {
                        ERR(l, "'cpus' has an empty value");
                        return;
                }
                (void) parse_cpus_value(l, value, &r->cpus);
                break;
        case K_SPREAD:
                (void) parse_bool_value(l, key, value, &r->spread);
                break;
        case K_ISOLATED: {
                bool allow;
                if (parse_isolated_value(l, value, &allow) == 0)
                        l->isolated = allow;
                break;
        }
        case K_PRIORITY: {
                int rc = parse_int(value, &r->priority);
                if (rc == -ERANGE)
                        ERR(l, "priority '%s' is out of range", v);
                else if (rc < 0)
                        ERR(l, "priority '%s' is not an integer", v);
                break;
        }
        default:
                break;
        }
}

static void setting_key(Loader *l, const char *key, const char *value) {
        _cleanup_(freep) char *k = q(key), *v = q(value);
        Settings *s = &l->settings;
        unsigned i;

        for (i = 0; i < _S_MAX; i++)
                if (strcmp(key, setting_keys[i]) == 0)
                        break;
        if (i == _S_MAX) {
                ERR(l, "unknown key '%s' in [pinnerd]", k);
                return;
        }
        if (l->setting_line[i] != 0) {
                ERR(l, "'%s' given twice in [pinnerd] (first on line %u): '%s'", key, l->setting_line[i], v);
                return;
        }
        l->setting_line[i] = l->line;
        switch ((SettingKey) i) {
        case S_ISOLATED:
                (void) parse_isolated_value(l, value, &s->isolated_allow);
                break;
        case S_RESTORE:
                (void) parse_bool_value(l, key, value, &s->restore);
                break;
        case S_RESCAN:
                (void) parse_seconds_value(l, key, value, &s->rescan);
                break;
        case S_VERIFY:
                (void) parse_seconds_value(l, key, value, &s->verify);
                break;
        case S_DRIFT:
                if (strcmp(value, "reapply") == 0)
                        s->drift = DRIFT_REAPPLY;
                else if (strcmp(value, "log") == 0)
                        s->drift = DRIFT_LOG;
                else if (strcmp(value, "ignore") == 0)
                        s->drift = DRIFT_IGNORE;
                else
                        ERR(l, "drift '%s' must be reapply, log or ignore", v);
                break;
        default:
                break;
        }
}

/* Every key=value line lands here, from inih or from the long-line path. */
static void handle_key(Loader *l, const char *key, const char *value) {
        size_t vlen = strlen(value);

        if (l->sec == SEC_IGNORED)
                return; /* the section header was already reported */
        if (vlen > CONF_MAX_VALUE) {
                _cleanup_(freep) char *k = q(key);
                ERR(l, "value of '%s' too long (%zu bytes; at most %d)", k, vlen, CONF_MAX_VALUE);
                /* The key was given: no "has no match key" / "no cpus" on top. */
                for (unsigned i = 0; l->sec == SEC_RULE && i < _K_MAX; i++)
                        if (strcmp(key, rule_keys[i].name) == 0 && l->key_line[i] == 0)
                                l->key_line[i] = l->line;
                return;
        }
        if (key[0] == '\0') {
                _cleanup_(freep) char *v = q(value);
                ERR(l, "missing key name before '= %s'", v);
                return;
        }
        if (l->sec == SEC_NONE) {
                _cleanup_(freep) char *k = q(key);
                ERR(l, "key '%s' outside of any section ([pinnerd] or [rule:NAME])", k);
                return;
        }
        if (l->sec == SEC_SETTINGS) {
                setting_key(l, key, value);
                return;
        }
        for (unsigned k = 0; k < _K_MAX; k++)
                if (strcmp(key, rule_keys[k].name) == 0) {
                        rule_key(l, l->rule, (RuleKey) k, value);
                        return;
                }
        _cleanup_(freep) char *k = q(key);
        _cleanup_(freep) char *n = q(l->rule->name);
        ERR(l, "unknown key '%s' in [rule:%s]", k, n);
}

/* ---- sections ---- */

static bool rule_name_valid_char(char c) {
        return isalnum((unsigned char) c) || strchr("_.:@-", c);
}

static void finish_rule(Loader *l) {
        Rule *r = l->rule;
        _cleanup_(freep) char *n = q(r->name);
        bool has_match = false;

        for (unsigned k = K_COMM; k <= K_PARENT; k++)
                if (l->key_line[k] != 0)
                        has_match = true;
        /* kthreads = yes alone matches every kernel thread; kthreads = no alone
         * matches nothing. */
        if (r->kthreads)
                has_match = true;
        if (!has_match)
                diag(l, false, r->line,
                     "[rule:%s] has no match key (comm, exe, cmdline, user, cgroup, unit, parent or "
                     "kthreads = yes)",
                     n);
        if (l->key_line[K_CPUS] == 0)
                diag(l, false, r->line, "[rule:%s] has no 'cpus'", n);
        if (l->rule_kept)
                l->rule_isolated[r->index] = l->isolated;
        else
                rule_done(&l->scratch);
}

static void finish_section(Loader *l) {
        if (l->sec == SEC_RULE)
                finish_rule(l);
        l->sec = SEC_NONE;
        l->rule = NULL;
        l->rule_kept = false;
}

static void start_rule(Loader *l, const char *name, const char *header) {
        _cleanup_(freep) char *n = q(name), *h = q(header);
        size_t len = strlen(name);
        bool keep = true;
        Rule *r;

        if (len == 0) {
                ERR(l, "rule name is empty: '%s'", h);
                keep = false;
        } else if (len > CONF_MAX_NAME) {
                ERR(l, "rule name '%s' too long (%zu bytes; at most %d)", n, len, CONF_MAX_NAME);
                keep = false;
        } else {
                for (const char *p = name; *p; p++)
                        if (!rule_name_valid_char(*p)) {
                                ERR(l, "rule name '%s' may only hold letters, digits and _ . : @ -", n);
                                keep = false;
                                break;
                        }
        }
        if (keep)
                for (size_t i = 0; i < l->n_rules; i++)
                        if (strcmp(l->rules[i].name, name) == 0) {
                                ERR(l, "duplicate rule '%s' (first defined at %s:%u)", n, l->rules[i].file,
                                    l->rules[i].line);
                                keep = false;
                                break;
                        }
        if (keep && l->n_rules >= CONF_MAX_RULES) {
                /* Once: every later rule is the same problem. */
                if (!l->too_many_reported)
                        ERR(l, "too many rules: at most %d ('%s' and later rules are not used)",
                            CONF_MAX_RULES, h);
                l->too_many_reported = true;
                keep = false;
        }
        if (keep && l->n_rules == l->cap_rules) {
                size_t ncap = l->cap_rules ? l->cap_rules * 2 : 16;
                Rule *nv = realloc(l->rules, ncap * sizeof(Rule));
                signed char *ni;
                if (!nv) {
                        l->oom = true;
                        keep = false;
                } else {
                        l->rules = nv;
                        ni = realloc(l->rule_isolated, ncap);
                        if (!ni) {
                                l->oom = true;
                                keep = false;
                        } else {
                                l->rule_isolated = ni;
                                l->cap_rules = ncap;
                        }
                }
        }

        r = keep ? &l->rules[l->n_rules] : &l->scratch;
        *r = (Rule){
                .name = strdup(name),
                .file = strdup(l->file),
                .line = l->line,
                .index = keep ? (unsigned) l->n_rules : 0,
        };
        if (!r->name || !r->file) {
                rule_done(r);
                l->oom = true;
                l->sec = SEC_IGNORED;
                return;
        }
        if (keep) {
                l->rule_isolated[l->n_rules] = -1;
                l->n_rules++;
        }
        l->rule = r;
        l->rule_kept = keep;
        l->sec = SEC_RULE;
        l->isolated = -1;
        memset(l->key_line, 0, sizeof l->key_line);
}

/* inih's own scan: stop at any of chars, or at a ';' that follows whitespace
 * (an inline comment). Mirrored so the long-line path splits exactly as inih. */
static const char *find_chars_or_comment(const char *s, const char *chars) {
        bool was_space = false;

        while (*s && !(chars && strchr(chars, *s)) && !(was_space && *s == ';')) {
                was_space = isspace((unsigned char) *s);
                s++;
        }
        return s;
}

static void section_header(Loader *l, char *s) {
        const char *end = find_chars_or_comment(s + 1, "]");
        const char *rest;
        char *name;

        finish_section(l);
        if (*end != ']') {
                _cleanup_(freep) char *h = q(s);
                ERR(l, "bad section header '%s': missing ']'", h);
                l->sec = SEC_IGNORED;
                return;
        }
        rest = end + 1;
        while (isspace((unsigned char) *rest))
                rest++;
        if (*rest && *rest != ';' && *rest != '#') {
                _cleanup_(freep) char *h = q(s);
                ERR(l, "unexpected text after section header: '%s'", h);
        }
        s[end - s] = '\0';
        name = strstrip(s + 1);
        if (strcmp(name, "pinnerd") == 0)
                l->sec = SEC_SETTINGS;
        else if (strncmp(name, "rule:", 5) == 0) {
                char header[CONF_MAX_NAME + 16];
                snprintf(header, sizeof header, "[%s]", name);
                start_rule(l, strstrip(name + 5), header);
        } else {
                _cleanup_(freep) char *n = q(name);
                ERR(l, "unknown section '[%s]' (expected [pinnerd] or [rule:NAME])", n);
                l->sec = SEC_IGNORED;
        }
}

/* ---- inih glue ---- */

static void check_handled(Loader *l) {
        if (l->expect_handler) {
                /* inih rejected a line we thought it would accept. */
                ERR(l, "cannot parse this line");
                l->expect_handler = false;
        }
}

static int ini_handler_cb(void *user, const char *section, const char *name, const char *value) {
        Loader *l = user;

        l->expect_handler = false;
        handle_key(l, name, value);
        return 1; /* problems are collected here; inih's count is not used */
}

static char *ini_reader_cb(char *str, int num, void *stream) {
        Loader *l = stream;
        const char *src, *nl;
        size_t len;
        char *s;

        check_handled(l);
        if (l->stop || l->oom || l->pos >= l->end || num < 3)
                return NULL;
        src = l->pos;
        nl = memchr(src, '\n', (size_t) (l->end - src));
        len = (size_t) ((nl ? nl : l->end) - src);
        l->pos = nl ? nl + 1 : l->end;
        l->line++;
        /* Whatever we handle ourselves, inih sees a blank line. */
        str[0] = '\n';
        str[1] = '\0';

        if (len > CONF_MAX_LINE) {
                char head[33];
                snprintf(head, sizeof head, "%.*s", (int) (sizeof head - 1), src);
                _cleanup_(freep) char *h = q(head);
                ERR(l, "line too long (%zu bytes; at most %d): '%s...'", len, CONF_MAX_LINE, h);
                return str;
        }
        memcpy(l->linebuf, src, len);
        l->linebuf[len] = '\0';
        s = l->linebuf;
        if (l->line == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
                s += 3; /* UTF-8 byte order mark */
        s = strstrip(s);
        if (*s == '\0' || *s == ';' || *s == '#')
                return str;
        if (*s == '[') {
                section_header(l, s);
                return str;
        }

        const char *sep = find_chars_or_comment(s, "=:");
        if (*sep != '=' && *sep != ':') {
                _cleanup_(freep) char *t = q(s);
                ERR(l, "expected 'key = value': '%s'", t);
                return str;
        }
        len = strlen(s);
        if (len + 2 < (size_t) num) {
                memcpy(str, s, len);
                str[len] = '\n';
                str[len + 1] = '\0';
                l->expect_handler = true;
                return str;
        }

        /* Too long for inih's buffer: split it the way inih would. */
        char *key = s, *value = s + (sep - s);
        *value++ = '\0';
        key = strstrip(key);
        char *cend = (char *) find_chars_or_comment(value, NULL);
        *cend = '\0';
        value = strstrip(value);
        handle_key(l, key, value);
        return str;
}

static void parse_text(Loader *l, const char *text, size_t len) {
        int r;

        l->pos = text;
        l->end = text + len;
        l->line = 0;
        l->sec = SEC_NONE;
        l->expect_handler = false;
        l->file_errors = 0;
        memset(l->setting_line, 0, sizeof l->setting_line);

        r = ini_parse_stream(ini_reader_cb, l, ini_handler_cb, l);
        check_handled(l);
        finish_section(l);
        if (r == -2)
                l->oom = true;
        else if (r > 0 && l->file_errors == 0) {
                l->line = (unsigned) r;
                ERR(l, "cannot parse this line");
        }
}

static int push_file(Loader *l, const char *name) {
        if (strvec_push(&l->files, name) < 0) {
                l->oom = true;
                return -ENOMEM;
        }
        l->file = l->files.v[l->files.n - 1];
        return 0;
}

static void check_owner(Loader *l, const struct stat *st, const ConfLoadOptions *o) {
        bool warn;

        if (!o->check_owner && !o->owner_warn)
                return;
        warn = !o->check_owner;
        if (st->st_uid != 0)
                diag(l, warn, 0, "%s: owned by uid %u, not root",
                     warn ? "pinnerd would refuse it" : "refusing", (unsigned) st->st_uid);
        else if (st->st_mode & (S_IWGRP | S_IWOTH))
                diag(l, warn, 0, "%s: writable by group or others (mode %04o)",
                     warn ? "pinnerd would refuse it" : "refusing", (unsigned) (st->st_mode & 07777));
}

static void load_file(Loader *l, const char *path, const ConfLoadOptions *o) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *buf = NULL;
        size_t before = l->diags->n_errors;
        size_t len = 0;
        struct stat st;

        if (push_file(l, path) < 0)
                return;
        l->line = 0;
        /* O_NONBLOCK: a FIFO dropped into the directory must not hang us. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                diag(l, false, 0, "cannot open: %s", strerror(errno));
                return;
        }
        if (fstat(fd, &st) < 0) {
                diag(l, false, 0, "cannot stat: %s", strerror(errno));
                return;
        }
        if (!S_ISREG(st.st_mode)) {
                diag(l, false, 0, "not a regular file");
                return;
        }
        check_owner(l, &st, o);
        if (l->diags->n_errors > before)
                return;
        if (st.st_size > (off_t) CONF_MAX_FILE_BYTES) {
                diag(l, false, 0, "file too large (%lld bytes; at most %u)", (long long) st.st_size,
                     CONF_MAX_FILE_BYTES);
                return;
        }
        /* Read through the fd we checked, not the path (it may have been swapped). */
        buf = malloc(CONF_MAX_FILE_BYTES + 1);
        if (!buf) {
                l->oom = true;
                return;
        }
        for (;;) {
                ssize_t n = read(fd, buf + len, CONF_MAX_FILE_BYTES + 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        diag(l, false, 0, "cannot read: %s", strerror(errno));
                        return;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > CONF_MAX_FILE_BYTES) {
                        diag(l, false, 0, "file too large (at most %u bytes)", CONF_MAX_FILE_BYTES);
                        return;
                }
        }
        buf[len] = '\0';
        const char *nul = memchr(buf, '\0', len);
        if (nul) {
                unsigned line = 1;
                for (const char *p = buf; p < nul; p++)
                        line += *p == '\n';
                diag(l, false, line, "contains a NUL byte");
                return;
        }
        parse_text(l, buf, len);
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void load_dir(Loader *l, const char *dir, const ConfLoadOptions *o) {
        _cleanup_(strvec_done) StrVec names = {0};
        DIR *d = opendir(dir);
        struct dirent *de;
        struct stat st;

        if (!d) {
                if (errno == ENOENT)
                        return; /* no drop-ins: fine */
                int e = errno;
                if (push_file(l, dir) == 0)
                        diag(l, false, 0, "cannot open directory: %s", strerror(e));
                return;
        }
        if (fstat(dirfd(d), &st) == 0 && (o->check_owner || o->owner_warn)) {
                /* Whoever can write the directory can add or replace rules. */
                size_t before = l->diags->n_errors;
                l->file = dir;
                check_owner(l, &st, o);
                l->file = NULL;
                if (l->diags->n_errors > before) {
                        closedir(d);
                        return;
                }
        }
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0)
                        continue;
                if (names.n >= CONF_MAX_FILES) {
                        l->file = dir;
                        diag(l, false, 0, "too many *.conf files (at most %d)", CONF_MAX_FILES);
                        l->file = NULL;
                        break;
                }
                if (strvec_push(&names, de->d_name) < 0) {
                        l->oom = true;
                        break;
                }
        }
        closedir(d);
        if (names.n > 0)
                qsort(names.v, names.n, sizeof(char *), name_cmp);
        for (size_t i = 0; i < names.n && !l->stop && !l->oom; i++) {
                _cleanup_(freep) char *path = xasprintf("%s/%s", dir, names.v[i]);
                if (!path) {
                        l->oom = true;
                        return;
                }
                load_file(l, path, o);
        }
}

/* ---- building the Config ---- */

static int by_priority_cmp(const void *a, const void *b) {
        const Rule *x = *(const Rule *const *) a, *y = *(const Rule *const *) b;
        if (x->priority != y->priority)
                return x->priority > y->priority ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

static void loader_init(Loader *l, ConfDiags *diags, const CpuSet *possible) {
        *l = (Loader){
                .diags = diags,
                .possible = possible,
                .settings = {.restore = true, .verify = 60, .drift = DRIFT_REAPPLY},
        };
}

static void loader_done(Loader *l) {
        for (size_t i = 0; i < l->n_rules; i++)
                rule_done(&l->rules[i]);
        free(l->rules);
        free(l->rule_isolated);
        rule_done(&l->scratch);
        strvec_done(&l->files);
        free(l->linebuf);
}

static int loader_finish(Loader *l, Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;

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
                r->isolated_allow =
                        l->rule_isolated[i] >= 0 ? l->rule_isolated[i] : c->settings.isolated_allow;
                if (r->exe.n)
                        c->facts |= FACT_EXE;
                if (r->cmdline_src.n)
                        c->facts |= FACT_CMDLINE;
                if (r->n_users)
                        c->facts |= FACT_UID;
                if (r->cgroup.n || r->unit.n)
                        c->facts |= FACT_CGROUP;
                if (r->parent.n)
                        c->facts |= FACT_PARENT;
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

        loader_init(&l, diags, opts->possible);
        r = loader_alloc(&l);
        if (r == 0) {
                load_file(&l, opts->main_path, opts);
                if (opts->dir && !l.stop && !l.oom)
                        load_dir(&l, opts->dir, opts);
                r = loader_finish(&l, ret);
        }
        loader_done(&l);
        return r;
}

int conf_load_string(const char *text, const char *name, const CpuSet *possible, Config **ret,
                     ConfDiags *diags) {
        Loader l;
        int r;

        loader_init(&l, diags, possible);
        r = loader_alloc(&l);
        if (r == 0 && push_file(&l, name) == 0)
                parse_text(&l, text, strlen(text));
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

static bool cpuspec_equal(const CpuSpec *a, const CpuSpec *b) {
        if (a->kind != b->kind)
                return false;
        if (a->kind == CPUS_NODE)
                return a->node == b->node;
        if (a->kind == CPUS_LIST)
                return a->set && b->set && cpuset_equal(a->set, b->set);
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
        /* Compare resolved uids: the same name may now be another uid. */
        if (a->n_users != b->n_users ||
            (a->n_users && memcmp(a->users, b->users, a->n_users * sizeof(uid_t)) != 0))
                return false;
        return a->kthreads == b->kthreads && cpuspec_equal(&a->cpus, &b->cpus) && a->spread == b->spread &&
               a->isolated_allow == b->isolated_allow && a->priority == b->priority;
}

int conf_check_main(const char *main_path, const char *dir, const CpuSet *possible, FILE *out, FILE *err) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(conf_diags_done) ConfDiags diags = {0};
        bool root = geteuid() == 0;
        ConfLoadOptions o = {
                .main_path = main_path,
                .dir = dir,
                .possible = possible,
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
