/* SPDX-License-Identifier: MIT */
/* pinnerd.conf syntax: feed libinih one physical line at a time.
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
#include "rules/conf-ini.h"
#include "rules/conf-keys.h"
#include "rules/conf-sections.h"
#include "lib/suggest.h"

#include <ctype.h>
#include <ini.h>
#include <string.h>
#include <strings.h>

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

        conf_section_end(l);
        if (*end != ']') {
                _cleanup_(freep) char *h = conf_quote(s);
                ERR(l, "bad section header '%s': missing ']'", h);
                l->sec = SEC_IGNORED;
                return;
        }
        rest = end + 1;
        while (isspace((unsigned char) *rest))
                rest++;
        if (*rest && *rest != ';' && *rest != '#') {
                _cleanup_(freep) char *h = conf_quote(s);
                ERR(l, "unexpected text after section header: '%s'", h);
        }
        s[end - s] = '\0';
        name = strstrip(s + 1);
        if (strcmp(name, "pinnerd") == 0)
                conf_section_begin_settings(l);
        else if (strncmp(name, "rule:", 5) == 0) {
                char header[CONF_MAX_NAME + 16];
                snprintf(header, sizeof header, "[%s]", name);
                conf_section_begin_rule(l, strstrip(name + 5), header);
        } else {
                _cleanup_(freep) char *n = conf_quote(name);
                /* "[rules:x]", "[Rule:x]", "[pinned]": say what was meant. */
                static const char *const kinds[] = {"rule", "pinnerd"};
                const char *colon = strchr(name, ':');
                _cleanup_(freep) char *kind = strndup(name, colon ? (size_t) (colon - name) : strlen(name));
                const char *hint = kind ? suggest_word(kind, kinds, ELEMENTSOF(kinds)) : NULL;
                if (kind && !hint && strcasecmp(kind, "rule") == 0)
                        hint = "rule";
                if (hint && strcmp(hint, "rule") == 0 && colon) {
                        _cleanup_(freep) char *nm = conf_quote(colon + 1);
                        ERR(l, "unknown section '[%s]' (did you mean '[rule:%s]'?)", n, nm);
                } else if (hint && strcmp(hint, "pinnerd") == 0 && !colon)
                        ERR(l, "unknown section '[%s]' (did you mean '[pinnerd]'?)", n);
                else
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
        conf_keys_handle(l, name, value);
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
                _cleanup_(freep) char *h = conf_quote(head);
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
                _cleanup_(freep) char *t = conf_quote(s);
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
        conf_keys_handle(l, key, value);
        return str;
}

void conf_ini_parse(Loader *l, const char *text, size_t len) {
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
        conf_section_end(l);
        if (r == -2)
                l->oom = true;
        else if (r > 0 && l->file_errors == 0) {
                l->line = (unsigned) r;
                ERR(l, "cannot parse this line");
        }
}
