/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the control protocol (ctlproto.h). Every input is
 * used three ways:
 *
 * 1. as a request datagram, the bytes any local user can send the daemon:
 *    a decoded request must be well-formed (valid verb, known flags, every
 *    string inside the datagram and terminated), and, the decoder being
 *    strict, encoding it again must give back exactly the same bytes;
 * 2. as a reply chunk, the bytes pinnerctl reads: likewise, re-encoding a
 *    decoded chunk gives the same bytes ('X' codes have one spelling);
 * 3. as the parts of a request (flags byte, then NUL-separated verb and
 *    arguments) given to the encoder: what it accepts must decode to the
 *    same parts, and what it refuses must be refused for a stated reason.
 *
 * The decoders get a copy of exactly len bytes, so AddressSanitizer sees any
 * read past the datagram. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const uint8_t *data, size_t size) {
        uint8_t *buf = malloc(size ? size : 1);
        static char again[CTL_MAX_REQUEST];
        CtlWireRequest req;
        size_t len;

        if (!buf)
                return;
        memcpy(buf, data, size);
        int r = ctl_request_decode(buf, size, &req);
        if (r == 0) {
                const char *lo = (const char *) buf, *hi = lo + size;
                if (!ctl_verb_valid(req.verb) || (req.flags & ~CTL_FLAGS_KNOWN) || req.n_args > CTL_MAX_ARGS)
                        abort();
                if (req.verb < lo || req.verb >= hi)
                        abort();
                for (size_t i = 0; i < req.n_args; i++)
                        if (req.args[i] < lo || req.args[i] + strlen(req.args[i]) >= hi)
                                abort();
                if (ctl_request_encode(req.verb, req.args, req.n_args, req.flags, again, sizeof again,
                                       &len) != 0)
                        abort();
                if (len != size || memcmp(again, buf, size) != 0)
                        abort();
        } else if (r != -EBADMSG && !(r == -E2BIG && size > CTL_MAX_REQUEST))
                abort();
        free(buf);
}

static void check_chunk(const uint8_t *data, size_t size) {
        uint8_t *buf = malloc(size ? size : 1);
        static char again[CTL_MAX_CHUNK];
        CtlChunk ch;
        size_t len;
        int r;

        if (!buf)
                return;
        memcpy(buf, data, size);
        r = ctl_chunk_decode(buf, size, &ch);
        if (r == 0) {
                if (ch.type == CTL_CHUNK_EXIT) {
                        if (ch.exit_code < 0 || ch.exit_code > 255)
                                abort();
                        if (ctl_chunk_encode_exit(ch.exit_code, again, sizeof again, &len) != 0)
                                abort();
                } else {
                        if (ch.type != CTL_CHUNK_STDOUT && ch.type != CTL_CHUNK_STDERR)
                                abort();
                        if (ch.data != (const char *) buf + 1 || ch.len != size - 1)
                                abort();
                        if (ctl_chunk_encode_data(ch.type, ch.data, ch.len, again, sizeof again, &len) != 0)
                                abort();
                }
                if (len != size || memcmp(again, buf, size) != 0)
                        abort();
        } else if (r != -EBADMSG && !(r == -E2BIG && size > CTL_MAX_CHUNK))
                abort();
        free(buf);
}

/* flags byte, then verb NUL arg NUL ... (the last string may lack its NUL). */
static void check_encode_request(const uint8_t *data, size_t size) {
        static char buf[CTL_MAX_REQUEST], text[CTL_MAX_REQUEST * 2 + 2];
        const char *parts[CTL_MAX_ARGS + 2];
        size_t n = 0, len;
        CtlWireRequest req;
        unsigned flags;
        int r;

        if (size < 1 || size > sizeof text - 1)
                return;
        flags = data[0];
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        /* Up to one argument too many, to see it refused. */
        for (const char *p = text; p < text + size && n < CTL_MAX_ARGS + 2; p += strlen(p) + 1)
                parts[n++] = p;
        r = ctl_request_encode(parts[0], parts + 1, n - 1, flags, buf, sizeof buf, &len);
        if (r == 0) {
                if (ctl_request_decode(buf, len, &req) != 0)
                        abort();
                if (strcmp(req.verb, parts[0]) != 0 || req.n_args != n - 1 || req.flags != flags)
                        abort();
                for (size_t i = 0; i + 1 < n; i++)
                        if (strcmp(req.args[i], parts[i + 1]) != 0)
                                abort();
        } else if (r == -EINVAL) {
                if (ctl_verb_valid(parts[0]) && !(flags & ~CTL_FLAGS_KNOWN) && n - 1 <= CTL_MAX_ARGS)
                        abort(); /* refused with no reason */
        } else if (r != -E2BIG)
                abort();
}

static void check_encode_chunks(const uint8_t *data, size_t size) {
        static char buf[CTL_MAX_CHUNK];
        CtlChunk ch;
        size_t len;
        int r;

        /* Data chunks: any bytes up to the limit round-trip; more are refused. */
        r = ctl_chunk_encode_data(size && (data[0] & 1) ? CTL_CHUNK_STDERR : CTL_CHUNK_STDOUT, data, size,
                                  buf, sizeof buf, &len);
        if ((r == 0) != (size <= CTL_MAX_CHUNK - 1))
                abort();
        if (r == 0 && (ctl_chunk_decode(buf, len, &ch) != 0 || ch.len != size ||
                       (size && memcmp(ch.data, data, size) != 0)))
                abort();
        /* Exit chunks: every code in range round-trips, every other is refused. */
        if (size < 1)
                return;
        int code = (int) (int8_t) data[0] * 3;
        r = ctl_chunk_encode_exit(code, buf, sizeof buf, &len);
        if ((r == 0) != (code >= 0 && code <= 255))
                abort();
        if (r == 0 &&
            (ctl_chunk_decode(buf, len, &ch) != 0 || ch.type != CTL_CHUNK_EXIT || ch.exit_code != code))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 2 * CTL_MAX_CHUNK)
                return 0;
        check_request(data, size);
        check_chunk(data, size);
        check_encode_request(data, size);
        check_encode_chunks(data, size);
        return 0;
}
