/* SPDX-License-Identifier: MIT */
/* The [rule:NAME] keys: one table naming each key, whether it may be
 * repeated or negated with '!', and the parser that validates its value into
 * the Rule; and the warnings about task names that wait for the rule's end. */
#include "rules/conf-rule-keys.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ere.h"
#include "rules/conf-targets.h"
#include "rules/conf-values.h"
#include "kernel/procfs.h"

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

        if (conf_value_user(l, value, &uid) < 0)
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
        (void) conf_value_bool(l, def->name, value, &r->kthreads);
}

static void key_cpus(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        if (value[0] == '\0') {
                ERR(l, "'cpus' has an empty value");
                return;
        }
        if (l->key_line[K_AVOID])
                return; /* both: said at the end of the rule */
        (void) conf_value_cpus(l, "cpus", value, &r->cpus);
}

static void key_avoid(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        if (l->key_line[K_CPUS])
                return; /* both: said at the end of the rule */
        if (conf_value_cpus(l, "avoid", value, &r->cpus) == 0)
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

        if (conf_value_isolated(l, value, &allow) == 0)
                l->own.isolated = allow;
}

static void key_drift(Loader *l, Rule *r, const RuleKeyDef *def, const char *value, bool negated) {
        DriftAction d;

        if (conf_value_drift(l, value, &d) == 0)
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

void conf_rule_key(Loader *l, Rule *r, RuleKey k, const char *value) {
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

const char *conf_rule_key_name(RuleKey k) {
        return rule_keys[k].name;
}

/* A literal task name longer than the kernel keeps can never match: 15
 * bytes for a user task (TASK_COMM_LEN - 1). A kernel thread's name is shown
 * in full, and a workqueue worker's with its workqueue appended
 * ("kworker/u8:1-events_unbound"), up to 63 bytes. */
void conf_rule_keys_check_names(Loader *l, const Rule *r) {
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
