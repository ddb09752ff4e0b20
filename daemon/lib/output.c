/* SPDX-License-Identifier: MIT */
#include "lib/output.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* ---- OutBuf ---- */

static size_t outbuf_limit(const OutBuf *b) {
        return b->max ? b->max : OUTBUF_MAX;
}

/* Make room for n more bytes plus the terminating NUL. */
static int outbuf_reserve(OutBuf *b, size_t n) {
        size_t need, ncap;
        char *p;

        if (b->error)
                return b->error;
        if (n > outbuf_limit(b) - b->len)
                return (b->error = -ENOBUFS);
        need = b->len + n + 1;
        if (need <= b->cap)
                return 0;
        ncap = b->cap ? b->cap : 256;
        while (ncap < need)
                ncap *= 2;
        /* Never allocate much past the limit just because of doubling. */
        if (ncap > outbuf_limit(b) + 1)
                ncap = outbuf_limit(b) + 1;
        p = realloc(b->data, ncap);
        if (!p)
                return (b->error = -ENOMEM);
        b->data = p;
        b->cap = ncap;
        return 0;
}

int outbuf_append(OutBuf *b, const void *data, size_t n) {
        int r = outbuf_reserve(b, n);
        if (r < 0)
                return r;
        if (n > 0)
                memcpy(b->data + b->len, data, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int outbuf_puts(OutBuf *b, const char *s) {
        return outbuf_append(b, s, strlen(s));
}

int outbuf_putc(OutBuf *b, char c) {
        return outbuf_append(b, &c, 1);
}

int outbuf_vprintf(OutBuf *b, const char *fmt, va_list ap) {
        va_list aq;
        int n, r;

        if (b->error)
                return b->error;
        /* Format once to learn the length, then once into reserved space. */
        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                return (b->error = -EINVAL);
        r = outbuf_reserve(b, (size_t) n);
        if (r < 0)
                return r;
        vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
        b->len += (size_t) n;
        return 0;
}

int outbuf_printf(OutBuf *b, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = outbuf_vprintf(b, fmt, ap);
        va_end(ap);
        return r;
}

void outbuf_reset(OutBuf *b) {
        b->len = 0;
        b->error = 0;
        if (b->data)
                b->data[0] = '\0';
}

void outbuf_done(OutBuf *b) {
        size_t max = b->max;
        free(b->data);
        *b = OUTBUF_INIT;
        b->max = max;
}

const char *outbuf_str(const OutBuf *b) {
        return b->data ? b->data : "";
}

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the byte at s
 * does not start one: stray continuation bytes, overlong forms, surrogates
 * and code points past U+10FFFF are all invalid (RFC 3629). */
static size_t utf8_sequence_len(const unsigned char *s, size_t n) {
        unsigned char c = s[0];
        unsigned char lo = 0x80, hi = 0xBF;
        size_t len;

        if (c < 0x80)
                return 1;
        if (c < 0xC2)
                return 0;
        if (c < 0xE0)
                len = 2;
        else if (c < 0xF0) {
                len = 3;
                if (c == 0xE0)
                        lo = 0xA0; /* overlong */
                else if (c == 0xED)
                        hi = 0x9F; /* surrogates */
        } else if (c < 0xF5) {
                len = 4;
                if (c == 0xF0)
                        lo = 0x90; /* overlong */
                else if (c == 0xF4)
                        hi = 0x8F; /* past U+10FFFF */
        } else
                return 0;
        if (n < len)
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
        return len;
}

/* The code point of a valid sequence of len bytes. */
static uint32_t utf8_decode(const unsigned char *s, size_t len) {
        static const unsigned char lead_mask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
        uint32_t cp = s[0] & lead_mask[len];
        for (size_t i = 1; i < len; i++)
                cp = cp << 6 | (s[i] & 0x3F);
        return cp;
}

/* Characters that are invisible or reorder the text around them (Unicode's
 * format characters, category Cf, and the line and paragraph separators): a
 * U+202E in a thread name would print the rest of a table row backwards, a
 * U+200B would make two names look the same. */
static bool unicode_format_char(uint32_t cp) {
        static const struct {
                uint32_t lo, hi;
        } ranges[] = {
                {0x00AD, 0x00AD},   {0x0600, 0x0605},   {0x061C, 0x061C},   {0x06DD, 0x06DD},
                {0x070F, 0x070F},   {0x0890, 0x0891},   {0x08E2, 0x08E2},   {0x180E, 0x180E},
                {0x200B, 0x200F},   {0x2028, 0x202E},   {0x2060, 0x2064},   {0x2066, 0x206F},
                {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
                {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
                {0xE0020, 0xE007F},
        };
        for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
                if (cp >= ranges[i].lo && cp <= ranges[i].hi)
                        return true;
        return false;
}

/* ---- JSON ---- */

enum {
        JSON_IN_OBJECT = 1u << 0,
        JSON_HAS_ITEMS = 1u << 1,
};

/* lossless: a backslash is doubled in the decoded text (names); otherwise
 * it stays one (text that is already escaped). */
static int json_quote(OutBuf *b, const char *str, size_t n, bool lossless) {
        const unsigned char *s = (const unsigned char *) str;
        size_t run = 0; /* start of bytes copied verbatim */
        size_t i = 0;

        outbuf_putc(b, '"');
        while (i < n) {
                unsigned char c = s[i];
                const char *esc = NULL;
                char hex[8];
                size_t len;

                if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
                        i++;
                        continue;
                }
                if (c >= 0x80) {
                        len = utf8_sequence_len(s + i, n - i);
                        if (len > 0) {
                                i += len;
                                continue;
                        }
                }
                switch (c) {
                case '"':
                        esc = "\\\"";
                        break;
                case '\\':
                        /* The escape character of the byte escapes below is
                         * itself escaped: a JSON string decodes to the bytes'
                         * text with every backslash doubled. */
                        esc = lossless ? "\\\\\\\\" : "\\\\";
                        break;
                case '\b':
                        esc = "\\b";
                        break;
                case '\f':
                        esc = "\\f";
                        break;
                case '\n':
                        esc = "\\n";
                        break;
                case '\r':
                        esc = "\\r";
                        break;
                case '\t':
                        esc = "\\t";
                        break;
                default:
                        if (c < 0x80)
                                snprintf(hex, sizeof hex, "\\u%04x", c);
                        else
                                /* Not UTF-8: the four characters \xHH (a JSON
                                 * "\\xHH"), never a character it could be
                                 * confused with. */
                                snprintf(hex, sizeof hex, "\\\\x%02x", c);
                        esc = hex;
                }
                outbuf_append(b, s + run, i - run);
                outbuf_puts(b, esc);
                i++;
                run = i;
        }
        outbuf_append(b, s + run, n - run);
        return outbuf_putc(b, '"');
}

int json_escape_append(OutBuf *b, const char *s, size_t n) {
        return json_quote(b, s, n, true);
}

int json_text_append(OutBuf *b, const char *s, size_t n) {
        return json_quote(b, s, n, false);
}

void json_init(JsonWriter *w, OutBuf *out) {
        *w = (JsonWriter){.out = out};
}

static int json_fail(JsonWriter *w, int error) {
        if (!w->error)
                w->error = error;
        return w->error;
}

/* Commas and the key/value discipline, before any value. */
static int json_before_value(JsonWriter *w) {
        uint8_t *top;

        if (w->error)
                return w->error;
        if (w->depth == 0)
                return w->done ? json_fail(w, -EINVAL) : 0;
        top = &w->stack[w->depth - 1];
        if (*top & JSON_IN_OBJECT) {
                if (!w->want_value)
                        return json_fail(w, -EINVAL);
                w->want_value = false;
                return 0;
        }
        if (*top & JSON_HAS_ITEMS)
                outbuf_putc(w->out, ',');
        *top |= JSON_HAS_ITEMS;
        return 0;
}

static int json_after_value(JsonWriter *w) {
        if (w->depth == 0)
                w->done = true;
        return json_error(w);
}

static int json_begin(JsonWriter *w, bool object) {
        int r = json_before_value(w);
        if (r < 0)
                return r;
        if (w->depth >= JSON_MAX_DEPTH)
                return json_fail(w, -E2BIG);
        w->stack[w->depth++] = object ? JSON_IN_OBJECT : 0;
        outbuf_putc(w->out, object ? '{' : '[');
        return json_error(w);
}

static int json_end(JsonWriter *w, bool object) {
        if (w->error)
                return w->error;
        if (w->depth == 0 || w->want_value || !!(w->stack[w->depth - 1] & JSON_IN_OBJECT) != object)
                return json_fail(w, -EINVAL);
        w->depth--;
        outbuf_putc(w->out, object ? '}' : ']');
        return json_after_value(w);
}

int json_object_begin(JsonWriter *w) {
        return json_begin(w, true);
}

int json_object_end(JsonWriter *w) {
        return json_end(w, true);
}

int json_array_begin(JsonWriter *w) {
        return json_begin(w, false);
}

int json_array_end(JsonWriter *w) {
        return json_end(w, false);
}

int json_key(JsonWriter *w, const char *key) {
        uint8_t *top;

        if (w->error)
                return w->error;
        if (!key || w->depth == 0 || w->want_value)
                return json_fail(w, -EINVAL);
        top = &w->stack[w->depth - 1];
        if (!(*top & JSON_IN_OBJECT))
                return json_fail(w, -EINVAL);
        if (*top & JSON_HAS_ITEMS)
                outbuf_putc(w->out, ',');
        *top |= JSON_HAS_ITEMS;
        json_escape_append(w->out, key, strlen(key));
        outbuf_putc(w->out, ':');
        w->want_value = true;
        return json_error(w);
}

/* A scalar already rendered to text. */
static int json_raw_value(JsonWriter *w, const char *text) {
        int r = json_before_value(w);
        if (r < 0)
                return r;
        outbuf_puts(w->out, text);
        return json_after_value(w);
}

int json_string_len(JsonWriter *w, const char *s, size_t n) {
        int r;

        if (!s)
                return json_null(w);
        r = json_before_value(w);
        if (r < 0)
                return r;
        json_escape_append(w->out, s, n);
        return json_after_value(w);
}

int json_string(JsonWriter *w, const char *s) {
        return json_string_len(w, s, s ? strlen(s) : 0);
}

int json_text(JsonWriter *w, const char *s) {
        int r;

        if (!s)
                return json_null(w);
        r = json_before_value(w);
        if (r < 0)
                return r;
        json_text_append(w->out, s, strlen(s));
        return json_after_value(w);
}

int json_field_text(JsonWriter *w, const char *key, const char *s) {
        int r = json_key(w, key);
        return r < 0 ? r : json_text(w, s);
}

int json_int(JsonWriter *w, int64_t v) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long) v);
        return json_raw_value(w, buf);
}

