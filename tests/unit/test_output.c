/* SPDX-License-Identifier: MIT */
/* output.c: buffers, JSON, terminal escaping and tables, with the hostile
 * strings /proc can hand us (comm holds any byte but NUL). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/util.h"

#include "lib/output.h"

typedef struct EscapeCase {
        const char *in;
        size_t len; /* 0 = strlen(in) */
        const char *json;
        const char *text;
} EscapeCase;

static const EscapeCase escape_cases[] = {
        {"", 0, "\"\"", ""},
        {"plain", 0, "\"plain\"", "plain"},
        /* The comm the brief names: quote, backslash, newline, C0, invalid byte. */
        {"a\"b\\c\n\x01\xff", 0, "\"a\\\"b\\\\\\\\c\\n\\u0001\\\\xff\"", "a\"b\\\\c\\n\\x01\\xff"},
        {"\b\f\r\t", 0, "\"\\b\\f\\r\\t\"", "\\x08\\x0c\\r\\t"},
        {"\x1b[31mred", 0, "\"\\u001b[31mred\"", "\\x1b[31mred"},
        {"del\x7f", 0, "\"del\\u007f\"", "del\\x7f"},
        {"a) b (c", 0, "\"a) b (c\"", "a) b (c"},
        {"CPU 0/KVM", 0, "\"CPU 0/KVM\"", "CPU 0/KVM"},
        {"0123456789abcde", 0, "\"0123456789abcde\"", "0123456789abcde"},
        /* Valid UTF-8 stays as it is: é, €, U+1F600. */
        {"caf\xc3\xa9", 0, "\"caf\xc3\xa9\"", "caf\xc3\xa9"},
        {"\xe2\x82\xac", 0, "\"\xe2\x82\xac\"", "\xe2\x82\xac"},
        {"\xf0\x9f\x98\x80", 0, "\"\xf0\x9f\x98\x80\"", "\xf0\x9f\x98\x80"},
        /* Invalid UTF-8, byte by byte: truncated, overlong, surrogate,
         * past U+10FFFF, stray continuation, 0xF5+. */
        {"x\xc3", 0, "\"x\\\\xc3\"", "x\\xc3"},
        {"\xc3(", 0, "\"\\\\xc3(\"", "\\xc3("},
        {"\xc0\xaf", 0, "\"\\\\xc0\\\\xaf\"", "\\xc0\\xaf"},
        {"\xe0\x80\xaf", 0, "\"\\\\xe0\\\\x80\\\\xaf\"", "\\xe0\\x80\\xaf"},
        {"\xed\xa0\x80", 0, "\"\\\\xed\\\\xa0\\\\x80\"", "\\xed\\xa0\\x80"},
        {"\xf4\x90\x80\x80", 0, "\"\\\\xf4\\\\x90\\\\x80\\\\x80\"", "\\xf4\\x90\\x80\\x80"},
        {"\x80", 0, "\"\\\\x80\"", "\\x80"},
        {"\xf5\xbf", 0, "\"\\\\xf5\\\\xbf\"", "\\xf5\\xbf"},
        /* C1 control U+009B (CSI on some terminals): valid UTF-8, fine in
         * JSON, escaped for terminals. */
        {"\xc2\x9b"
         "2J",
         0,
         "\"\xc2\x9b"
         "2J\"",
         "\\xc2\\x9b2J"},
        {"\xc2\xa0", 0, "\"\xc2\xa0\"", "\xc2\xa0"},
        /* Characters that hide or reorder text: escaped for people, exact in
         * JSON. U+202E RIGHT-TO-LEFT OVERRIDE, U+200B ZERO WIDTH SPACE,
         * U+2066 LEFT-TO-RIGHT ISOLATE, U+FEFF, U+00AD SOFT HYPHEN, U+2028
         * LINE SEPARATOR, U+E0041 TAG LATIN CAPITAL LETTER A; U+200A HAIR
         * SPACE (visible width) and U+2010 HYPHEN are not among them. */
        {"evil\xe2\x80\xaeKVM/0", 0, "\"evil\xe2\x80\xaeKVM/0\"", "evil\\u202eKVM/0"},
        {"a\xe2\x80\x8b"
         "b",
         0,
         "\"a\xe2\x80\x8b"
         "b\"",
         "a\\u200bb"},
        {"\xe2\x81\xa6x\xef\xbb\xbf", 0, "\"\xe2\x81\xa6x\xef\xbb\xbf\"", "\\u2066x\\ufeff"},
        {"soft\xc2\xad", 0, "\"soft\xc2\xad\"", "soft\\u00ad"},
        {"l\xe2\x80\xa8", 0, "\"l\xe2\x80\xa8\"", "l\\u2028"},
        {"\xf3\xa0\x81\x81", 0, "\"\xf3\xa0\x81\x81\"", "\\U000e0041"},
        {"\xe2\x80\x8a\xe2\x80\x90", 0, "\"\xe2\x80\x8a\xe2\x80\x90\"", "\xe2\x80\x8a\xe2\x80\x90"},
        /* Explicit length with an embedded NUL. */
        {"a\0b", 3, "\"a\\u0000b\"", "a\\x00b"},
};

