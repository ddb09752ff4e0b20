/* SPDX-License-Identifier: MIT */
/* The control protocol between pinnerctl and pinnerd, on a SOCK_SEQPACKET
 * unix socket (message boundaries for free, one connection per request).
 *
 * Request: one datagram of at most CTL_MAX_REQUEST bytes:
 *
 *     "PINNERD1" NUL  flags-byte  verb NUL  arg NUL ...
 *
 * The verb is 1..CTL_MAX_VERB bytes of [a-z0-9-]; at most CTL_MAX_ARGS
 * arguments follow, each any bytes but NUL (possibly empty), each
 * NUL-terminated; nothing may follow the last NUL. Unknown flag bits are
 * rejected, so a newer client talking to an older daemon fails loudly.
 *
 * Reply: datagrams of at most CTL_MAX_CHUNK bytes, each a type byte and data:
 * 'O' data for stdout, 'E' data for stderr, and finally exactly one 'X'
 * followed by the exit code (0..255) in decimal without leading zeros, after
 * which the daemon closes the connection.
 *
 * The encoders and decoders are pure; the ctl_client_* helpers at the end are
 * the thin blocking socket layer pinnerctl (and the tests) talk through. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_MAGIC "PINNERD1" /* sent with its NUL */
#define CTL_MAGIC_LEN 9      /* sizeof(CTL_MAGIC) */
#define CTL_MAX_REQUEST 4096
#define CTL_MAX_CHUNK (32 * 1024)
#define CTL_MAX_ARGS 8 /* arguments after the verb */
#define CTL_MAX_VERB 32

#define CTL_FLAG_JSON 0x01u
#define CTL_FLAGS_KNOWN CTL_FLAG_JSON

#define CTL_CHUNK_STDOUT 'O'
#define CTL_CHUNK_STDERR 'E'
#define CTL_CHUNK_EXIT 'X'

/* Exit codes of pinnerctl, shared with the daemon's replies. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILED = 1,      /* rejected config, no such pid */
        CTL_EXIT_USAGE = 2,       /* bad usage, unknown verb, bad request */
        CTL_EXIT_UNREACHABLE = 3, /* daemon not reachable (client side only) */
        CTL_EXIT_DENIED = 4,      /* permission denied */
};

/* The verbs, in one table shared by pinnerctl (arguments, --help), the
 * server (which verbs need root) and the tests that hold the man page to it.
 * Arguments travel as the request's args: positional ones first, then each
 * verb option as "NAME=VALUE" (`list --rule vm` sends "rule=vm", `list 812`
 * sends "pid=812"). */
enum {
        CTL_OPT_RULE = 1u << 0,       /* --rule NAME (list) */
        CTL_OPT_THREAD = 1u << 1,     /* --thread TID (explain) */
        CTL_OPT_CONFIG_DIR = 1u << 2, /* --config-dir DIR (check, run by pinnerctl itself) */
        CTL_OPT_COMMAND = 1u << 3,    /* -- COMMAND [ARGS...] (run: pinnerctl executes it) */
        CTL_OPT_SAMPLE = 1u << 4,     /* --sample SECONDS (cpus, audit) */
};

typedef struct CtlVerbInfo {
        const char *name;
        const char *synopsis; /* what follows the verb, for usage and --help */
        const char *summary;  /* one line for --help */
        unsigned min_args, max_args;
        unsigned options; /* CTL_OPT_* it takes */
        bool needs_root;  /* changes the daemon's state */
        bool local;       /* runs in pinnerctl, without the daemon */
} CtlVerbInfo;

extern const CtlVerbInfo ctl_verb_table[];
extern const size_t ctl_verb_table_size;
/* The verb called name, or NULL. */
const CtlVerbInfo *ctl_verb_find(const char *name);

/* A decoded request. The strings point into the decoded buffer (which must
 * outlive this) and are NUL-terminated there. */
typedef struct CtlWireRequest {
        const char *verb;
        const char *args[CTL_MAX_ARGS];
        size_t n_args;
        unsigned flags;
} CtlWireRequest;

/* Is verb a well-formed verb name ([a-z0-9-]{1,CTL_MAX_VERB})? */
bool ctl_verb_valid(const char *verb);

/* Encode a request into buf[size]. -EINVAL for a bad verb, unknown flags or
 * more than CTL_MAX_ARGS args; -E2BIG when it would exceed CTL_MAX_REQUEST or
 * size. *ret_len untouched on failure. */
int ctl_request_encode(const char *verb, const char *const *args, size_t n_args, unsigned flags, void *buf,
                       size_t size, size_t *ret_len);
/* Strict decode: -EBADMSG for anything but a well-formed request as above,
 * -E2BIG when len exceeds CTL_MAX_REQUEST. *ret untouched on failure. */
int ctl_request_decode(const void *buf, size_t len, CtlWireRequest *ret);

typedef struct CtlChunk {
        char type;        /* CTL_CHUNK_* */
        const char *data; /* 'O'/'E': points into the decoded buffer, not NUL-terminated */
        size_t len;
        int exit_code; /* 'X' */
} CtlChunk;

/* One 'O' or 'E' chunk: type byte then data (at most CTL_MAX_CHUNK - 1
 * bytes). -EINVAL bad type, -E2BIG too much data or too small a buffer. */
int ctl_chunk_encode_data(char type, const void *data, size_t n, void *buf, size_t size, size_t *ret_len);
/* The final 'X' chunk; -EINVAL when code is outside 0..255. */
int ctl_chunk_encode_exit(int code, void *buf, size_t size, size_t *ret_len);
/* Strict decode of one reply datagram: -EBADMSG for an empty datagram, an
 * unknown type or a malformed exit code, -E2BIG past CTL_MAX_CHUNK. */
int ctl_chunk_decode(const void *buf, size_t len, CtlChunk *ret);

/* ---- Client side I/O (blocking, with timeouts) ---- */

/* Connect to the daemon's socket. Returns the fd (SOCK_CLOEXEC) or -errno:
 * -ENOENT/-ECONNREFUSED when nobody listens, -ENAMETOOLONG for a path that
 * does not fit sun_path. */
int ctl_client_connect(const char *path);
/* Encode and send one request. */
int ctl_client_send(int fd, const char *verb, const char *const *args, size_t n_args, unsigned flags);
/* Receive and decode the next reply chunk into buf (at least CTL_MAX_CHUNK
 * bytes); ret's data points into buf. Waits at most timeout_msec (-1 =
 * forever). -ETIMEDOUT on expiry, -ECONNRESET when the daemon closed the
 * connection before the 'X' chunk, -EBADMSG for a malformed chunk. */
int ctl_client_recv(int fd, void *buf, size_t size, int timeout_msec, CtlChunk *ret);