int json_uint(JsonWriter *w, uint64_t v) {
        char buf[32];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long) v);
        return json_raw_value(w, buf);
}

int json_bool(JsonWriter *w, bool v) {
        return json_raw_value(w, v ? "true" : "false");
}

int json_null(JsonWriter *w) {
        return json_raw_value(w, "null");
}

int json_field_string(JsonWriter *w, const char *key, const char *s) {
        int r = json_key(w, key);
        return r < 0 ? r : json_string(w, s);
}

int json_field_int(JsonWriter *w, const char *key, int64_t v) {
        int r = json_key(w, key);
        return r < 0 ? r : json_int(w, v);
}

int json_field_uint(JsonWriter *w, const char *key, uint64_t v) {
        int r = json_key(w, key);
        return r < 0 ? r : json_uint(w, v);
}

int json_field_bool(JsonWriter *w, const char *key, bool v) {
        int r = json_key(w, key);
        return r < 0 ? r : json_bool(w, v);
}

int json_finish(JsonWriter *w) {
        if (w->error)
                return w->error;
        if (!w->done)
                return json_fail(w, -EINVAL);
        outbuf_putc(w->out, '\n');
        return json_error(w);
}

/* ---- Terminal text ---- */

int text_escape_append(OutBuf *b, const char *str, size_t n) {
        const unsigned char *s = (const unsigned char *) str;
        size_t run = 0, i = 0;

        while (i < n) {
                unsigned char c = s[i];
                size_t len, bad = 1;
                char esc[12];

                if (c >= 0x20 && c < 0x7F && c != '\\') {
                        i++;
                        continue;
                }
                if (c >= 0x80) {
                        len = utf8_sequence_len(s + i, n - i);
                        /* U+0080..U+009F are C1 controls: escape both bytes. */
                        if (len == 2 && c == 0xC2 && s[i + 1] < 0xA0)
                                bad = 2;
                        else if (len > 0) {
                                uint32_t cp = utf8_decode(s + i, len);
                                if (unicode_format_char(cp)) {
                                        /* \uXXXX (\UXXXXXXXX past the BMP), as in C. */
                                        outbuf_append(b, s + run, i - run);
                                        if (cp > 0xFFFF)
                                                snprintf(esc, sizeof esc, "\\U%08x", cp);
                                        else
                                                snprintf(esc, sizeof esc, "\\u%04x", cp);
                                        outbuf_puts(b, esc);
                                        i += len;
                                        run = i;
                                        continue;
                                }
                                i += len;
                                continue;
                        }
                }
                outbuf_append(b, s + run, i - run);
                for (size_t k = 0; k < bad; k++, i++) {
                        switch (s[i]) {
                        case '\\':
                                outbuf_puts(b, "\\\\");
                                break;
                        case '\n':
                                outbuf_puts(b, "\\n");
                                break;
                        case '\t':
                                outbuf_puts(b, "\\t");
                                break;
                        case '\r':
                                outbuf_puts(b, "\\r");
                                break;
                        default:
                                snprintf(esc, sizeof esc, "\\x%02x", s[i]);
                                outbuf_puts(b, esc);
                        }
                }
                run = i;
        }
        return outbuf_append(b, s + run, n - run);
}