START_TEST(test_json_escape_table) {
        const EscapeCase *c = &escape_cases[_i];
        size_t len = c->len ? c->len : strlen(c->in);
        OutBuf b = OUTBUF_INIT;

        ck_assert_int_eq(json_escape_append(&b, c->in, len), 0);
        ck_assert_str_eq(outbuf_str(&b), c->json);
        outbuf_done(&b);
}
END_TEST

START_TEST(test_text_escape_table) {
        const EscapeCase *c = &escape_cases[_i];
        size_t len = c->len ? c->len : strlen(c->in);
        OutBuf b = OUTBUF_INIT;

        ck_assert_int_eq(text_escape_append(&b, c->in, len), 0);
        ck_assert_str_eq(outbuf_str(&b), c->text);
        outbuf_done(&b);
}
END_TEST

START_TEST(test_text_escape_alloc) {
        char *s = text_escape("");
        ck_assert_ptr_nonnull(s);
        ck_assert_str_eq(s, "");
        free(s);
        s = text_escape("a\\b\n");
        ck_assert_str_eq(s, "a\\\\b\\n");
        free(s);
        ck_assert_uint_eq(text_width("caf\xc3\xa9"), 4);
        ck_assert_uint_eq(text_width(""), 0);
}
END_TEST

/* Every non-NUL byte value, alone and in a run: the escaped text must be a
 * valid JSON string that decodes to distinct values. Checked with jq when it
 * is installed (it is in the Makefile's DEPS). */
START_TEST(test_json_all_bytes_valid) {
        char path[] = "/tmp/pinnerd-test-json.XXXXXX";
        char all[256];
        OutBuf b = OUTBUF_INIT;
        JsonWriter w;
        FILE *f;
        int fd, st;

        json_init(&w, &b);
        json_array_begin(&w);
        for (int c = 1; c < 256; c++) {
                char one = (char) c;
                all[c - 1] = (char) c;
                json_string_len(&w, &one, 1);
        }
        json_string_len(&w, all, 255);
        json_array_end(&w);
        ck_assert_int_eq(json_finish(&w), 0);

        /* No raw control byte and no invalid UTF-8 may be left. */
        for (size_t i = 0; i < b.len - 1; i++)
                ck_assert((unsigned char) b.data[i] >= 0x20);

        if (system("command -v jq >/dev/null 2>&1") != 0) {
                outbuf_done(&b);
                return;
        }
        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        f = fdopen(fd, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(b.data, 1, b.len, f), b.len);
        fclose(f);
        char cmd[256];
        /* 256 strings, and the 255 single-byte ones are all different. */
        snprintf(cmd, sizeof cmd,
                 "jq -e 'length == 256 and (.[0:255] | unique | length) == 255' %s >/dev/null", path);
        st = system(cmd);
        unlink(path);
        ck_assert_int_eq(st, 0);
        outbuf_done(&b);
}
END_TEST

/* Undo json_escape_append as a reader would: decode the JSON string (the
 * escapes a JSON parser knows), then the two escapes of the decoded text
 * (\\ and \xHH). Returns the byte length, or -1 when the text is not in the
 * documented form. */
