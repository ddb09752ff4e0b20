/* SPDX-License-Identifier: MIT */
/* The daemon side of the control socket (protocol: ctlproto.h), on sd-event.
 *
 * One request per connection. The server reads the request, refuses verbs
 * that change state to anyone but uid 0 (SO_PEERCRED), calls the handler
 * synchronously, then streams the reply in chunks as the client reads, so a
 * slow or stuck client never blocks the daemon. Clients that send nothing
 * within the request timeout (5 s) or do not drain their reply within the
 * drain timeout (30 s) are dropped.
 *
 * Root is always served: root's connections have a pool of their own
 * (CTL_SERVER_MAX_ROOT_CONNECTIONS). Everyone else shares
 * CTL_SERVER_MAX_CONNECTIONS, at most CTL_SERVER_MAX_PER_UID per uid; the
 * peer's credentials are read at accept (its view of /proc, peer.h, a slice
 * at a time once it asks), and a connection over a limit is
 * closed at once. A non-root reply is at most CTL_SERVER_UNPRIV_REPLY_MAX
 * bytes. A handler with much to do works in slices (CtlReply.step) between
 * which the loop serves events, so no request holds it for long; and
 * non-root requests and slices wait their turn so that each uid, and all
 * non-root peers together, stay within a share of a CPU (budget.h). Taking
 * a connection is charged too, and accepting pauses while non-root peers
 * are over their share: a loop of bare connects buys no more than requests
 * do. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "ctl/peer.h"
#include "lib/output.h"

#define CTL_SERVER_MAX_CONNECTIONS 64
#define CTL_SERVER_MAX_ROOT_CONNECTIONS 64
#define CTL_SERVER_MAX_PER_UID 4
#define CTL_SERVER_UNPRIV_REPLY_MAX ((size_t) 1024 * 1024)
/* What one slice of a stepped handler should stay under. */
#define CTL_STEP_BUDGET_USEC 200

#define CTL_SERVER_REQUEST_TIMEOUT_USEC (5 * 1000000ULL)
#define CTL_SERVER_DRAIN_TIMEOUT_USEC (30 * 1000000ULL)

typedef struct CtlServer CtlServer;

/* What the handler sees. Strings live until the handler returns. */
typedef struct CtlRequest {
        const char *verb;
        const char *const *args;
        size_t n_args;
        bool json;
        uid_t uid; /* of the peer, from SO_PEERCRED */
        pid_t pid;
        bool privileged;       /* ctl_request_privileged() */
        const PeerCreds *peer; /* what the peer may see (peer.h), taken at connect */
} CtlRequest;

/* What the handler fills: text for the client's stdout and stderr, and its
 * exit code (0..255, CTL_EXIT_* in ctlproto.h). Both buffers start empty
 * and exit_code 0. */
typedef struct CtlReply {
        OutBuf out;
        OutBuf err;
        int exit_code;
        /* Set by a handler whose work does not fit one slice: the server
         * calls step(userdata, step_state, reply) from a low-priority source
         * until it returns 0 (done) or -errno (failed, as for the handler),
         * each call doing about CTL_STEP_BUDGET_USEC of work (> 0: more to
         * do). step_free(step_state) is called when the connection ends. */
        int (*step)(void *userdata, void *state, struct CtlReply *reply);
        void *step_state;
        void (*step_free)(void *state);
        /* Set by a step that returns > 0 to be called again only this many
         * microseconds later (a sample over time, `audit --sample`): the
         * loop serves everything else meanwhile. Read and cleared by the
         * server; at most CTL_STEP_MAX_DELAY_USEC. */
        uint64_t step_delay_usec;
} CtlReply;

#define CTL_STEP_MAX_DELAY_USEC (60 * 1000000ULL)

/* Answers one request, including unknown verbs (CTL_EXIT_USAGE, "unknown
 * verb"). A negative return is an internal failure: the server adds
 * "pinnerd: VERB: <strerror>" to stderr and makes the exit code 1. A reply
 * whose buffers overflowed (OUTBUF_MAX) is sent truncated with a note on
 * stderr and exit code 1. */
typedef int (*CtlHandler)(void *userdata, const CtlRequest *req, CtlReply *reply);

/* Verbs that change state and need uid 0: "reload", "rescan". */
bool ctl_verb_needs_root(const char *verb);
/* The peer is root. */
bool ctl_request_privileged(const CtlRequest *req);

/* Listen on path: create its parent directory (0755) when missing, replace
 * a stale socket nobody answers on, refuse (-EADDRINUSE, "another pinnerd
 * is running on PATH") when a live one answers, bind, chmod 0666, listen.
 * On failure *ret is untouched and *ret_error (malloc'd, may be NULL on
 * ENOMEM) says what went wrong. */
int ctl_server_new(sd_event *e, const char *path, CtlHandler handler, void *userdata, CtlServer **ret,
                   char **ret_error);
/* Drop every connection, close the socket and unlink the path if it is still
 * ours. NULL is fine. */
void ctl_server_free(CtlServer *s);
static inline void ctl_server_freep(CtlServer **s) {
        ctl_server_free(*s);
}

/* Open client connections (for status and tests). */
size_t ctl_server_connections(const CtlServer *s);
/* For tests: shorter timeouts (0 keeps the current one) and a lower
 * limit for non-root connections (0 keeps it). Applies to connections
 * accepted later. */
void ctl_server_set_limits(CtlServer *s, uint64_t request_timeout_usec, uint64_t drain_timeout_usec,
                           size_t max_connections);
