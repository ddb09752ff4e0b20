/* SPDX-License-Identifier: MIT */
/* The control server's state, as its connections (ctlconn.c) see it and
 * the listening socket (ctlserver.c) keeps it. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "ctl/budget.h"
#include "ctl/ctlconn.h"

typedef struct CtlConn CtlConn;

struct CtlServer {
        sd_event *event;
        char *path;
        int fd;
        dev_t dev; /* of the socket inode we bound, to unlink only our own */
        ino_t ino;
        sd_event_source *listen_source;
        sd_event_source *backoff_source;
        CtlHandler handler;
        void *userdata;
        CtlConn *conns;
        size_t n_conns, n_root_conns;
        size_t max_connections;
        uint64_t request_timeout_usec;
        uint64_t drain_timeout_usec;
        CtlBudget budget; /* what non-root peers may cost */
};

/* A connection accepted on fd, registered with s. -EUSERS when the peer is
 * over its limit (the caller closes fd). Who it is goes to *ret_uid and
 * *ret_root as soon as it is known, refused or not: the caller charges what
 * taking it cost. */
int ctl_conn_new(CtlServer *s, int fd, uid_t *ret_uid, bool *ret_root);
/* Unregister c, close it and free what it holds (safe from its sources'
 * callbacks). */
void ctl_conn_free(CtlConn *c);
