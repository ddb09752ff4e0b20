/* SPDX-License-Identifier: MIT */
/* Rule matching. Globs use fnmatch(3) with no flags: '*' also matches '/',
 * so one cgroup pattern covers a whole subtree and one exe pattern any
 * directory, and a leading '.' is not special. Names from /proc may hold any
 * byte but NUL; fnmatch compares them as bytes. */
#include "rules/match.h"

#include <errno.h>
#include <fnmatch.h>
#include <string.h>

/* Task names shown in explanations: comm is at most 15 bytes, but paths and
 * command lines are long; a sentence stays readable. */
#define WHY_MAX 200

/* The unit types systemd places in their own cgroup (slices only nest). */
static const char *const unit_suffixes[] = {
        ".service", ".scope", ".socket", ".mount", ".swap",
        ".target",  ".timer", ".device", ".path",  ".automount",
};

static bool has_suffix(const char *s, size_t len, const char *suffix) {
        size_t n = strlen(suffix);
        return len > n && memcmp(s + len - n, suffix, n) == 0;
}

const char *cgroup_path_unit(const char *path, char *buf, size_t size) {
        const char *p = path;

        if (!path)
                return NULL;
        for (;;) {
                size_t len;
                while (*p == '/')
                        p++;
                if (*p == '\0')
                        return NULL;
                len = strcspn(p, "/");
                if (!has_suffix(p, len, ".slice")) {
                        for (size_t i = 0; i < ELEMENTSOF(unit_suffixes); i++)
                                if (has_suffix(p, len, unit_suffixes[i])) {
                                        if (len >= size)
                                                return NULL;
                                        memcpy(buf, p, len);
                                        buf[len] = '\0';
                                        return buf;
                                }
                        /* A non-slice that is no unit: systemd does not manage it. */
                        return NULL;
                }
                p += len;
        }
}

/* The first pattern of v that s matches, or NULL. */
static const char *glob_first(const StrVec *v, const char *s) {
        for (size_t i = 0; i < v->n; i++)
                if (fnmatch(v->v[i], s, 0) == 0)
                        return v->v[i];
        return NULL;
}

static bool glob_any(const StrVec *v, const char *s) {
        return glob_first(v, s) != NULL;
}

/* "'a', 'b' or 'c'" from a list of patterns, escaped. */
static char *join_quoted(char *const *v, size_t n) {
        size_t cap = 1, len = 0;
        char *out;

        for (size_t i = 0; i < n; i++)
                cap += strlen(v[i]) * 4 + 16;
        out = malloc(cap);
        if (!out)
                return NULL;
        out[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *e = conf_escape(v[i], WHY_MAX);
                if (!e) {
                        free(out);
                        return NULL;
                }
                len += (size_t) snprintf(out + len, cap - len, "%s'%s'",
                                         i == 0       ? ""
                                         : i + 1 == n ? " or "
                                                      : ", ",
                                         e);
        }
        return out;
}

/* Set *why (when wanted) to "KEY 'VALUE' does not match 'P'" or "... any of
 * 'P1', 'P2'". Always returns false, for `return mismatch(...)`. */
static bool mismatch(char **why, const char *key, const char *value, bool hidden, char *const *patterns,
                     size_t n) {
        _cleanup_(freep) char *v = NULL, *p = NULL;

        if (!why)
                return false;
        if (!value) {
                *why = xasprintf("%s is unknown (the task is gone or the file was unreadable)", key);
                return false;
        }
        /* A fact withheld from whoever asks never reaches the sentence. */
        v = hidden ? strdup("(withheld)") : conf_escape(value, WHY_MAX);
        p = join_quoted(patterns, n);
        if (v && p)
                *why = xasprintf(hidden ? "%s %s does not match %s%s" : "%s '%s' does not match %s%s", key, v,
                                 n > 1 ? "any of " : "", p);
        return false;
}

/* Set *why to "KEY 'VALUE' is excluded by '!P'". Returns false. */
static bool excluded(char **why, const char *key, const char *value, bool hidden, const char *pattern) {
        if (why) {
                _cleanup_(freep) char *v = hidden ? strdup("(withheld)") : conf_escape(value, WHY_MAX),
                                      *p = conf_escape(pattern, WHY_MAX);
                if (v && p)
                        *why = xasprintf(hidden ? "%s %s is excluded by '!%s'"
                                                : "%s '%s' is excluded by '!%s'",
                                         key, v, p);
        }
        return false;
}

/* Positive values OR'ed, then every negated one AND NOT. An unknown fact
 * (NULL) satisfies neither: a task is never matched on a guess, and never
 * taken as not excluded when nobody could tell. */
