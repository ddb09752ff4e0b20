/* SPDX-License-Identifier: MIT */
/* pinnerd.conf keys: one table per section naming each key, whether it may
 * be repeated, and the parser that validates its value into the Rule or the
 * Settings. Every problem names file:line and the offending text. */
#include "rules/conf-keys.h"
#include "lib/ere.h"
#include "rules/conf-targets.h"
#include "rules/execmark.h"
#include "kernel/procfs.h"
#include "lib/suggest.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <string.h>

#define CONF_MAX_SECONDS 86400u /* rescan, verify */

/* Values that parse but can never match deserve a warning. */
typedef enum GlobCheck {
        GLOB_ANY,
        GLOB_TASK_NAME, /* a literal longer than the kernel keeps */
        GLOB_ABS_PATH,  /* must start with '/' or '*' */
} GlobCheck;

typedef struct RuleKeyDef RuleKeyDef;
/* A rule key's parser; value is non-empty except for cpus, which says so
 * itself. negated: the line was `key = !value` (value is without the '!'),
 * only for keys that are negatable. */
typedef void (*RuleKeyParser)(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated);

struct RuleKeyDef {
        const char *name;
        bool repeatable;
        RuleKeyParser parse;
        bool negatable;  /* a match value: `!value` excludes */
        size_t vec;      /* glob keys: offsetof the StrVec in Rule */
        size_t not_vec;  /* glob keys: offsetof the negated values' StrVec */
        GlobCheck check; /* glob keys */
};

static const RuleKeyDef rule_keys[_K_MAX];

static bool has_glob_chars(const char *s) {
        return strpbrk(s, "*?[") != NULL;
}

static int parse_bool_value(Loader *l, const char *key, const char *value, bool *ret) {
        if (parse_boolean(value, ret) < 0) {
                _cleanup_(freep) char *v = conf_quote(value);
                ERR(l, "%s '%s' is not a boolean (yes or no)", key, v);
                return -EINVAL;
        }
        return 0;
}