int text_sanitize_append(OutBuf *b, const char *str, size_t n) {
        const unsigned char *s = (const unsigned char *) str;
        size_t start = 0;

        /* Runs without a backslash go through text_escape_append; each
         * backslash is copied as it is, so escapes already in the text stay
         * single. */
        for (size_t i = 0; i <= n; i++) {
                if (i < n && s[i] != '\\')
                        continue;
                text_escape_append(b, str + start, i - start);
                if (i < n)
                        outbuf_putc(b, '\\');
                start = i + 1;
        }
        return outbuf_error(b);
}

char *text_escape(const char *s) {
        OutBuf b = OUTBUF_INIT;

        if (text_escape_append(&b, s, strlen(s)) < 0) {
                outbuf_done(&b);
                return NULL;
        }
        /* OutBuf keeps its data NUL-terminated; ownership moves to the caller. */
        return b.data ? b.data : strdup("");
}

size_t text_width(const char *s) {
        size_t w = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        w++;
        return w;
}

/* ---- Tables ---- */

void table_init(Table *t) {
        *t = (Table){0};
}

static int table_fail(Table *t, int error) {
        if (!t->error)
                t->error = error;
        return t->error;
}

/* Store an escaped copy of text in v, within the table's byte budget. */
static int table_store(Table *t, StrVec *v, const char *text) {
        char *e;
        size_t len;
        int r;

        if (t->error)
                return t->error;
        e = text_escape(text ? text : "-");
        if (!e)
                return table_fail(t, -ENOMEM);
        len = strlen(e);
        if (len + 1 > OUTBUF_MAX - t->bytes) {
                free(e);
                return table_fail(t, -ENOBUFS);
        }
        size_t column = v == &t->cells ? v->n % t->headers.n : v->n, w = text_width(e);
        r = strvec_push_take(v, e);
        if (r < 0)
                return table_fail(t, r);
        t->bytes += len + 1;
        if (w > t->widths[column])
                t->widths[column] = w;
        t->extra += len - w; /* UTF-8: more bytes than columns */
        return 0;
}