static bool match_globs(const StrVec *v, const StrVec * not, const char *key, const char *value, bool hidden,
                        char **why) {
        const char *hit;

        if (v->n == 0 && not ->n == 0)
                return true;
        if (!value || (v->n > 0 && !glob_any(v, value)))
                return mismatch(why, key, value, hidden, v->v, v->n);
        hit = glob_first(not, value);
        return hit ? excluded(why, key, value, hidden, hit) : true;
}

static const char *regex_first(Ere *const *re, const StrVec *src, const char *s) {
        size_t len = strlen(s);
        for (size_t i = 0; i < src->n; i++)
                if (ere_match(re[i], s, len))
                        return src->v[i];
        return NULL;
}

static bool match_cmdline(const Rule *r, const TaskFacts *f, char **why) {
        const char *hit;

        if (r->cmdline_src.n == 0 && r->not_cmdline_src.n == 0)
                return true;
        if (!f->cmdline || (r->cmdline_src.n > 0 && !regex_first(r->cmdline, &r->cmdline_src, f->cmdline)))
                return mismatch(why, "cmdline", f->cmdline, f->withheld & FACT_CMDLINE, r->cmdline_src.v,
                                r->cmdline_src.n);
        hit = regex_first(r->not_cmdline, &r->not_cmdline_src, f->cmdline);
        return hit ? excluded(why, "cmdline", f->cmdline, f->withheld & FACT_CMDLINE, hit) : true;
}

/* The index of uid in list, or -1. */
static ssize_t uid_find(const uid_t *list, size_t n, uid_t uid) {
        for (size_t i = 0; i < n; i++)
                if (list[i] == uid)
                        return (ssize_t) i;
        return -1;
}

static bool match_user(const Rule *r, const TaskFacts *f, char **why) {
        char uid[32];
        ssize_t i;

        if (r->n_users == 0 && r->n_not_users == 0)
                return true;
        if (!f->has_uid)
                return mismatch(why, "uid", NULL, false, NULL, 0);
        snprintf(uid, sizeof uid, "%u", (unsigned) f->uid);
        if (r->n_users > 0 && uid_find(r->users, r->n_users, f->uid) < 0) {
                if (why && (f->withheld & FACT_UID))
                        *why = strdup("uid (withheld) is not one the rule names");
                else if (why) {
                        _cleanup_(freep) char *p = join_quoted(r->user_src.v, r->user_src.n);
                        if (p)
                                *why = xasprintf("uid %s is not %s%s", uid,
                                                 r->n_users > 1 ? "any of " : "user ", p);
                }
                return false;
        }
        i = uid_find(r->not_users, r->n_not_users, f->uid);
        return i >= 0 ? excluded(why, "uid", uid, f->withheld & FACT_UID, r->not_user_src.v[i]) : true;
}

/* A process in no unit is not in an excluded one: `unit = !x.service`
 * alone matches it. A positive unit line needs a unit. */
static bool match_unit(const Rule *r, const TaskFacts *f, char **why) {
        char buf[256];
        const char *unit, *hit;

        if (r->unit.n == 0 && r->not_unit.n == 0)
                return true;
        if (!f->cgroup)
                return mismatch(why, "unit", NULL, false, r->unit.v, r->unit.n);
        unit = cgroup_path_unit(f->cgroup, buf, sizeof buf);
        if (!unit && r->unit.n > 0) {
                if (why && (f->withheld & FACT_CGROUP))
                        *why = strdup("cgroup (withheld) belongs to no systemd unit");
                else if (why) {
                        _cleanup_(freep) char *c = conf_escape(f->cgroup, WHY_MAX);
                        if (c)
                                *why = xasprintf("cgroup '%s' belongs to no systemd unit", c);
                }
                return false;
        }
        if (!unit)
                return true;
        if (r->unit.n > 0 && !glob_any(&r->unit, unit))
                return mismatch(why, "unit", unit, f->withheld & FACT_CGROUP, r->unit.v, r->unit.n);
        hit = glob_first(&r->not_unit, unit);
        return hit ? excluded(why, "unit", unit, f->withheld & FACT_CGROUP, hit) : true;
}