static int hexval(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static ssize_t json_lossless_decode(const char *j, size_t n, char *out, size_t size) {
        char text[4096];
        size_t t = 0, o = 0;

        if (n < 2 || j[0] != '"' || j[n - 1] != '"')
                return -1;
        for (size_t i = 1; i + 1 < n; i++) {
                char c = j[i];
                if (t + 1 >= sizeof text)
                        return -1;
                if (c != '\\') {
                        text[t++] = c;
                        continue;
                }
                c = j[++i];
                switch (c) {
                case '"':
                case '\\':
                case '/':
                        text[t++] = c;
                        break;
                case 'b':
                        text[t++] = '\b';
                        break;
                case 'f':
                        text[t++] = '\f';
                        break;
                case 'n':
                        text[t++] = '\n';
                        break;
                case 'r':
                        text[t++] = '\r';
                        break;
                case 't':
                        text[t++] = '\t';
                        break;
                case 'u': {
                        int v = 0;
                        for (int k = 1; k <= 4; k++) {
                                int h = hexval(j[i + k]);
                                if (h < 0)
                                        return -1;
                                v = v * 16 + h;
                        }
                        /* Only ASCII controls are written this way. */
                        if (v >= 0x80)
                                return -1;
                        text[t++] = (char) v;
                        i += 4;
                        break;
                }
                default:
                        return -1;
                }
        }
        for (size_t i = 0; i < t; i++) {
                if (o >= size)
                        return -1;
                if (text[i] != '\\') {
                        out[o++] = text[i];
                        continue;
                }
                if (i + 1 < t && text[i + 1] == '\\') {
                        out[o++] = '\\';
                        i++;
                } else if (i + 3 < t && text[i + 1] == 'x' && hexval(text[i + 2]) >= 0 &&
                           hexval(text[i + 3]) >= 0) {
                        out[o++] = (char) (hexval(text[i + 2]) * 16 + hexval(text[i + 3]));
                        i += 3;
                } else
                        return -1; /* a lone backslash: not what the writer makes */
        }
        return (ssize_t) o;
}

static void assert_roundtrip(const char *in, size_t n) {
        OutBuf b = OUTBUF_INIT;
        char back[1024];
        ssize_t m;

        ck_assert_int_eq(json_escape_append(&b, in, n), 0);
        m = json_lossless_decode(b.data, b.len, back, sizeof back);
        ck_assert_msg(m >= 0, "not in the documented form: %s", b.data);
        ck_assert_msg((size_t) m == n && memcmp(back, in, n) == 0, "%s does not decode to its input", b.data);
        /* Nothing but printable ASCII and valid UTF-8 in the JSON text. */
        for (size_t i = 0; i < b.len; i++)
                ck_assert((unsigned char) b.data[i] >= 0x20 && b.data[i] != 0x7f);
        outbuf_done(&b);
}

/* Every string of one and two bytes and the hostile classes decode back to
 * exactly their bytes: the mapping is injective, so 0xFF and U+00FF differ. */
START_TEST(test_json_lossless) {
        static const char *const hostile[] = {
                "\xff",
                "\xc3\xbf", /* byte 0xFF vs U+00FF */
                "\\xff",
                "\\\\xff", /* the escape written out as text */
                "\\",
                "\\\\",
                "\\x",
                "\\x4",
                "x\\",
                "\xc0\x80",
                "\xc1\xbf",
                "\xe0\x80\x80",
                "\xe0\x9f\xbf",
                "\xf0\x80\x80\x80", /* overlong */
                "\xf0\x8f\xbf\xbf", /* overlong */
                "\xed\xa0\x80",
                "\xed\xbf\xbf",
                "\xed\xa0\x80\xed\xb0\x80", /* surrogates */
                "\xf4\x90\x80\x80",
                "\xf7\xbf\xbf\xbf",
                "\xf8\x88\x80\x80\x80", /* too large */
                "\xe2\x82",
                "\xf0\x9f\x98",
                "\xc3",
                "\xe2",
                "a\xf0\x9f", /* truncated */
                "\x80\x80",
                "\xbf",
                "\xfe\xff",
                "\xef\xbb\xbf",
                "\xf4\x8f\xbf\xbf", /* stray, BOM, max */
                "a\"b\\c\n\x01\xff",
                "\xc2\x9b",
                "\xc2\x80\xc2\x9f",
        };
        OutBuf b = OUTBUF_INIT;

        for (unsigned c = 1; c < 256; c++) {
                char one = (char) c;
                assert_roundtrip(&one, 1);
        }
        for (unsigned c = 0; c < 65536; c++) {
                char two[2] = {(char) (c >> 8), (char) c};
                assert_roundtrip(two, 2);
        }
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++)
                assert_roundtrip(hostile[i], strlen(hostile[i]));

        /* The two the issue names, as a jq user sees them. */
        json_escape_append(&b, "\xff", 1);
        ck_assert_str_eq(outbuf_str(&b), "\"\\\\xff\"");
        outbuf_reset(&b);
        json_escape_append(&b, "\xc3\xbf", 2);
        ck_assert_str_eq(outbuf_str(&b), "\"\xc3\xbf\"");
        outbuf_done(&b);
}
END_TEST

