/* SPDX-License-Identifier: MIT */
/* The manager owns the daemon's state and its sd-event loop. Data flows one
 * way: event or scan → task identity → facts → rule → plan → apply → state and
 * journal. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "lib/log.h"
#include "lib/util.h"

typedef struct ManagerOptions {
        const char *config_path;
        const char *config_dir;
        const char *root;        /* "/" or a captured tree (implies dry_run) */
        const char *socket_path; /* NULL = no control socket */
        bool dry_run;
        bool once;
        bool check_owner; /* refuse config files not owned by root */
} ManagerOptions;

typedef struct Manager Manager;

/* Exit codes shared by main.c (SPEC: 0 ok, 1 bad config, 3 runtime failure). */
enum { EXIT_CONFIG = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

/* Load the host and the configuration. Returns 0, or an exit code after
 * logging every problem. */
int manager_new(const ManagerOptions *opt, Logger *log, Manager **ret);
/* Before anything is touched: the event loop, the run-time directory and
 * the instance lock, so a second pinnerd stops here. Returns 0 or an exit
 * code. The control server is attached to manager_event() after this. */
int manager_claim(Manager *m);
sd_event *manager_event(Manager *m);
/* Subscribe to events, first scan and apply, then READY=1. Returns 0 or an
 * exit code. */
int manager_start(Manager *m);
/* Run until SIGTERM/SIGINT; returns the exit code. */
int manager_run(Manager *m);
/* At stop: restore original masks (restore = yes), STOPPING=1 and a
 * stopping record; nothing when the first scan never ran. */
void manager_stop(Manager *m);
void manager_free(Manager *m);

/* For the control verbs. */
/* Re-read the config (RELOADING=1 … READY=1 around it); on success swap and
 * reconcile. ret (may be NULL) gets what happened (reload.h). 0 or -EINVAL. */
struct ReloadResult;
int manager_reload(Manager *m, struct ReloadResult *ret);
/* A full rescan now, its originals saved. */
void manager_rescan(Manager *m, const char *why);
/* "proc-connector", "polling", or "single scan" (--once). */
const char *manager_event_source(const Manager *m);