bool rule_match_process(const Rule *r, const TaskFacts *f, char **why) {
        /* A rule about IRQs or workqueues is about no task. */
        if (r->kind == RULE_IRQS || r->kind == RULE_WORKQUEUES) {
                if (why)
                        *why = xasprintf("the rule is about %s, not tasks", rule_kind_name(r->kind));
                return false;
        }
        /* Kernel threads are never touched unless a rule asks for them, and
         * such a rule is about kernel threads only. */
        if (f->kthread != r->kthreads) {
                if (why)
                        *why = strdup(f->kthread ? "a kernel thread, and the rule does not set kthreads = yes"
                                                 : "not a kernel thread, and the rule sets kthreads = yes");
                return false;
        }
        return match_globs(&r->comm, &r->not_comm, "comm", f->comm, false, why) &&
               match_globs(&r->exe, &r->not_exe, "exe", f->exe, f->withheld & FACT_EXE, why) &&
               match_cmdline(r, f, why) && match_user(r, f, why) &&
               match_globs(&r->cgroup, &r->not_cgroup, "cgroup", f->cgroup, f->withheld & FACT_CGROUP, why) &&
               match_unit(r, f, why) &&
               match_globs(&r->parent, &r->not_parent, "parent", f->parent_comm, f->withheld & FACT_PARENT,
                           why);
}

bool rule_match_thread(const Rule *r, const TaskFacts *f, char **why) {
        return match_globs(&r->threads, &r->not_threads, "thread name", f->thread, false, why);
}

unsigned rule_recheck_facts(const Rule *r) {
        unsigned facts = 0;

        if (r->cgroup.n || r->unit.n || r->not_cgroup.n || r->not_unit.n)
                facts |= FACT_CGROUP;
        if (r->not_exe.n)
                facts |= FACT_EXE;
        if (r->not_cmdline_src.n)
                facts |= FACT_CMDLINE;
        if (r->n_not_users)
                facts |= FACT_UID;
        if (r->not_parent.n)
                facts |= FACT_PARENT;
        return facts;
}

/* Only the negated part of a key: does value escape every exclusion? */
static bool not_excluded(const StrVec * not, const char *key, const char *value, bool hidden, char **why) {
        const char *hit;

        if (not ->n == 0)
                return true;
        if (!value)
                return mismatch(why, key, NULL, false, NULL, 0);
        hit = glob_first(not, value);
        return hit ? excluded(why, key, value, hidden, hit) : true;
}

bool rule_still_matches(const Rule *r, const TaskFacts *f, char **why) {
        if (!not_excluded(&r->not_comm, "comm", f->comm, false, why) ||
            !not_excluded(&r->not_threads, "thread name", f->thread, false, why) ||
            !not_excluded(&r->not_exe, "exe", f->exe, f->withheld & FACT_EXE, why) ||
            !not_excluded(&r->not_parent, "parent", f->parent_comm, f->withheld & FACT_PARENT, why))
                return false;
        if (r->not_cmdline_src.n) {
                const char *hit;
                if (!f->cmdline)
                        return mismatch(why, "cmdline", NULL, false, NULL, 0);
                hit = regex_first(r->not_cmdline, &r->not_cmdline_src, f->cmdline);
                if (hit)
                        return excluded(why, "cmdline", f->cmdline, f->withheld & FACT_CMDLINE, hit);
        }
        if (r->n_not_users) {
                char uid[32];
                ssize_t i;
                if (!f->has_uid)
                        return mismatch(why, "uid", NULL, false, NULL, 0);
                snprintf(uid, sizeof uid, "%u", (unsigned) f->uid);
                i = uid_find(r->not_users, r->n_not_users, f->uid);
                if (i >= 0)
                        return excluded(why, "uid", uid, f->withheld & FACT_UID, r->not_user_src.v[i]);
        }
        /* Both ways for the cgroup: a task can move into a container or out
         * of the slice the rule is about. */
        return match_globs(&r->cgroup, &r->not_cgroup, "cgroup", f->cgroup, f->withheld & FACT_CGROUP, why) &&
               match_unit(r, f, why);
}

bool rule_match_exe(const Rule *r, const char *path) {
        if (r->exe.n > 0 && !glob_any(&r->exe, path))
                return false;
        return !glob_any(&r->not_exe, path);
}

bool match_comm_possible(const Config *c, const char *comm, bool kthread) {
        for (size_t i = 0; i < c->n_rules; i++) {
                const Rule *r = &c->rules[i];
                /* The same kernel-thread rule as rule_match_process(). */
                if (r->kthreads != kthread || r->kind == RULE_IRQS || r->kind == RULE_WORKQUEUES)
                        continue;
                if ((r->comm.n == 0 || glob_any(&r->comm, comm)) && !glob_any(&r->not_comm, comm))
                        return true;
        }
        return false;
}

const Rule *match_thread(const Config *c, const TaskFacts *f) {
        for (size_t i = 0; i < c->n_rules; i++) {
                const Rule *r = c->by_priority[i];
                if (rule_match_process(r, f, NULL) && rule_match_thread(r, f, NULL))
                        return r;
        }
        return NULL;
}