/* The same strings through a real JSON parser: python3 decodes every one, and
 * the documented reverse mapping gives back the bytes. */
START_TEST(test_json_lossless_python) {
        char path[] = "/tmp/pinnerd-test-json.XXXXXX", cmd[4096];
        OutBuf b = OUTBUF_INIT, want = OUTBUF_INIT;
        JsonWriter w;
        FILE *f;
        int fd;

        if (system("command -v python3 >/dev/null 2>&1") != 0)
                return; /* make deps installs it; the C decoder above still ran */
        json_init(&w, &b);
        json_array_begin(&w);
        for (unsigned c = 0; c < 65536; c += 7) {
                unsigned char s[3] = {(unsigned char) (c >> 8), (unsigned char) c, (unsigned char) (c * 31)};
                json_string_len(&w, (const char *) s, 3);
                outbuf_printf(&want, "%02x%02x%02x\n", s[0], s[1], s[2]);
        }
        json_array_end(&w);
        ck_assert_int_eq(json_finish(&w), 0);
        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        f = fdopen(fd, "w");
        ck_assert_uint_eq(fwrite(b.data, 1, b.len, f), b.len);
        fclose(f);
        snprintf(cmd, sizeof cmd, "python3 %s/../unit/json-lossless.py %s",
                 getenv("PINNERD_FIXTURES") ?: "tests/fixtures", path);
        f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        OutBuf got = OUTBUF_INIT;
        char line[64];
        while (fgets(line, sizeof line, f))
                outbuf_puts(&got, line);
        int st = pclose(f);
        unlink(path);
        ck_assert_int_eq(st, 0);
        ck_assert_uint_eq(got.len, want.len);
        ck_assert(memcmp(got.data, want.data, want.len) == 0);
        outbuf_done(&got);
        outbuf_done(&want);
        outbuf_done(&b);
}
END_TEST

/* Reasons in JSON read as in text: escaped once, valid JSON. */
START_TEST(test_json_text) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                {"comm 'it\\'s' does not match", "\"comm 'it\\\\'s' does not match\""},
                {"a\"b\n", "\"a\\\"b\\n\""},
                {"\xff\x01", "\"\\\\xff\\u0001\""},
                {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                OutBuf b = OUTBUF_INIT;
                JsonWriter w;
                ck_assert_int_eq(json_text_append(&b, cases[i].in, strlen(cases[i].in)), 0);
                ck_assert_str_eq(outbuf_str(&b), cases[i].out);
                outbuf_reset(&b);
                json_init(&w, &b);
                json_object_begin(&w);
                json_field_text(&w, "why", cases[i].in);
                json_field_text(&w, "none", NULL);
                json_object_end(&w);
                ck_assert_int_eq(json_finish(&w), 0);
                outbuf_done(&b);
        }
}
END_TEST

/* Already escaped text (a reason quoting a value with \') passes once;
 * what escaped text cannot hold is still escaped. */
START_TEST(test_text_sanitize) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                {"comm 'it\\'s' does not match 'x'", "comm 'it\\'s' does not match 'x'"},
                {"a\\\\b", "a\\\\b"},
                {"line\nforged", "line\\nforged"},
                {"\x1b[2J\xff", "\\x1b[2J\\xff"},
                {"caf\xc3\xa9 \\x41", "caf\xc3\xa9 \\x41"},
                {"\\", "\\"},
                {"", ""},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                OutBuf b = OUTBUF_INIT;
                ck_assert_int_eq(text_sanitize_append(&b, cases[i].in, strlen(cases[i].in)), 0);
                ck_assert_str_eq(outbuf_str(&b), cases[i].out);
                outbuf_done(&b);
        }
}
END_TEST

