/* SPDX-License-Identifier: MIT */
#include "log.h"

#include "output.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

/* Fixed per event kind; listed in pinnerd(8) so `journalctl MESSAGE_ID=` works. */
static const struct {
        const char *name, *id;
} event_table[_EV_MAX] = {
        [EV_STARTED] = {"started", "1dd75684d45344ff90c42355c31a62c8"},
        [EV_RELOADED] = {"reloaded", "567cbaafd73b4e9a9c85d322f6c40718"},
        [EV_RELOAD_FAILED] = {"reload-failed", "4eeca4b5ec9e403bbb9c137b1f434313"},
        [EV_APPLIED] = {"applied", "7aaa90cf301a46b488d3364334aa4de9"},
        [EV_RESTORED] = {"restored", "b78f5b1109c243028428ef1679cc3a67"},
        [EV_SKIPPED] = {"skipped", "bf2d050d99e841f0bc947a9831321980"},
        [EV_FAILED] = {"failed", "0dce1f6feed34b5b83ae916ead3d64b9"},
        [EV_DRIFT] = {"drift", "785cac1b954b4ce7b72332131a32e800"},
        [EV_EVENTS_LOST] = {"events-lost", "d88dc9d6409e40c381ed1f3609431cd2"},
        [EV_RESCAN] = {"rescan", "16eb8956c74f47bb81c430f189093fd2"},
        [EV_STOPPING] = {"stopping", "3d046bde37ee4fb5a0ea66a563060e17"},
};

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

const char *event_kind_name(EventKind k) {
        return k >= 0 && k < _EV_MAX ? event_table[k].name : NULL;
}

const char *event_message_id(EventKind k) {
        return k >= 0 && k < _EV_MAX ? event_table[k].id : NULL;
}

int log_parse_level(const char *s, int *ret) {
        for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
                if (strcasecmp(s, level_names[i]) == 0) {
                        *ret = i;
                        return 0;
                }
        return -EINVAL;
}

int log_parse_target(const char *s, LogTarget *ret) {
        if (strcmp(s, "auto") == 0)
                *ret = LOG_TARGET_AUTO;
        else if (strcmp(s, "journal") == 0)
                *ret = LOG_TARGET_JOURNAL;
        else if (strcmp(s, "stderr") == 0)
                *ret = LOG_TARGET_STDERR;
        else
                return -EINVAL;
        return 0;
}

void log_setup(Logger *l, LogTarget target, int max_level) {
        *l = (Logger){.target = target, .max_level = max_level, .err = stderr};
        if (target == LOG_TARGET_AUTO) {
                struct stat st;
                /* Under systemd stderr is a journal stream; by hand, the journal
                 * socket tells whether journald runs at all. */
                if (getenv("JOURNAL_STREAM") || stat("/run/systemd/journal/socket", &st) == 0)
                        l->target = LOG_TARGET_JOURNAL;
                else
                        l->target = LOG_TARGET_STDERR;
        }
}

/* One stderr line: the message, then the fields as key=value. Values are
 * escaped as for a terminal (output.h), and quotes too, so a comm holding a
 * newline or a quote cannot forge a second line or a field. */
static void put_escaped(FILE *f, const char *s) {
        OutBuf b = OUTBUF_INIT;

        if (text_escape_append(&b, s, strlen(s)) < 0) {
                outbuf_done(&b);
                fputs("(unprintable)", f);
                return;
        }
        for (const char *p = outbuf_str(&b); *p; p++) {
                if (*p == '"')
                        fputc('\\', f);
                fputc(*p, f);
        }
        outbuf_done(&b);
}

/* " key=value", or "key=value" for the first field after the bracket. */
static void put_field(FILE *f, bool *first, const char *key, const char *value) {
        if (!value)
                return;
        fprintf(f, "%s%s=", *first ? "" : " ", key);
        *first = false;
        bool quote = strpbrk(value, " \"") != NULL || *value == '\0';
        if (quote)
                fputc('"', f);
        put_escaped(f, value);
        if (quote)
                fputc('"', f);
}

/* Journal fields are "KEY=value" strings; the iovec points at them. */
static void add_field(struct iovec *iov, size_t *n, char **fields, size_t *nf, const char *key,
                      const char *val) {
        if (!val)
                return;
        fields[*nf] = xasprintf("%s=%s", key, val);
        if (!fields[*nf])
                return;
        iov[(*n)++] = (struct iovec){.iov_base = fields[*nf], .iov_len = strlen(fields[*nf])};
        (*nf)++;
}

