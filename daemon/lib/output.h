/* SPDX-License-Identifier: MIT */
/* Rendering for people and for programs: a bounded growable text buffer, a
 * JSON writer on top of it, a C-style escaper for terminal text, and an
 * aligned-columns table. Everything here is pure (no I/O), so the daemon
 * answers status/list/explain through one tested path.
 *
 * Strings from /proc (comm, cmdline, cgroup paths) can hold any byte but NUL.
 * Both renderers keep valid UTF-8 as it is and escape everything else, so the
 * output is always valid JSON / harmless on a terminal and distinct byte
 * strings stay distinct (both escape their escape character). */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* A reply the daemon builds can never grow past this: 16 MiB is far more than
 * `list` needs for 100k threads (~150 bytes each) and bounds what one request
 * can make the daemon allocate. */
#define OUTBUF_MAX ((size_t) 16 * 1024 * 1024)

/* A growable byte buffer, always NUL-terminated once anything was appended.
 * Errors are sticky: after the first failure every append is a no-op that
 * returns the same error, so a renderer can append freely and check once. */
typedef struct OutBuf {
        char *data;
        size_t len, cap;
        size_t max; /* bytes allowed; 0 = OUTBUF_MAX */
        int error;  /* first failure: -ENOMEM, or -ENOBUFS past max */
} OutBuf;

#define OUTBUF_INIT ((OutBuf){0})

/* Each append is all or nothing; returns 0 or the (sticky) -errno. */
int outbuf_append(OutBuf *b, const void *data, size_t n);
int outbuf_puts(OutBuf *b, const char *s);
int outbuf_putc(OutBuf *b, char c);
int outbuf_printf(OutBuf *b, const char *fmt, ...) _printf_(2, 3);
int outbuf_vprintf(OutBuf *b, const char *fmt, va_list ap) _printf_(2, 0);
/* Forget the contents and the error, keep the memory. */
void outbuf_reset(OutBuf *b);
void outbuf_done(OutBuf *b);
/* The contents as a C string; "" when empty. */
const char *outbuf_str(const OutBuf *b);
/* Bytes that may still be appended before max, leaving reserve bytes (0
 * when not even the reserve is left). */
size_t outbuf_room(const OutBuf *b, size_t reserve);
static inline int outbuf_error(const OutBuf *b) {
        return b->error;
}

/* ---- JSON (RFC 8259) ---- */

#define JSON_MAX_DEPTH 32

/* Writes compact JSON into an OutBuf. Commas and the key/value order are
 * tracked on a small nesting stack; misuse (a value without a key inside an
 * object, a key inside an array, unbalanced ends, a second top-level value)
 * is a sticky -EINVAL, nesting past JSON_MAX_DEPTH a sticky -E2BIG. */
typedef struct JsonWriter {
        OutBuf *out;
        unsigned depth;
        uint8_t stack[JSON_MAX_DEPTH]; /* per level: JSON_* flags (output.c) */
        bool want_value;               /* a key was written; its value is next */
        bool done;                     /* the top-level value is complete */
        int error;
} JsonWriter;

void json_init(JsonWriter *w, OutBuf *out);
int json_object_begin(JsonWriter *w);
int json_object_end(JsonWriter *w);
int json_array_begin(JsonWriter *w);
int json_array_end(JsonWriter *w);
int json_key(JsonWriter *w, const char *key);
int json_string(JsonWriter *w, const char *s); /* NULL writes null */
int json_string_len(JsonWriter *w, const char *s, size_t n);
int json_int(JsonWriter *w, int64_t v);
int json_uint(JsonWriter *w, uint64_t v);
int json_bool(JsonWriter *w, bool v);
int json_null(JsonWriter *w);
/* key + value in one call, for the common object member. */
int json_field_string(JsonWriter *w, const char *key, const char *s);
/* The same for already escaped text (json_text_append); NULL writes null. */
int json_text(JsonWriter *w, const char *s);
int json_field_text(JsonWriter *w, const char *key, const char *s);
int json_field_int(JsonWriter *w, const char *key, int64_t v);
int json_field_uint(JsonWriter *w, const char *key, uint64_t v);
int json_field_bool(JsonWriter *w, const char *key, bool v);
/* Check that the document is complete and append a newline. Returns 0 or the
 * first error of the writer or its buffer. */
int json_finish(JsonWriter *w);
static inline int json_error(const JsonWriter *w) {
        return w->error ? w->error : w->out->error;
}

