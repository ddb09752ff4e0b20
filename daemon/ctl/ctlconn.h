/* SPDX-License-Identifier: MIT */
/* What a control handler sees (CtlRequest) and fills (CtlReply), the
 * limits of the connections that carry them, and who may do what. One
 * connection's life, from request to reply, is ctlconn.c's; the socket they
 * come from is ctlserver.h's. */
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
