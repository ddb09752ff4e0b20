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

#include "ctl/ctlconn.h"

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