/* Append s[0..n) as a quoted JSON string, losslessly: valid UTF-8 as it is
 * (\" \\ \b \f \n \r \t and \u00XX for the other C0 bytes and DEL, as
 * JSON requires), and two escapes in the decoded text itself: a backslash
 * becomes two backslashes, and each byte that is not part of a valid UTF-8
 * sequence becomes the four characters \xHH (lower-case hex). The decoded
 * string holds a backslash only as "\\" or "\xHH", so distinct byte strings
 * give distinct JSON strings (0xFF is "\\xff", U+00FF is "ÿ"), and
 * `printf '%b'` or a one-line regex turns it back into the bytes. This is
 * the C-style convention of text_escape_append for the two escapes it uses. */
int json_escape_append(OutBuf *b, const char *s, size_t n);
/* Text that is already escaped for people (a reason, an error quoting values
 * with conf_escape) as a JSON string: JSON's own escapes, a backslash stays
 * one, so it decodes to the same text the plain output shows. Bytes that are
 * not UTF-8 (escaped text holds none) become the text \xHH. Not lossless by
 * design: names and other raw bytes go through json_escape_append. */
int json_text_append(OutBuf *b, const char *s, size_t n);

/* ---- Text for terminals ---- */

/* Append s[0..n) escaped C-style: \\ \n \t \r, \xHH for every other
 * control byte (C0, DEL, and the C1 controls U+0080..U+009F, which some
 * terminals obey) and every byte that is not valid UTF-8, and \uXXXX (or
 * \UXXXXXXXX) for characters that are invisible or reorder text (Unicode
 * format characters such as U+202E RIGHT-TO-LEFT OVERRIDE and U+200B ZERO
 * WIDTH SPACE, and U+2028/U+2029). Printable ASCII and other valid UTF-8 are
 * copied as they are. */
int text_escape_append(OutBuf *b, const char *s, size_t n);
/* For text that is already escaped (a message whose values were quoted with
 * an escaper): like text_escape_append, but a backslash is copied as it is,
 * so existing escapes are not escaped a second time. Control bytes and
 * invalid UTF-8, which escaped text never holds, are still escaped, so the
 * result is always harmless on a terminal. */
int text_sanitize_append(OutBuf *b, const char *s, size_t n);
/* The same into a new string; NULL on ENOMEM. */
char *text_escape(const char *s);
/* Columns a string of printable ASCII / valid UTF-8 takes: one per code point
 * (wide CJK characters are counted as one; the daemon renders without
 * knowing the client's locale). */
size_t text_width(const char *s);

/* ---- Aligned tables ---- */

#define TABLE_MAX_COLUMNS 32

typedef enum TableAlign {
        TABLE_LEFT,
        TABLE_RIGHT,
} TableAlign;

/* Columns are declared first; cells are then added row-major and wrap to the
 * next row after the last column. Cells are escaped with text_escape on the
 * way in. Rendering pads every column to its widest cell with two spaces
 * between columns; a left-aligned last column is not padded and no line
 * ends in padding. Errors are sticky like OutBuf's; the total stored text is
 * bounded by OUTBUF_MAX. */
typedef struct Table {
        StrVec headers;
        TableAlign align[TABLE_MAX_COLUMNS];
        StrVec cells;
        size_t widths[TABLE_MAX_COLUMNS]; /* the widest cell of each column so far, in columns */
        size_t extra;                     /* bytes of all cells past their columns (UTF-8) */
        size_t bytes;
        int error;
} Table;

void table_init(Table *t);
int table_add_column(Table *t, const char *header, TableAlign align);
/* NULL is shown as "-". Adding a cell before any column is -EINVAL. */
int table_add_cell(Table *t, const char *text);
int table_add_cellf(Table *t, const char *fmt, ...) _printf_(2, 3);
/* Complete rows so far (a partly filled last row counts). */
size_t table_rows(const Table *t);
/* Header line, then each row; a partly filled last row is padded with empty
 * cells. Returns 0 or -errno (the table's error first). */
int table_render(const Table *t, OutBuf *out);
/* What table_render would append, at most (lines are not padded at their
 * end, so they may be shorter). */
size_t table_render_size(const Table *t);
/* Take the last row out again (a partly filled one too), and the column
 * widths with it: for a row that turns out not to fit. O(cells). */
void table_drop_row(Table *t);
/* Whether the table, its last row added, still renders within room bytes;
 * if not, that row is taken out again (table_drop_row) and false. */
bool table_keep_row(Table *t, size_t room);
/* The same a piece at a time, for a long table rendered in slices: the
 * header when *next_row is 0, then at most max_rows rows from *next_row,
 * which moves on. Returns 1 while rows remain, 0 when the last is out,
 * -errno. Cells added in between widen later rows only: add them all
 * first. */
int table_render_part(const Table *t, OutBuf *out, size_t *next_row, size_t max_rows);
/* table_render_part a few rows at a time until the rows are out (0) or the
 * monotonic clock (now_usec) passes until_usec (1); -errno. */
int table_render_until(const Table *t, OutBuf *out, size_t *next_row, uint64_t until_usec);
void table_done(Table *t);