static int parse_seconds_value(Loader *l, const char *key, const char *value, unsigned *ret) {
        _cleanup_(freep) char *v = conf_quote(value);
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

static int parse_drift_value(Loader *l, const char *value, DriftAction *ret) {
        if (strcmp(value, "reapply") == 0)
                *ret = DRIFT_REAPPLY;
        else if (strcmp(value, "log") == 0)
                *ret = DRIFT_LOG;
        else if (strcmp(value, "ignore") == 0)
                *ret = DRIFT_IGNORE;
        else {
                _cleanup_(freep) char *v = conf_quote(value);
                ERR(l, "drift '%s' must be reapply, log or ignore", v);
                return -EINVAL;
        }
        return 0;
}

static int parse_isolated_value(Loader *l, const char *value, bool *ret) {
        if (strcmp(value, "exclude") == 0)
                *ret = false;
        else if (strcmp(value, "allow") == 0)
                *ret = true;
        else {
                _cleanup_(freep) char *v = conf_quote(value);
                ERR(l, "isolated '%s' must be exclude or allow", v);
                return -EINVAL;
        }
        return 0;
}

/* Warn (not fail) about CPUs this host does not have: one file serves many
 * machines. */
static void warn_beyond_possible(Loader *l, const char *key, const CpuSpec *spec) {
        if (!l->possible)
                return;
        for (size_t i = 0; i < spec->n_terms; i++) {
                _cleanup_(cpuset_freep) CpuSet *beyond = NULL;
                _cleanup_(freep) char *b = NULL, *p = NULL, *v = NULL;

                if (spec->terms[i].kind != CPU_TERM_LIST)
                        continue;
                beyond = cpuset_dup(spec->terms[i].set);
                if (!beyond) {
                        l->oom = true;
                        return;
                }
                cpuset_andnot(beyond, l->possible);
                if (cpuset_empty(beyond))
                        continue;
                b = cpuset_format_list(beyond);
                p = cpuset_format_list(l->possible);
                v = conf_quote(spec->text);
                if (!b || !p) {
                        l->oom = true;
                        return;
                }
                WARN(l, "%s '%s': CPUs %s beyond this host's possible CPUs %s", key, v, b, p);
        }
}

/* A term with no CPU on the host we run on is a warning, never an error:
 * one file serves many machines, and the rule's threads are skipped with
 * the same reason at plan time. */
static void warn_empty_on_host(Loader *l, const char *key, const CpuSpec *spec) {
        _cleanup_(freep) char *reason = NULL, *v = NULL;
        int r;

        if (!l->host)
                return;
        r = cpuspec_empty_reason(l->host, spec, &reason);
        if (r < 0) {
                l->oom = true;
                return;
        }
        if (!reason)
                return;
        v = conf_quote(spec->text);
        if (strcmp(key, "avoid") == 0)
                WARN(l, "avoid '%s': %s; nothing is avoided here", v, reason);
        else
                WARN(l, "%s '%s': %s; the rule's threads are skipped here", key, v, reason);
}

/* key: "cpus" or "avoid", as the user wrote it, for the messages. */
static int parse_cpus_value(Loader *l, const char *key, const char *value, CpuSpec *ret) {
        CpuSpec spec = {0};
        CpuSpecError err;
        int r;

        memset(&err, 0, sizeof err);
        r = cpuspec_parse(value, &spec, &err);
        if (r == -ENOMEM) {
                l->oom = true;
                return r;
        }
        if (r < 0) {
                _cleanup_(freep) char *v = conf_quote(value), *t = conf_quote(err.token);
                if (err.token[0])
                        ERR(l, "%s '%s': %s: '%s'", key, v, err.reason, t);
                else
                        ERR(l, "%s '%s': %s", key, v, err.reason);
                return r;
        }
        warn_beyond_possible(l, key, &spec);
        warn_empty_on_host(l, key, &spec);
        *ret = spec;
        return 0;
}

static int lookup_user(Loader *l, const char *value, uid_t *ret) {
        _cleanup_(freep) char *v = conf_quote(value);
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

/* Paths that parse but can never match deserve a warning. */
static void warn_unmatchable(Loader *l, const RuleKeyDef *def, const char *value, bool negated) {
        if (def->check == GLOB_ABS_PATH && value[0] != '/' && value[0] != '*') {
                _cleanup_(freep) char *v = conf_quote(value);
                WARN(l, "%s '%s%s' %s: it is an absolute path (try '%s*/%s')", def->name, negated ? "!" : "",
                     v, negated ? "excludes nothing" : "can never match", negated ? "!" : "", v);
        }
}

static void key_glob(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        StrVec *vec = (StrVec *) ((char *) r + (negated ? def->not_vec : def->vec));

        if (push_glob(l, vec, value) < 0)
                return;
        warn_unmatchable(l, def, value, negated);
        if (def->check == GLOB_TASK_NAME) {
                if (l->n_names == l->cap_names) {
                        size_t ncap = l->cap_names ? l->cap_names * 2 : 8;
                        struct TaskNameGlob *nv = realloc(l->names, ncap * sizeof(*nv));
                        if (!nv) {
                                l->oom = true;
                                return;
                        }
                        l->names = nv;
                        l->cap_names = ncap;
                }
                l->names[l->n_names++] = (struct TaskNameGlob){.key = (RuleKey) (def - rule_keys),
                                                               .idx = vec->n - 1,
                                                               .line = l->line,
                                                               .negated = negated};
        }
}

static void key_cmdline(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        Ere ***list = negated ? &r->not_cmdline : &r->cmdline;
        StrVec *src = negated ? &r->not_cmdline_src : &r->cmdline_src;
        _cleanup_(freep) char *why = NULL;
        Ere *re = NULL;

        /* Matched in time linear in the command line (lib/ere.h): a pattern
         * is refused only for its syntax or its size, never for how its
         * matching might explode. */
        int rc = ere_compile(value, &re, &why);
        if (rc < 0) {
                _cleanup_(freep) char *v = conf_quote(value);
                if (rc == -ENOMEM)
                        l->oom = true;
                else if (rc == -E2BIG)
                        ERR(l, "cmdline '%s' is refused: %s", v, why ? why : "too large");
                else
                        ERR(l, "cmdline '%s' is not a valid regular expression: %s", v,
                            why ? why : "invalid");
                return;
        }
        Ere **nv = realloc(*list, (src->n + 1) * sizeof(Ere *));
        if (!nv) {
                ere_free(re);
                l->oom = true;
                return;
        }
        *list = nv;
        nv[src->n] = re;
        if (strvec_push(src, value) < 0) {
                /* src->n counts compiled entries: keep them in step. */
                ere_free(nv[src->n]);
                l->oom = true;
        }
}

static void key_user(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        uid_t **list = negated ? &r->not_users : &r->users;
        size_t *n = negated ? &r->n_not_users : &r->n_users;
        StrVec *src = negated ? &r->not_user_src : &r->user_src;
        uid_t uid;

        if (lookup_user(l, value, &uid) < 0)
                return;
        uid_t *nv = realloc(*list, (*n + 1) * sizeof(uid_t));
        if (!nv) {
                l->oom = true;
                return;
        }
        *list = nv;
        if (strvec_push(src, value) < 0) {
                l->oom = true;
                return;
        }
        nv[(*n)++] = uid;
}

static void key_kthreads(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        (void) parse_bool_value(l, def->name, value, &r->kthreads);
}

static void key_cpus(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        if (value[0] == '\0') {
                ERR(l, "'cpus' has an empty value");
                return;
        }
        if (l->key_line[K_AVOID])
                return; /* both: said at the end of the rule */
        (void) parse_cpus_value(l, "cpus", value, &r->cpus);
}

static void key_avoid(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        if (l->key_line[K_CPUS])
                return; /* both: said at the end of the rule */
        if (parse_cpus_value(l, "avoid", value, &r->cpus) == 0)
                r->avoid = true;
}

static void key_spread(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        static const struct {
                const char *name;
                SpreadMode mode;
        } modes[] = {
                {"no", SPREAD_NO},     {"false", SPREAD_NO},    {"off", SPREAD_NO}, {"0", SPREAD_NO},
                {"yes", SPREAD_YES},   {"true", SPREAD_YES},    {"on", SPREAD_YES}, {"1", SPREAD_YES},
                {"rule", SPREAD_RULE}, {"index", SPREAD_INDEX},
        };
        for (size_t i = 0; i < ELEMENTSOF(modes); i++)
                if (strcmp(value, modes[i].name) == 0) {
                        r->spread = modes[i].mode;
                        return;
                }
        _cleanup_(freep) char *v = conf_quote(value);
        ERR(l, "spread '%s' must be no, yes, rule or index", v);
}

static void key_policy(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        if (policy_kind_parse(value, &r->policy.kind) < 0) {
                _cleanup_(freep) char *v = conf_quote(value);
                ERR(l, "policy '%s' must be other, batch, idle, fifo or rr", v);
                return;
        }
        r->has_policy = true;
}

static void key_rtprio(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        int v;

        if (parse_int(value, &v) < 0 || v < 1 || v > 99) {
                _cleanup_(freep) char *q = conf_quote(value);
                ERR(l, "rtprio '%s' must be an integer from 1 to 99", q);
                return;
        }
        r->policy.rtprio = (unsigned) v;
}

static void key_nice(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        int v;

        if (parse_int(value, &v) < 0 || v < -20 || v > 19) {
                _cleanup_(freep) char *q = conf_quote(value);
                ERR(l, "nice '%s' must be an integer from -20 to 19", q);
                return;
        }
        r->policy.nice = v;
}

static void key_isolated(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        bool allow;

        if (parse_isolated_value(l, value, &allow) == 0)
                l->own.isolated = allow;
}

static void key_drift(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        DriftAction d;

        if (parse_drift_value(l, value, &d) == 0)
                l->own.drift = (signed char) d;
}

static void key_memory(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        static const MemoryMode modes[] = {MEMORY_KEEP, MEMORY_FOLLOW, MEMORY_INTERLEAVE};
        for (size_t i = 0; i < ELEMENTSOF(modes); i++)
                if (strcmp(value, memory_mode_name(modes[i])) == 0) {
                        r->memory = modes[i];
                        return;
                }
        _cleanup_(freep) char *v = conf_quote(value);
        ERR(l, "memory '%s' must be keep, follow or interleave", v);
}

static void key_priority(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        int rc = parse_int(value, &r->priority);

        if (rc < 0) {
                _cleanup_(freep) char *v = conf_quote(value);
                if (rc == -ERANGE)
                        ERR(l, "priority '%s' is out of range", v);
                else
                        ERR(l, "priority '%s' is not an integer", v);
        }
}

static void key_irqs(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        conf_key_irqs(l, r, value);
}

static void key_workqueues(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        conf_key_workqueues(l, r, value);
}

static void key_follow(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        conf_key_follow(l, r, value);
}

static void key_guarantee(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        if (strcmp(value, "exec") == 0)
                r->guarantee_exec = true;
        else if (strcmp(value, "no") == 0 || strcmp(value, "none") == 0)
                r->guarantee_exec = false;
        else {
                _cleanup_(freep) char *v = conf_quote(value);
                ERR(l, "guarantee '%s' must be exec or no", v);
        }
}

#define GLOB_KEY(field, chk)                                                                                 \
        .repeatable = true, .parse = key_glob, .negatable = true, .vec = offsetof(Rule, field),              \
        .not_vec = offsetof(Rule, not_##field), .check = chk

static const RuleKeyDef rule_keys[_K_MAX] = {
        [K_COMM] = {"comm", GLOB_KEY(comm, GLOB_TASK_NAME)},
        [K_EXE] = {"exe", GLOB_KEY(exe, GLOB_ABS_PATH)},
        [K_CMDLINE] = {"cmdline", true, key_cmdline, true},
        [K_USER] = {"user", true, key_user, true},
        [K_CGROUP] = {"cgroup", GLOB_KEY(cgroup, GLOB_ABS_PATH)},
        [K_UNIT] = {"unit", GLOB_KEY(unit, GLOB_ANY)},
        [K_PARENT] = {"parent", GLOB_KEY(parent, GLOB_TASK_NAME)},
        [K_KTHREADS] = {"kthreads", false, key_kthreads},
        [K_THREADS] = {"threads", GLOB_KEY(threads, GLOB_TASK_NAME)},
        [K_CPUS] = {"cpus", false, key_cpus},
        [K_AVOID] = {"avoid", false, key_avoid},
        [K_SPREAD] = {"spread", false, key_spread},
        [K_ISOLATED] = {"isolated", false, key_isolated},
        [K_PRIORITY] = {"priority", false, key_priority},
        [K_POLICY] = {"policy", false, key_policy},
        [K_RTPRIO] = {"rtprio", false, key_rtprio},
        [K_NICE] = {"nice", false, key_nice},
        [K_DRIFT] = {"drift", false, key_drift},
        /* A list whose items each may start with '!': the value comes whole. */
        [K_IRQS] = {"irqs", true, key_irqs},
        [K_WORKQUEUES] = {"workqueues", false, key_workqueues},
        [K_FOLLOW] = {"follow", false, key_follow},
        [K_MEMORY] = {"memory", false, key_memory},
        [K_GUARANTEE] = {"guarantee", false, key_guarantee},
};

static void rule_key(Loader *l, Rule *r, RuleKey k, const char *value) {
        const RuleKeyDef *def = &rule_keys[k];

        if (l->key_line[k] != 0 && !def->repeatable) {
                _cleanup_(freep) char *n = conf_quote(r->name), *v = conf_quote(value);
                ERR(l, "'%s' given twice in [rule:%s] (first on line %u): '%s'", def->name, n, l->key_line[k],
                    v);
                return;
        }
        if (l->key_line[k] == 0)
                l->key_line[k] = l->line;
        if (value[0] == '\0' && k != K_CPUS) {
                ERR(l, "'%s' has an empty value", def->name);
                return;
        }
        if (value[0] == '!' && k != K_IRQS) {
                _cleanup_(freep) char *v = conf_quote(value);
                const char *rest = value + 1;
                if (!def->negatable)
                        ERR(l, "%s '%s': only match values can be negated with '!'%s", def->name, v,
                            k == K_KTHREADS ? " (kthreads = no is the default)" : "");
                else if (rest[0] == '\0')
                        ERR(l, "%s '!' negates nothing: write '!VALUE'", def->name);
                else if (rest[0] == '!')
                        ERR(l, "%s '%s': one '!' negates; a value that starts with '!' is written '\\!...'",
                            def->name, v);
                else if (isspace((unsigned char) rest[0])) {
                        while (isspace((unsigned char) rest[0]))
                                rest++;
                        _cleanup_(freep) char *t = conf_quote(rest);
                        ERR(l, "%s '%s': no space may follow '!' (write '!%s')", def->name, v, t);
                } else
                        def->parse(l, r, def, rest, true);
                return;
        }
        def->parse(l, r, def, value, false);
}

/* ---- [pinnerd] ---- */

typedef void (*SettingParser)(Loader *l, Settings *s, const char *key, const char *value);

static void set_isolated(Loader *l, Settings *s, const char *key, const char *value) {
        (void) parse_isolated_value(l, value, &s->isolated_allow);
}

static void set_restore(Loader *l, Settings *s, const char *key, const char *value) {
        (void) parse_bool_value(l, key, value, &s->restore);
}

static void set_rescan(Loader *l, Settings *s, const char *key, const char *value) {
        (void) parse_seconds_value(l, key, value, &s->rescan);
}

static void set_verify(Loader *l, Settings *s, const char *key, const char *value) {
        (void) parse_seconds_value(l, key, value, &s->verify);
}

static void set_restore_at_stop(Loader *l, Settings *s, const char *key, const char *value) {
        if (parse_bool_value(l, key, value, &s->restore_at_stop) == 0) {
                l->restore_at_stop_file = l->file;
                l->restore_at_stop_line = l->line;
        }
}

static void set_drift(Loader *l, Settings *s, const char *key, const char *value) {
        (void) parse_drift_value(l, value, &s->drift);
}

void conf_keys_finish(Loader *l) {
        conf_targets_finish(l);
        /* Without restore nothing is put back, at stop or ever: a
         * restore-at-stop line then says something the daemon would not do. */
        if (l->restore_at_stop_file && !l->settings.restore) {
                l->file = l->restore_at_stop_file;
                conf_diag(l, false, l->restore_at_stop_line,
                          "restore-at-stop needs restore = yes (restore = no restores nothing, at stop or on "
                          "reload)");
                l->file = NULL;
        }
}

static const struct {
        const char *name;
        SettingParser parse;
} setting_keys[_S_MAX] = {
        [S_ISOLATED] = {"isolated", set_isolated},
        [S_RESTORE] = {"restore", set_restore},
        [S_RESTORE_AT_STOP] = {"restore-at-stop", set_restore_at_stop},
        [S_RESCAN] = {"rescan", set_rescan},
        [S_VERIFY] = {"verify", set_verify},
        [S_DRIFT] = {"drift", set_drift},
};

/* An unknown key, with what was probably meant: the closest name of the
 * section's key table, or a hint that it belongs in the other section. The
 * tables are the only list of keys, so a key added there is suggested too. */
static void unknown_key(Loader *l, const char *key, bool in_rule) {
        const char *rule_names[_K_MAX], *setting_names[_S_MAX], *hint;
        _cleanup_(freep) char *k = conf_quote(key);
        _cleanup_(freep) char *sec = in_rule ? xasprintf("[rule:%s]", l->rule->name) : strdup("[pinnerd]");
        _cleanup_(freep) char *q = conf_quote(sec ? sec : "");

        for (unsigned i = 0; i < _K_MAX; i++)
                rule_names[i] = rule_keys[i].name;
        for (unsigned i = 0; i < _S_MAX; i++)
                setting_names[i] = setting_keys[i].name;
        /* A key of the other section: say where it goes. */
        for (unsigned i = 0; i < (in_rule ? _S_MAX : _K_MAX); i++)
                if (strcmp(in_rule ? setting_names[i] : rule_names[i], key) == 0) {
                        ERR(l, "unknown key '%s' in %s: '%s' is a %s key", k, q, k,
                            in_rule ? "[pinnerd]" : "[rule:NAME]");
                        return;
                }
        hint = in_rule ? suggest_word(key, rule_names, _K_MAX) : suggest_word(key, setting_names, _S_MAX);
        if (hint)
                ERR(l, "unknown key '%s' in %s (did you mean '%s'?)", k, q, hint);
        else
                ERR(l, "unknown key '%s' in %s", k, q);
}

static void setting_key(Loader *l, const char *key, const char *value) {
        unsigned i;

        for (i = 0; i < _S_MAX; i++)
                if (strcmp(key, setting_keys[i].name) == 0)
                        break;
        if (i == _S_MAX) {
                unknown_key(l, key, false);
                return;
        }
        if (l->setting_line[i] != 0) {
                _cleanup_(freep) char *v = conf_quote(value);
                ERR(l, "'%s' given twice in [pinnerd] (first on line %u): '%s'", key, l->setting_line[i], v);
                return;
        }
        l->setting_line[i] = l->line;
        setting_keys[i].parse(l, &l->settings, key, value);
}

/* Every key=value line lands here, from inih or from the long-line path. */
void conf_keys_handle(Loader *l, const char *key, const char *value) {
        size_t vlen = strlen(value);

        if (l->sec == SEC_IGNORED)
                return; /* the section header was already reported */
        if (vlen > CONF_MAX_VALUE) {
                _cleanup_(freep) char *k = conf_quote(key);
                ERR(l, "value of '%s' too long (%zu bytes; at most %d)", k, vlen, CONF_MAX_VALUE);
                /* The key was given: no "has no match key" / "no cpus" on top. */
                for (unsigned i = 0; l->sec == SEC_RULE && i < _K_MAX; i++)
                        if (strcmp(key, rule_keys[i].name) == 0 && l->key_line[i] == 0)
                                l->key_line[i] = l->line;
                return;
        }
        if (key[0] == '\0') {
                _cleanup_(freep) char *v = conf_quote(value);
                ERR(l, "missing key name before '= %s'", v);
                return;
        }
        if (l->sec == SEC_NONE) {
                _cleanup_(freep) char *k = conf_quote(key);
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
        unknown_key(l, key, true);
}

/* ---- sections ---- */

static bool rule_name_valid_char(char c) {
        return isalnum((unsigned char) c) || strchr("_.:@-", c);
}

/* A literal task name longer than the kernel keeps can never match: 15
 * bytes for a user task (TASK_COMM_LEN - 1). A kernel thread's name is shown
 * in full, and a workqueue worker's with its workqueue appended
 * ("kworker/u8:1-events_unbound"), up to 63 bytes. */
static void warn_long_task_names(Loader *l, const Rule *r) {
        size_t max = r->kthreads ? COMM_MAX : COMM_USER_MAX;

        for (size_t i = 0; i < l->n_names; i++) {
                const RuleKeyDef *def = &rule_keys[l->names[i].key];
                const StrVec *vec =
                        (const StrVec *) ((const char *) r + (l->names[i].negated ? def->not_vec : def->vec));
                const char *value = vec->v[l->names[i].idx];
                if (has_glob_chars(value) || strlen(value) <= max)
                        continue;
                _cleanup_(freep) char *v = conf_quote(value);
                const char *neg = l->names[i].negated ? "!" : "";
                const char *verdict = l->names[i].negated ? "excludes nothing" : "can never match";
                if (r->kthreads)
                        conf_diag(
                                l, true, l->names[i].line,
                                "%s '%s%s' %s: the kernel shows at most %zu bytes of a kernel thread's name",
                                def->name, neg, v, verdict, max);
                else
                        conf_diag(l, true, l->names[i].line,
                                  "%s '%s%s' %s: the kernel truncates task names to %zu bytes", def->name,
                                  neg, v, verdict, max);
        }
        l->n_names = 0;
}

/* policy, rtprio and nice go together as the kernel takes them. */
static void check_policy(Loader *l, const Rule *r, const char *n) {
        unsigned pl = l->key_line[K_POLICY], rl = l->key_line[K_RTPRIO], nl = l->key_line[K_NICE];
        bool rt = r->has_policy && policy_is_realtime(r->policy.kind);

        if (rl && !r->has_policy)
                conf_diag(l, false, rl, "[rule:%s]: rtprio needs policy = fifo or rr", n);
        else if (rl && !rt)
                conf_diag(l, false, rl, "[rule:%s]: rtprio is only for policy = fifo or rr, not %s", n,
                          policy_kind_name(r->policy.kind));
        if (r->has_policy && rt && !rl)
                conf_diag(l, false, pl, "[rule:%s]: policy = %s needs rtprio (1-99)", n,
                          policy_kind_name(r->policy.kind));
        if (nl && !r->has_policy)
                conf_diag(l, false, nl, "[rule:%s]: nice needs policy = other or batch", n);
        else if (nl && (rt || r->policy.kind == POLICY_IDLE))
                conf_diag(l, false, nl, "[rule:%s]: nice is only for policy = other or batch, not %s", n,
                          policy_kind_name(r->policy.kind));
}

/* guarantee = exec marks files: it needs files to mark, and it pins the
 * exec'ing task before it has any thread but itself. */
static void check_guarantee(Loader *l, const Rule *r, const char *n) {
        unsigned gl = l->key_line[K_GUARANTEE];

        if (!r->guarantee_exec)
                return;
        if (r->exe.n == 0)
                conf_diag(l, false, gl,
                          "[rule:%s]: guarantee = exec needs an exe = match (the files whose execs "
                          "wait for the rule)",
                          n);
        for (size_t i = 0; i < r->exe.n; i++) {
                _cleanup_(freep) char *dir = NULL;
                const char *name;
                int e = execmark_split(r->exe.v[i], &dir, &name);
                if (e == -ENOMEM)
                        l->oom = true;
                else if (e < 0) {
                        _cleanup_(freep) char *v = conf_quote(r->exe.v[i]);
                        conf_diag(l, false, gl,
                                  "[rule:%s]: guarantee = exec: exe '%s' must name files in one directory "
                                  "(an absolute path, wildcards only in the file name)",
                                  n, v);
                }
        }
        if (l->key_line[K_THREADS])
                conf_diag(l, false, gl,
                          "[rule:%s]: guarantee = exec pins the exec'ing task before it has threads; it "
                          "cannot be combined with threads (line %u)",
                          n, l->key_line[K_THREADS]);
        if (r->kthreads)
                conf_diag(l, false, gl, "[rule:%s]: guarantee = exec is for programs, not kthreads = yes", n);
}

static void end_rule(Loader *l) {
        Rule *r = l->rule;
        _cleanup_(freep) char *n = conf_quote(r->name);
        bool has_match = false;

        warn_long_task_names(l, r);

        for (unsigned k = K_COMM; k <= K_PARENT; k++)
                if (l->key_line[k] != 0)
                        has_match = true;
        /* kthreads = yes alone matches every kernel thread; kthreads = no alone
         * matches nothing. */
        if (r->kthreads || l->key_line[K_IRQS] || r->workqueues)
                has_match = true;
        if (!has_match)
                conf_diag(l, false, r->line,
                          "[rule:%s] has no match key (comm, exe, cmdline, user, cgroup, unit, parent, "
                          "kthreads = yes, irqs or workqueues = yes)",
                          n);
        /* One kind per rule; an irqs rule's cpus, avoid or follow. */
        conf_targets_end_rule(l, r, n);
        if (r->kind != RULE_IRQS) {
                if (l->key_line[K_CPUS] && l->key_line[K_AVOID])
                        conf_diag(l, false, l->key_line[K_AVOID],
                                  "[rule:%s] has both 'cpus' (line %u) and 'avoid': give one of them", n,
                                  l->key_line[K_CPUS]);
                else if (l->key_line[K_CPUS] == 0 && l->key_line[K_AVOID] == 0)
                        conf_diag(l, false, r->line, "[rule:%s] has no 'cpus' (or 'avoid')", n);
        }
        check_policy(l, r, n);
        /* A kernel thread has no memory of its own to move. */
        if (r->kthreads && r->memory != MEMORY_KEEP)
                conf_diag(l, false, l->key_line[K_MEMORY],
                          "[rule:%s]: memory = %s is for processes: kernel threads (kthreads = yes) have no "
                          "memory of their own",
                          n, memory_mode_name(r->memory));
        check_guarantee(l, r, n);
        l->own.cpus_line = l->key_line[K_CPUS] ? l->key_line[K_CPUS] : l->key_line[K_AVOID];
        if (l->rule_kept)
                l->rule_own[r->index] = l->own;
        else
                conf_rule_done(&l->scratch);
}

void conf_keys_end_section(Loader *l) {
        if (l->sec == SEC_RULE)
                end_rule(l);
        l->sec = SEC_NONE;
        l->rule = NULL;
        l->rule_kept = false;
}

void conf_keys_begin_rule(Loader *l, const char *name, const char *header) {
        _cleanup_(freep) char *n = conf_quote(name), *h = conf_quote(header);
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
                                _cleanup_(freep) char *f = conf_escape(l->rules[i].file, CONF_MAX_VALUE);
                                ERR(l, "duplicate rule '%s' (first defined at %s:%u)", n, f ? f : "",
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
                RuleOwn *ni;
                if (!nv) {
                        l->oom = true;
                        keep = false;
                } else {
                        l->rules = nv;
                        ni = realloc(l->rule_own, ncap * sizeof(RuleOwn));
                        if (!ni) {
                                l->oom = true;
                                keep = false;
                        } else {
                                l->rule_own = ni;
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
                conf_rule_done(r);
                l->oom = true;
                l->sec = SEC_IGNORED;
                return;
        }
        if (keep) {
                l->rule_own[l->n_rules] = (RuleOwn){.isolated = -1, .drift = -1};
                l->n_rules++;
        }
        l->rule = r;
        l->rule_kept = keep;
        l->sec = SEC_RULE;
        l->own = (RuleOwn){.isolated = -1, .drift = -1};
        memset(l->key_line, 0, sizeof l->key_line);
        l->n_names = 0;
}

void conf_keys_begin_settings(Loader *l) {
        l->sec = SEC_SETTINGS;
}