START_TEST(test_json_nested) {
        OutBuf b = OUTBUF_INIT;
        JsonWriter w;

        json_init(&w, &b);
        ck_assert_int_eq(json_object_begin(&w), 0);
        json_key(&w, "a");
        json_array_begin(&w);
        json_int(&w, 1);
        json_int(&w, -2);
        json_object_begin(&w);
        json_key(&w, "b");
        json_null(&w);
        json_object_end(&w);
        json_array_begin(&w);
        json_array_end(&w);
        json_array_end(&w);
        json_field_bool(&w, "c", true);
        json_field_string(&w, "d", "x\ty");
        json_field_uint(&w, "e", UINT64_MAX);
        json_field_int(&w, "f", INT64_MIN);
        json_field_string(&w, "g", NULL);
        json_key(&w, "k\"ey");
        json_object_begin(&w);
        json_object_end(&w);
        ck_assert_int_eq(json_object_end(&w), 0);
        ck_assert_int_eq(json_finish(&w), 0);
        ck_assert_str_eq(outbuf_str(&b), "{\"a\":[1,-2,{\"b\":null},[]],\"c\":true,\"d\":\"x\\ty\","
                                         "\"e\":18446744073709551615,\"f\":-9223372036854775808,"
                                         "\"g\":null,\"k\\\"ey\":{}}\n");
        outbuf_done(&b);
}
END_TEST

START_TEST(test_json_scalar_top_level) {
        OutBuf b = OUTBUF_INIT;
        JsonWriter w;

        json_init(&w, &b);
        ck_assert_int_eq(json_string(&w, "x"), 0);
        ck_assert_int_eq(json_finish(&w), 0);
        ck_assert_str_eq(outbuf_str(&b), "\"x\"\n");
        outbuf_done(&b);
}
END_TEST

/* Misuse is reported, and sticks. */
typedef enum Misuse {
        KEY_IN_ARRAY,
        VALUE_WITHOUT_KEY,
        KEY_AT_TOP,
        KEY_TWICE,
        END_WRONG_KIND,
        END_AT_TOP,
        END_AFTER_KEY,
        SECOND_TOP_VALUE,
        UNFINISHED,
        NULL_KEY,
        _MISUSE_MAX,
} Misuse;

START_TEST(test_json_misuse) {
        OutBuf b = OUTBUF_INIT;
        JsonWriter w;
        int r = 0;

        json_init(&w, &b);
        switch ((Misuse) _i) {
        case KEY_IN_ARRAY:
                json_array_begin(&w);
                r = json_key(&w, "k");
                break;
        case VALUE_WITHOUT_KEY:
                json_object_begin(&w);
                r = json_int(&w, 1);
                break;
        case KEY_AT_TOP:
                r = json_key(&w, "k");
                break;
        case KEY_TWICE:
                json_object_begin(&w);
                json_key(&w, "a");
                r = json_key(&w, "b");
                break;
        case END_WRONG_KIND:
                json_object_begin(&w);
                r = json_array_end(&w);
                break;
        case END_AT_TOP:
                r = json_object_end(&w);
                break;
        case END_AFTER_KEY:
                json_object_begin(&w);
                json_key(&w, "a");
                r = json_object_end(&w);
                break;
        case SECOND_TOP_VALUE:
                json_int(&w, 1);
                r = json_int(&w, 2);
                break;
        case UNFINISHED:
                json_array_begin(&w);
                r = json_finish(&w);
                break;
        case NULL_KEY:
                json_object_begin(&w);
                r = json_key(&w, NULL);
                break;
        default:
                ck_abort();
        }
        ck_assert_int_eq(r, -EINVAL);
        /* Sticky: later correct calls keep failing. */
        ck_assert_int_eq(json_null(&w), -EINVAL);
        ck_assert_int_eq(json_finish(&w), -EINVAL);
        outbuf_done(&b);
}
END_TEST

START_TEST(test_json_depth_limit) {
        OutBuf b = OUTBUF_INIT;
        JsonWriter w;

        json_init(&w, &b);
        for (int i = 0; i < JSON_MAX_DEPTH; i++)
                ck_assert_int_eq(json_array_begin(&w), 0);
        ck_assert_int_eq(json_array_begin(&w), -E2BIG);
        ck_assert_int_eq(json_array_end(&w), -E2BIG);
        outbuf_done(&b);
}
END_TEST

