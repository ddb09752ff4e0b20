/* SPDX-License-Identifier: MIT */
/* Reading the configuration: whole or not at all. At start it is read once;
 * a reload reads it again and, only when every file is valid, swaps it in
 * and re-plans every thread. On any error nothing changes and every error is
 * said, with its file:line. */
#pragma once

#include <stdbool.h>

#include "core/reconcile.h"
#include "lib/util.h"
#include "rules/conf.h"

/* Where the configuration comes from. */
typedef struct ConfigSource {
        const char *path; /* the main file */
        const char *dir;  /* its drop-in directory */
        bool check_owner; /* refuse files not owned by root (off for tests only) */
} ConfigSource;

/* Read and validate every file, logging each diagnostic (warnings too);
 * errors (may be NULL) also gets each error line. 0, or -EINVAL. */
int reload_read(Reconciler *rc, const ConfigSource *src, Config **ret, StrVec *errors);
/* Re-read the host and the configuration; on success swap it in and
 * re-plan every thread (a reload record), else keep the old one (a
 * reload-failed record). ret_summary (may be NULL) gets the one-line
 * result, ret_errors (may be NULL) every error. 0 or -EINVAL. */
int reload_apply(Reconciler *rc, const ConfigSource *src, char **ret_summary, StrVec *ret_errors);
