/* SPDX-License-Identifier: MIT */
/* One log record's bytes, pure: the event kinds' names and MESSAGE_IDs, the
 * level names, a record in journald's native protocol and the same record as
 * one stderr line, with the escaping each sink needs. Where a record goes,
 * and when, is log.c's. */
#include "lib/log-record.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

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
        [EV_RECORDS_LOST] = {"records-lost", "1c267f9d81864239b29d524d4ddc7f37"},
        [EV_CONFLICT] = {"conflict", "c63a61b28b164334b5b9b11d7b5b837c"},
        [EV_TARGET_APPLIED] = {"applied", "0cd02ba8737945ccbac46699f4b537f5"},
        [EV_TARGET_RESTORED] = {"restored", "220edff2318447b4a527ac5104ea10b4"},
        [EV_TARGET_SKIPPED] = {"skipped", "3b50f058bed84725a12ec2345ac09ecd"},
        [EV_TARGET_FAILED] = {"failed", "675e2edd4fff4c40ac97ceacc0cb096d"},
        [EV_TARGET_DRIFT] = {"drift", "b12072b7b306408291e1adb74cfcb98e"},
        [EV_MEMORY] = {"memory", "6009e67406cd4304857ad9bd4fab670b"},
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

int log_journal_field(OutBuf *out, const char *key, const char *value, size_t len) {
        if (!memchr(value, '\n', len)) {
                outbuf_puts(out, key);
                outbuf_putc(out, '=');
                outbuf_append(out, value, len);
                return outbuf_putc(out, '\n');
        }
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
                le[i] = (uint8_t) ((uint64_t) len >> (8 * i));
        outbuf_puts(out, key);
        outbuf_putc(out, '\n');
        outbuf_append(out, le, sizeof le);
        outbuf_append(out, value, len);
        return outbuf_putc(out, '\n');
}

static void jfield(OutBuf *out, const char *key, const char *value) {
        if (value)
                log_journal_field(out, key, value, strlen(value));
}

/* The longest prefix of escaped text s[0..len) of at most max bytes that
 * ends between two escapes or characters: never half a \xHH or a UTF-8
 * sequence. */
static size_t escaped_prefix(const char *s, size_t len, size_t max) {
        size_t i = 0;

        while (i < len) {
                unsigned char c = (unsigned char) s[i];
                size_t t;
                if (c == '\\')
                        t = i + 1 < len && s[i + 1] == 'x' ? 4 : 2;
                else
                        t = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
                if (i + t > max)
                        break;
                i += t;
        }
        return i;
}

/* The message as people see it: raw text escaped once (text_escape_append),
 * or already escaped text checked (text_sanitize_append); cut to
 * LOG_MESSAGE_MAX so a record always fits a datagram. */
static void put_message(OutBuf *out, const char *message, bool escaped) {
        OutBuf m = OUTBUF_INIT;
        size_t n = strlen(message);

        m.max = LOG_MESSAGE_MAX * 4 + 16;
        if (n > LOG_MESSAGE_MAX)
                n = LOG_MESSAGE_MAX;
        if (escaped)
                text_sanitize_append(&m, message, n);
        else
                text_escape_append(&m, message, n);
        if (outbuf_error(&m) < 0) {
                outbuf_puts(out, "(unprintable)");
                outbuf_done(&m);
                return;
        }
        size_t len = m.len;
        bool cut = n < strlen(message) || len > LOG_MESSAGE_MAX;
        if (len > LOG_MESSAGE_MAX)
                len = escaped_prefix(m.data, len, LOG_MESSAGE_MAX);
        outbuf_append(out, m.data, len);
        if (cut)
                outbuf_puts(out, "...");
        outbuf_done(&m);
}