START_TEST(test_outbuf_basic) {
        OutBuf b = OUTBUF_INIT;

        ck_assert_str_eq(outbuf_str(&b), "");
        ck_assert_int_eq(outbuf_puts(&b, "abc"), 0);
        ck_assert_int_eq(outbuf_putc(&b, '-'), 0);
        ck_assert_int_eq(outbuf_printf(&b, "%d:%s", 42, "x"), 0);
        ck_assert_str_eq(outbuf_str(&b), "abc-42:x");
        ck_assert_uint_eq(b.len, 8);
        /* Growth well past the first allocation. */
        for (int i = 0; i < 10000; i++)
                ck_assert_int_eq(outbuf_printf(&b, "%05d", i), 0);
        ck_assert_uint_eq(b.len, 8 + 50000);
        ck_assert_int_eq(memcmp(b.data + 8 + 5 * 9999, "09999", 5), 0);
        ck_assert_int_eq(b.data[b.len], '\0');
        outbuf_reset(&b);
        ck_assert_str_eq(outbuf_str(&b), "");
        ck_assert_uint_eq(b.len, 0);
        outbuf_done(&b);
        ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_outbuf_limit) {
        OutBuf b = OUTBUF_INIT;

        b.max = 10;
        ck_assert_int_eq(outbuf_puts(&b, "0123456789"), 0);
        ck_assert_int_eq(outbuf_putc(&b, 'x'), -ENOBUFS);
        /* Sticky, and what was there stays intact. */
        ck_assert_int_eq(outbuf_puts(&b, ""), -ENOBUFS);
        ck_assert_int_eq(outbuf_printf(&b, "%d", 1), -ENOBUFS);
        ck_assert_int_eq(outbuf_error(&b), -ENOBUFS);
        ck_assert_str_eq(outbuf_str(&b), "0123456789");
        outbuf_reset(&b);
        ck_assert_int_eq(outbuf_error(&b), 0);
        /* An append that does not fit is refused whole. */
        ck_assert_int_eq(outbuf_puts(&b, "01234"), 0);
        ck_assert_int_eq(outbuf_printf(&b, "%s", "abcdef"), -ENOBUFS);
        ck_assert_str_eq(outbuf_str(&b), "01234");
        outbuf_done(&b);
        ck_assert_uint_eq(b.max, 10);
}
END_TEST

START_TEST(test_outbuf_default_limit) {
        OutBuf b = OUTBUF_INIT;
        char *big = malloc(OUTBUF_MAX);

        ck_assert_ptr_nonnull(big);
        memset(big, 'a', OUTBUF_MAX);
        ck_assert_int_eq(outbuf_append(&b, big, OUTBUF_MAX), 0);
        ck_assert_int_eq(outbuf_putc(&b, 'a'), -ENOBUFS);
        ck_assert_uint_eq(b.len, OUTBUF_MAX);
        free(big);
        outbuf_done(&b);
}
END_TEST

START_TEST(test_table_alignment) {
        OutBuf b = OUTBUF_INIT;
        Table t;

        table_init(&t);
        ck_assert_int_eq(table_add_column(&t, "PID", TABLE_RIGHT), 0);
        table_add_column(&t, "COMM", TABLE_LEFT);
        table_add_column(&t, "CPUS", TABLE_LEFT);
        table_add_cell(&t, "1");
        table_add_cell(&t, "init");
        table_add_cell(&t, "0-3,8");
        table_add_cellf(&t, "%d", 12345);
        table_add_cell(&t, "a\nb");
        table_add_cell(&t, "2");
        table_add_cell(&t, "7");
        table_add_cell(&t, "caf\xc3\xa9s");
        table_add_cell(&t, NULL);
        ck_assert_uint_eq(table_rows(&t), 3);
        ck_assert_int_eq(table_render(&t, &b), 0);
        ck_assert_str_eq(outbuf_str(&b), "  PID  COMM   CPUS\n"
                                         "    1  init   0-3,8\n"
                                         "12345  a\\nb   2\n"
                                         "    7  caf\xc3\xa9s  -\n");
        table_done(&t);
        outbuf_done(&b);
}
END_TEST

/* Empty trailing cells and a short last row: no line ends in spaces. */
START_TEST(test_table_no_trailing_space) {
        OutBuf b = OUTBUF_INIT;
        Table t;

        table_init(&t);
        table_add_column(&t, "NAME", TABLE_LEFT);
        table_add_column(&t, "RULE", TABLE_LEFT);
        table_add_column(&t, "N", TABLE_RIGHT);
        table_add_cell(&t, "longer-name");
        table_add_cell(&t, "");
        table_add_cell(&t, "");
        table_add_cell(&t, "x");
        ck_assert_uint_eq(table_rows(&t), 2);
        ck_assert_int_eq(table_render(&t, &b), 0);
        ck_assert_str_eq(outbuf_str(&b), "NAME         RULE  N\n"
                                         "longer-name\n"
                                         "x\n");
        table_done(&t);
        outbuf_done(&b);
}
END_TEST

