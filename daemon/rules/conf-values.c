/* SPDX-License-Identifier: MIT */
/* The value parsers that keys of both sections share: booleans, seconds,
 * drift and isolated words, cpus terms (with warnings for CPUs this host
 * lacks), users. Each names file:line and the offending text on failure. */
#include "rules/conf-values.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

int conf_value_bool(Loader *l, const char *key, const char *value, bool *ret) {
        if (parse_boolean(value, ret) < 0) {
                _cleanup_(freep) char *v = conf_quote(value);
                ERR(l, "%s '%s' is not a boolean (yes or no)", key, v);
                return -EINVAL;
        }
        return 0;
}

int conf_value_seconds(Loader *l, const char *key, const char *value, unsigned *ret) {
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

int conf_value_drift(Loader *l, const char *value, DriftAction *ret) {
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

int conf_value_isolated(Loader *l, const char *value, bool *ret) {
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
int conf_value_cpus(Loader *l, const char *key, const char *value, CpuSpec *ret) {
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

int conf_value_user(Loader *l, const char *value, uid_t *ret) {
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