void log_record_journal(OutBuf *out, EventKind kind, int priority, const LogFields *lf, const char *message,
                        bool escaped) {
        char num[24];

        jfield(out, "SYSLOG_IDENTIFIER", "pinnerd");
        snprintf(num, sizeof num, "%d", priority & 7);
        jfield(out, "PRIORITY", num);
        outbuf_puts(out, "MESSAGE=");
        put_message(out, message, escaped);
        outbuf_putc(out, '\n');
        if (kind >= 0 && kind < _EV_MAX) {
                jfield(out, "MESSAGE_ID", event_table[kind].id);
                jfield(out, "PINNERD_EVENT", event_table[kind].name);
        }
        if (!lf)
                return;
        jfield(out, "PINNERD_RULE", lf->rule);
        if (lf->pid > 0) {
                snprintf(num, sizeof num, "%d", (int) lf->pid);
                jfield(out, "PINNERD_PID", num);
        }
        if (lf->tid > 0) {
                snprintf(num, sizeof num, "%d", (int) lf->tid);
                jfield(out, "PINNERD_TID", num);
        }
        jfield(out, "PINNERD_COMM", lf->comm);
        jfield(out, "PINNERD_THREAD", lf->thread);
        jfield(out, "PINNERD_CPUS", lf->cpus);
        jfield(out, "PINNERD_REQUESTED", lf->requested);
        jfield(out, "PINNERD_POLICY", lf->policy);
        jfield(out, "PINNERD_IRQ", lf->irq);
        jfield(out, "PINNERD_IRQ_NAME", lf->irq_name);
        jfield(out, "PINNERD_WORKQUEUE", lf->workqueue);
        jfield(out, "PINNERD_PREVIOUS", lf->previous);
        jfield(out, "PINNERD_REASON", lf->reason);
        jfield(out, "PINNERD_NODES", lf->nodes);
        jfield(out, "PINNERD_PAGES_MOVED", lf->pages_moved);
        jfield(out, "PINNERD_PAGES_FAILED", lf->pages_failed);
}

/* A field value on the stderr line: escaped as for a terminal (output.h),
 * and quotes too, so a comm holding a newline or a quote cannot forge a
 * second line or a field. */
static void put_escaped(OutBuf *out, const char *s, bool escaped) {
        OutBuf b = OUTBUF_INIT;

        if ((escaped ? text_sanitize_append(&b, s, strlen(s)) : text_escape_append(&b, s, strlen(s))) < 0) {
                outbuf_done(&b);
                outbuf_puts(out, "(unprintable)");
                return;
        }
        for (const char *p = outbuf_str(&b); *p; p++) {
                if (*p == '"')
                        outbuf_putc(out, '\\');
                outbuf_putc(out, *p);
        }
        outbuf_done(&b);
}

/* " key=value", or "key=value" for the first field after the bracket. */
static void put_field_as(OutBuf *out, bool *first, const char *key, const char *value, bool escaped) {
        if (!value)
                return;
        outbuf_printf(out, "%s%s=", *first ? "" : " ", key);
        *first = false;
        bool quote = strpbrk(value, " \"") != NULL || *value == '\0';
        if (quote)
                outbuf_putc(out, '"');
        put_escaped(out, value, escaped);
        if (quote)
                outbuf_putc(out, '"');
}

static void put_field(OutBuf *out, bool *first, const char *key, const char *value) {
        put_field_as(out, first, key, value, false);
}

/* One stderr line: the message, then the fields as key=value. */
void log_record_stderr(OutBuf *out, EventKind kind, int priority, const LogFields *lf, const char *message,
                       bool escaped) {
        char pid[24], tid[24];
        bool first = true;

        outbuf_printf(out, "pinnerd: %s: ", level_names[priority & 7]);
        put_message(out, message, escaped);
        if (kind >= 0 && kind < _EV_MAX) {
                outbuf_printf(out, " [event=%s", event_table[kind].name);
                first = false;
        } else if (lf)
                outbuf_puts(out, " [");
        if (lf) {
                snprintf(pid, sizeof pid, "%d", (int) lf->pid);
                snprintf(tid, sizeof tid, "%d", (int) lf->tid);
                put_field(out, &first, "rule", lf->rule);
                put_field(out, &first, "pid", lf->pid > 0 ? pid : NULL);
                put_field(out, &first, "tid", lf->tid > 0 ? tid : NULL);
                put_field(out, &first, "comm", lf->comm);
                put_field(out, &first, "thread", lf->thread);
                put_field(out, &first, "cpus", lf->cpus);
                put_field(out, &first, "requested", lf->requested);
                put_field(out, &first, "policy", lf->policy);
                put_field(out, &first, "irq", lf->irq);
                put_field(out, &first, "irq_name", lf->irq_name);
                put_field(out, &first, "workqueue", lf->workqueue);
                put_field(out, &first, "previous", lf->previous);
                put_field_as(out, &first, "reason", lf->reason, lf->reason_escaped);
                put_field(out, &first, "nodes", lf->nodes);
                put_field(out, &first, "pages_moved", lf->pages_moved);
                put_field(out, &first, "pages_failed", lf->pages_failed);
        }
        if ((kind >= 0 && kind < _EV_MAX) || lf)
                outbuf_putc(out, ']');
        outbuf_putc(out, '\n');
}