/* Rendered a few rows at a time, a table reads exactly as rendered whole:
 * the widths are the widest of every cell, not of the rows out so far. */
START_TEST(test_table_render_part) {
        OutBuf whole = OUTBUF_INIT, parts = OUTBUF_INIT;
        Table t;
        size_t row = 0;
        int r, calls = 0;

        table_init(&t);
        table_add_column(&t, "TID", TABLE_RIGHT);
        table_add_column(&t, "NAME", TABLE_LEFT);
        table_add_column(&t, "WHY", TABLE_LEFT);
        for (int i = 0; i < 10; i++) {
                table_add_cellf(&t, "%d", i == 9 ? 1234567 : i);
                table_add_cell(&t, i == 7 ? "a-much-longer-name" : "w");
                table_add_cell(&t, i == 3 ? NULL : "because");
        }
        ck_assert_int_eq(table_render(&t, &whole), 0);
        while ((r = table_render_part(&t, &parts, &row, 3)) > 0)
                calls++;
        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(calls, 3); /* rows 0-2, 3-5, 6-8 leave one; the fourth call ends */
        ck_assert_uint_eq(row, 10);
        ck_assert_str_eq(outbuf_str(&parts), outbuf_str(&whole));
        ck_assert_ptr_nonnull(strstr(outbuf_str(&whole), "      7  a-much-longer-name  because\n"));
        /* Nothing left: another call adds nothing. */
        ck_assert_int_eq(table_render_part(&t, &parts, &row, 3), 0);
        ck_assert_str_eq(outbuf_str(&parts), outbuf_str(&whole));
        table_done(&t);
        outbuf_done(&whole);
        outbuf_done(&parts);
}
END_TEST

/* table_render_size bounds what rendering appends; a row dropped again
 * leaves the table as if it had never been added, its widths too. */
START_TEST(test_table_size_and_drop) {
        OutBuf with = OUTBUF_INIT, without = OUTBUF_INIT;
        Table a;

        table_init(&a);
        table_add_column(&a, "PID", TABLE_RIGHT);
        table_add_column(&a, "NAME", TABLE_LEFT);
        table_add_cell(&a, "1");
        table_add_cell(&a, "init");
        table_add_cell(&a, "22");
        table_add_cell(&a, "a\tb");
        ck_assert_int_eq(table_render(&a, &with), 0);
        ck_assert_uint_ge(table_render_size(&a), with.len);
        ck_assert_uint_le(table_render_size(&a), with.len + 3 * 4); /* at most the padding of each line */
        table_add_cellf(&a, "%d", 1234567);
        table_add_cell(&a, "a-much-wider-name-than-the-others");
        ck_assert_uint_eq(table_rows(&a), 3);
        size_t wide = table_render_size(&a);
        table_drop_row(&a);
        ck_assert_uint_eq(table_rows(&a), 2);
        ck_assert_uint_lt(table_render_size(&a), wide);
        ck_assert_int_eq(table_render(&a, &without), 0);
        ck_assert_str_eq(outbuf_str(&without), outbuf_str(&with));
        /* table_keep_row: kept when it fits, taken out when not. */
        table_add_cell(&a, "3");
        table_add_cell(&a, "a-much-wider-name-than-the-others");
        ck_assert(table_keep_row(&a, SIZE_MAX));
        ck_assert_uint_eq(table_rows(&a), 3);
        size_t need = table_render_size(&a);
        ck_assert(!table_keep_row(&a, need - 1));
        ck_assert_uint_eq(table_rows(&a), 2);
        /* table_render_until: a piece even when the time is up already. */
        OutBuf part = OUTBUF_INIT;
        size_t row = 0;
        ck_assert_int_eq(table_render_until(&a, &part, &row, 0), 0); /* two rows: one piece */
        ck_assert_str_eq(outbuf_str(&part), outbuf_str(&with));
        outbuf_done(&part);
        /* A partly filled last row goes whole. */
        table_add_cell(&a, "9");
        table_drop_row(&a);
        ck_assert_uint_eq(table_rows(&a), 2);
        ck_assert_uint_eq(a.cells.n, 4);
        table_done(&a);
        outbuf_done(&with);
        outbuf_done(&without);

        /* UTF-8 cells are wider in bytes than in columns: still a bound. */
        OutBuf cjk = OUTBUF_INIT;
        table_init(&a);
        table_add_column(&a, "N", TABLE_LEFT);
        for (int i = 0; i < 100; i++)
                table_add_cell(&a, "\xe7\xba\xbf\xe7\xa8\x8b\xe7\xba\xbf\xe7\xa8\x8b\xe7\xba\xbf");
        ck_assert_int_eq(table_render(&a, &cjk), 0);
        ck_assert_uint_ge(table_render_size(&a), cjk.len);
        size_t before = table_render_size(&a);
        table_drop_row(&a);
        ck_assert_uint_eq(table_render_size(&a),
                          before - 8 - 10); /* a line of 5 columns + 2, its 10 extra bytes */
        outbuf_reset(&cjk);
        ck_assert_int_eq(table_render(&a, &cjk), 0);
        ck_assert_uint_ge(table_render_size(&a), cjk.len);
        table_done(&a);
        outbuf_done(&cjk);

        OutBuf small = {.max = 100};
        ck_assert_uint_eq(outbuf_room(&small, 0), 100);
        outbuf_puts(&small, "0123456789");
        ck_assert_uint_eq(outbuf_room(&small, 0), 90);
        ck_assert_uint_eq(outbuf_room(&small, 40), 50);
        ck_assert_uint_eq(outbuf_room(&small, 90), 0);
        ck_assert_uint_eq(outbuf_room(&small, 1000), 0);
        outbuf_done(&small);
}
END_TEST