int table_add_column(Table *t, const char *header, TableAlign align) {
        if (t->error)
                return t->error;
        /* Columns are fixed once the first cell is in. */
        if (t->headers.n >= TABLE_MAX_COLUMNS || t->cells.n > 0 || !header)
                return table_fail(t, -EINVAL);
        t->align[t->headers.n] = align;
        return table_store(t, &t->headers, header);
}

int table_add_cell(Table *t, const char *text) {
        if (t->error)
                return t->error;
        if (t->headers.n == 0)
                return table_fail(t, -EINVAL);
        return table_store(t, &t->cells, text);
}

int table_add_cellf(Table *t, const char *fmt, ...) {
        _cleanup_(freep) char *s = NULL;
        va_list ap;
        int r;

        if (t->error)
                return t->error;
        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0) {
                s = NULL;
                return table_fail(t, -ENOMEM);
        }
        return table_add_cell(t, s);
}

size_t table_rows(const Table *t) {
        if (t->headers.n == 0)
                return 0;
        return (t->cells.n + t->headers.n - 1) / t->headers.n;
}

/* One line. Padding is held back until something visible follows it, so a
 * line never ends in spaces even when its last cells are empty. */
static void table_render_line(const Table *t, const size_t *widths, char *const *cells, size_t n_cells,
                              OutBuf *out) {
        size_t pending = 0;

        for (size_t i = 0; i < t->headers.n; i++) {
                const char *c = i < n_cells ? cells[i] : "";
                size_t w = text_width(c);

                if (i > 0)
                        pending += 2;
                if (t->align[i] == TABLE_RIGHT)
                        pending += widths[i] - w;
                if (*c) {
                        for (; pending > 0; pending--)
                                outbuf_putc(out, ' ');
                        outbuf_puts(out, c);
                }
                if (t->align[i] == TABLE_LEFT)
                        pending += widths[i] - w;
        }
        outbuf_putc(out, '\n');
}

