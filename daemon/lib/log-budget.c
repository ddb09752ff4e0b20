/* SPDX-License-Identifier: MIT */
/* The entry points every caller logs through, and the per-user record
 * budget in front of them: thread records past a burst per user (and in
 * all) in a window are counted, not written, and said in one summary when
 * the window ends. What passes goes to log_emit() (log.c). */
#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool log_storm_flush(Logger *l, uint64_t now) {
        if (l->window_start != 0 && now - l->window_start >= LOG_STORM_WINDOW_USEC) {
                if (l->suppressed_total > 0) {
                        char detail[256] = "", users[256] = "";
                        size_t len = 0, ulen = 0;
                        for (int k = 0; k < _EV_MAX; k++)
                                if (l->suppressed[k] && len < sizeof detail)
                                        len += (size_t) snprintf(
                                                detail + len, sizeof detail - len, "%s%s %u", len ? ", " : "",
                                                event_kind_name((EventKind) k), l->suppressed[k]);
                        if (l->suppressed_other && len < sizeof detail)
                                snprintf(detail + len, sizeof detail - len, "%snotes %u", len ? ", " : "",
                                         l->suppressed_other);
                        /* Whose processes they were about. */
                        for (unsigned k = 0; k < l->n_window_users && ulen < sizeof users; k++) {
                                if (!l->window_users[k].suppressed)
                                        continue;
                                if (l->window_users[k].uid == (uid_t) -1)
                                        ulen += (size_t) snprintf(users + ulen, sizeof users - ulen,
                                                                  "%sother %u", ulen ? ", " : "",
                                                                  l->window_users[k].suppressed);
                                else
                                        ulen += (size_t) snprintf(users + ulen, sizeof users - ulen,
                                                                  "%suid %u: %u", ulen ? ", " : "",
                                                                  (unsigned) l->window_users[k].uid,
                                                                  l->window_users[k].suppressed);
                        }
                        _cleanup_(freep) char *m = xasprintf(
                                "suppressed %u thread records in %u s (%s; about processes of %s); see "
                                "pinnerctl status for counters",
                                l->suppressed_total, LOG_STORM_WINDOW_USEC / 1000000u, detail,
                                *users ? users : "all users");
                        if (m)
                                log_emit(l, _EV_MAX, LOG_NOTICE, NULL, m, false);
                }
                memset(l->suppressed, 0, sizeof l->suppressed);
                l->suppressed_other = 0;
                l->suppressed_total = 0;
                l->window_start = 0;
                l->window_count = 0;
                l->n_window_users = 0;
        }
        return l->suppressed_total > 0;
}

/* The window's budget for records about uid's processes: its own entry,
 * or the shared one past LOG_STORM_USERS (and for records with no owner). */
static unsigned window_user(Logger *l, const LogFields *f) {
        uid_t uid = f->has_uid ? f->uid : (uid_t) -1;
        unsigned i;

        for (i = 0; i < l->n_window_users; i++)
                if (l->window_users[i].uid == uid)
                        return i;
        if (uid != (uid_t) -1 && l->n_window_users >= LOG_STORM_USERS)
                return window_user(l, &(LogFields){0});
        l->window_users[i].uid = uid;
        l->window_users[i].count = 0;
        l->window_users[i].suppressed = 0;
        l->n_window_users++;
        return i;
}

uint64_t log_storm_deadline(const Logger *l) {
        return l->suppressed_total > 0 ? l->window_start + LOG_STORM_WINDOW_USEC : 0;
}

/* Thread records (those with a tid) go through the storm limiter; daemon
 * messages never do. */
static void log_vevent(Logger *l, EventKind kind, int priority, const LogFields *f, const char *fmt,
                       va_list ap) {
        _cleanup_(freep) char *m = NULL;

        if (priority > l->max_level)
                return;
        if (f && f->tid > 0) {
                uint64_t now = now_usec();
                log_storm_flush(l, now);
                if (l->window_start == 0)
                        l->window_start = now;
                unsigned u = window_user(l, f);
                if (++l->window_users[u].count > LOG_STORM_BURST || ++l->window_count > LOG_STORM_TOTAL) {
                        if (kind >= 0 && kind < _EV_MAX)
                                l->suppressed[kind]++;
                        else
                                l->suppressed_other++;
                        l->suppressed_total++;
                        l->window_users[u].suppressed++;
                        return;
                }
        }
        char *text;
        /* On failure vasprintf leaves its pointer undefined. */
        if (vasprintf(&text, fmt, ap) < 0)
                return;
        m = text;
        log_emit(l, kind, priority, f, m, false);
}

void log_event(Logger *l, EventKind kind, int priority, const LogFields *f, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vevent(l, kind, priority, f, fmt, ap);
        va_end(ap);
}

void log_note(Logger *l, int priority, const LogFields *f, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vevent(l, _EV_MAX, priority, f, fmt, ap);
        va_end(ap);
}

void log_msg(Logger *l, int priority, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vevent(l, _EV_MAX, priority, NULL, fmt, ap);
        va_end(ap);
}

void log_msg_escaped(Logger *l, int priority, const char *text) {
        if (priority > l->max_level)
                return;
        log_emit(l, _EV_MAX, priority, NULL, text, true);
}