static void emit(Logger *l, EventKind kind, int priority, const LogFields *lf, const char *message) {
        char pid[24], tid[24], prio[16];

        if (lf) {
                snprintf(pid, sizeof pid, "%d", (int) lf->pid);
                snprintf(tid, sizeof tid, "%d", (int) lf->tid);
        }

        if (l->target == LOG_TARGET_JOURNAL) {
                struct iovec iov[16];
                _cleanup_(freep) char *m = xasprintf("MESSAGE=%s", message);
                char *fields[12] = {0};
                size_t n = 0, nf = 0;

                snprintf(prio, sizeof prio, "PRIORITY=%d", priority);
#define ADD(s)                                                                                               \
        iov[n++] = (struct iovec) {                                                                          \
                .iov_base = (void *) (s), .iov_len = strlen(s)                                               \
        }
                if (!m)
                        return;
                ADD("SYSLOG_IDENTIFIER=pinnerd");
                ADD(prio);
                ADD(m);
                if (kind >= 0 && kind < _EV_MAX) {
                        add_field(iov, &n, fields, &nf, "MESSAGE_ID", event_table[kind].id);
                        add_field(iov, &n, fields, &nf, "PINNERD_EVENT", event_table[kind].name);
                }
                if (lf) {
                        add_field(iov, &n, fields, &nf, "PINNERD_RULE", lf->rule);
                        add_field(iov, &n, fields, &nf, "PINNERD_PID", lf->pid > 0 ? pid : NULL);
                        add_field(iov, &n, fields, &nf, "PINNERD_TID", lf->tid > 0 ? tid : NULL);
                        add_field(iov, &n, fields, &nf, "PINNERD_COMM", lf->comm);
                        add_field(iov, &n, fields, &nf, "PINNERD_THREAD", lf->thread);
                        add_field(iov, &n, fields, &nf, "PINNERD_CPUS", lf->cpus);
                        add_field(iov, &n, fields, &nf, "PINNERD_REQUESTED", lf->requested);
                        add_field(iov, &n, fields, &nf, "PINNERD_PREVIOUS", lf->previous);
                        add_field(iov, &n, fields, &nf, "PINNERD_REASON", lf->reason);
                }
#undef ADD
                if (sd_journal_sendv(iov, (int) n) < 0) {
                        /* journald went away: keep the record rather than lose it. */
                        fprintf(l->err, "pinnerd: %s\n", message);
                }
                for (size_t i = 0; i < nf; i++)
                        free(fields[i]);
                return;
        }

        FILE *f = l->err;
        fprintf(f, "pinnerd: %s: ", level_names[priority & 7]);
        put_escaped(f, message);
        bool first = true;
        if (kind >= 0 && kind < _EV_MAX) {
                fprintf(f, " [event=%s", event_table[kind].name);
                first = false;
        } else if (lf)
                fputs(" [", f);
        if (lf) {
                put_field(f, &first, "rule", lf->rule);
                put_field(f, &first, "pid", lf->pid > 0 ? pid : NULL);
                put_field(f, &first, "tid", lf->tid > 0 ? tid : NULL);
                put_field(f, &first, "comm", lf->comm);
                put_field(f, &first, "thread", lf->thread);
                put_field(f, &first, "cpus", lf->cpus);
                put_field(f, &first, "requested", lf->requested);
                put_field(f, &first, "previous", lf->previous);
                put_field(f, &first, "reason", lf->reason);
        }
        if ((kind >= 0 && kind < _EV_MAX) || lf)
                fputc(']', f);
        fputc('\n', f);
        fflush(f);
}

bool log_storm_flush(Logger *l, uint64_t now) {
        if (l->window_start != 0 && now - l->window_start >= LOG_STORM_WINDOW_USEC) {
                if (l->suppressed_total > 0) {
                        char detail[256] = "";
                        size_t len = 0;
                        for (int k = 0; k < _EV_MAX; k++)
                                if (l->suppressed[k] && len < sizeof detail)
                                        len += (size_t) snprintf(detail + len, sizeof detail - len, "%s%s %u",
                                                                 len ? ", " : "", event_table[k].name,
                                                                 l->suppressed[k]);
                        if (l->suppressed_other && len < sizeof detail)
                                snprintf(detail + len, sizeof detail - len, "%snotes %u", len ? ", " : "",
                                         l->suppressed_other);
                        _cleanup_(freep) char *m =
                                xasprintf("suppressed %u thread records in %u s (%s); see pinnerctl status "
                                          "for counters",
                                          l->suppressed_total, LOG_STORM_WINDOW_USEC / 1000000u, detail);
                        if (m)
                                emit(l, _EV_MAX, LOG_NOTICE, NULL, m);
                }
                memset(l->suppressed, 0, sizeof l->suppressed);
                l->suppressed_other = 0;
                l->suppressed_total = 0;
                l->window_start = 0;
                l->window_count = 0;
        }
        return l->suppressed_total > 0;
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
                if (++l->window_count > LOG_STORM_BURST) {
                        if (kind >= 0 && kind < _EV_MAX)
                                l->suppressed[kind]++;
                        else
                                l->suppressed_other++;
                        l->suppressed_total++;
                        return;
                }
        }
        char *text;
        /* On failure vasprintf leaves its pointer undefined. */
        if (vasprintf(&text, fmt, ap) < 0)
                return;
        m = text;
        emit(l, kind, priority, f, m);
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