START_TEST(test_table_errors) {
        OutBuf b = OUTBUF_INIT;
        Table t;

        table_init(&t);
        ck_assert_int_eq(table_add_cell(&t, "x"), -EINVAL);
        ck_assert_int_eq(table_render(&t, &b), -EINVAL);
        table_done(&t);

        table_init(&t);
        table_add_column(&t, "A", TABLE_LEFT);
        table_add_cell(&t, "x");
        /* Columns are fixed once cells are in. */
        ck_assert_int_eq(table_add_column(&t, "B", TABLE_LEFT), -EINVAL);
        table_done(&t);

        table_init(&t);
        for (int i = 0; i < TABLE_MAX_COLUMNS; i++)
                ck_assert_int_eq(table_add_column(&t, "C", TABLE_LEFT), 0);
        ck_assert_int_eq(table_add_column(&t, "C", TABLE_LEFT), -EINVAL);
        table_done(&t);

        /* A table with only headers renders its header line. */
        table_init(&t);
        table_add_column(&t, "PID", TABLE_RIGHT);
        table_add_column(&t, "COMM", TABLE_LEFT);
        ck_assert_int_eq(table_render(&t, &b), 0);
        ck_assert_str_eq(outbuf_str(&b), "PID  COMM\n");
        table_done(&t);
        outbuf_done(&b);
}
END_TEST

/* Declared for -Wmissing-prototypes without matching the runner's grep. */
extern Suite *output_suite(void);
Suite *output_suite(void) {
        Suite *s = suite_create("output");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_json_escape_table, 0, ELEMENTSOF(escape_cases));
        tcase_add_loop_test(tc, test_text_escape_table, 0, ELEMENTSOF(escape_cases));
        tcase_add_test(tc, test_text_escape_alloc);
        tcase_add_test(tc, test_json_all_bytes_valid);
        tcase_add_test(tc, test_json_lossless);
        tcase_add_test(tc, test_json_lossless_python);
        tcase_add_test(tc, test_text_sanitize);
        tcase_add_test(tc, test_json_text);
        tcase_add_test(tc, test_json_nested);
        tcase_add_test(tc, test_json_scalar_top_level);
        tcase_add_loop_test(tc, test_json_misuse, 0, _MISUSE_MAX);
        tcase_add_test(tc, test_json_depth_limit);
        tcase_add_test(tc, test_outbuf_basic);
        tcase_add_test(tc, test_outbuf_limit);
        tcase_add_test(tc, test_outbuf_default_limit);
        tcase_add_test(tc, test_table_alignment);
        tcase_add_test(tc, test_table_no_trailing_space);
        tcase_add_test(tc, test_table_errors);
        tcase_add_test(tc, test_table_render_part);
        tcase_add_test(tc, test_table_size_and_drop);
        suite_add_tcase(s, tc);
        return s;
}
