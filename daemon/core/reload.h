/* SPDX-License-Identifier: MIT */
/* Reading the configuration: whole or not at all. At start it is read once;
 * a reload reads it again and, only when every file is valid, swaps it in
 * and re-plans every thread. On any error nothing changes and every error is
 * said, with its file:line. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/reconcile.h"
#include "lib/util.h"
#include "rules/conf.h"

/* Where the configuration comes from. */
typedef struct ConfigSource {
        const char *path; /* the main file */
        const char *dir;  /* its drop-in directory, NULL = none */
        bool check_owner; /* refuse files not owned by root (off for tests only) */
} ConfigSource;

/* What a reload did, for `pinnerctl reload` (text or JSON). */
typedef struct ReloadResult {
        bool ok;
        size_t n_rules;
        uint64_t changed, restored;
        char *summary;    /* "reloaded: N rules, M threads changed, K restored" */
        ConfDiags diags;  /* errors and warnings, by file and line; the files read */
        StrVec unmatched; /* rules no running thread matches, after the re-plan */
} ReloadResult;
void reload_result_done(ReloadResult *r);

/* Read and validate every file, logging each diagnostic (warnings too);
 * ret_diags (may be NULL) gets them. 0, or -EINVAL. */
int reload_read(Reconciler *rc, const ConfigSource *src, Config **ret, ConfDiags *ret_diags);
/* Re-read the host and the configuration; on success swap it in and
 * re-plan every thread (a reload record, naming rules that match nothing),
 * else keep the old one (a reload-failed record). ret (may be NULL) gets
 * what happened. 0 or -EINVAL. */
int reload_apply(Reconciler *rc, const ConfigSource *src, ReloadResult *ret);

/* Threads per rule of the configuration, in one walk of the table: all the
 * threads a rule matched (pinned or skipped), or only those it holds pinned.
 * calloc'd, config->n_rules entries; NULL on ENOMEM. */
size_t *reload_rule_counts(const Reconciler *rc, bool pinned_only);
/* The names of rules no thread matches now (every task rule with no entry). */
int reload_unmatched_rules(const Reconciler *rc, StrVec *ret);