size_t table_render_size(const Table *t) {
        size_t line = 1;

        for (size_t i = 0; i < t->headers.n; i++)
                line += t->widths[i] + 2;
        return (table_rows(t) + 1) * line + t->extra;
}

void table_drop_row(Table *t) {
        size_t n_cols = t->headers.n;

        if (n_cols == 0 || t->cells.n == 0)
                return;
        size_t keep = (table_rows(t) - 1) * n_cols;
        while (t->cells.n > keep) {
                char *c = t->cells.v[--t->cells.n];
                size_t len = strlen(c);
                t->bytes -= len + 1;
                t->extra -= len - text_width(c);
                free(c);
        }
        /* The row may have been the widest: the widths again, of what is left. */
        for (size_t i = 0; i < n_cols; i++)
                t->widths[i] = text_width(t->headers.v[i]);
        for (size_t i = 0; i < t->cells.n; i++) {
                size_t w = text_width(t->cells.v[i]);
                if (w > t->widths[i % n_cols])
                        t->widths[i % n_cols] = w;
        }
}

bool table_keep_row(Table *t, size_t room) {
        if (table_render_size(t) <= room)
                return true;
        table_drop_row(t);
        return false;
}

size_t outbuf_room(const OutBuf *b, size_t reserve) {
        size_t max = b->max ? b->max : OUTBUF_MAX;
        return b->len + reserve < max ? max - b->len - reserve : 0;
}

int table_render_part(const Table *t, OutBuf *out, size_t *next_row, size_t max_rows) {
        size_t n_cols = t->headers.n, rows = table_rows(t);

        if (t->error)
                return t->error;
        if (n_cols == 0)
                return 0;
        if (*next_row == 0)
                table_render_line(t, t->widths, t->headers.v, n_cols, out);
        for (size_t k = 0; k < max_rows && *next_row < rows; k++, (*next_row)++) {
                size_t first = *next_row * n_cols;
                size_t n = t->cells.n - first < n_cols ? t->cells.n - first : n_cols;
                table_render_line(t, t->widths, t->cells.v + first, n, out);
        }
        int r = outbuf_error(out);
        return r < 0 ? r : *next_row < rows;
}

int table_render_until(const Table *t, OutBuf *out, size_t *next_row, uint64_t until_usec) {
        int r;

        do
                r = table_render_part(t, out, next_row, 32);
        while (r > 0 && now_usec() < until_usec);
        return r;
}

int table_render(const Table *t, OutBuf *out) {
        size_t row = 0;
        int r = table_render_part(t, out, &row, SIZE_MAX);
        return r < 0 ? r : 0;
}

void table_done(Table *t) {
        strvec_done(&t->headers);
        strvec_done(&t->cells);
        table_init(t);
}
