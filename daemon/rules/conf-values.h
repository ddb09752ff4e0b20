/* SPDX-License-Identifier: MIT */
/* The value parsers keys of both sections share (conf-values.c). Each
 * returns 0 with *ret set, or -errno after an error naming the key and the
 * value was said on l (ret untouched). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "rules/conf-loader.h"

#define CONF_MAX_SECONDS 86400u /* rescan, verify */

/* yes or no (and the other words parse_boolean takes). */
int conf_value_bool(Loader *l, const char *key, const char *value, bool *ret);
/* 0 to CONF_MAX_SECONDS. */
int conf_value_seconds(Loader *l, const char *key, const char *value, unsigned *ret);
/* reapply, log or ignore. */
int conf_value_drift(Loader *l, const char *value, DriftAction *ret);
/* exclude (false) or allow (true). */
int conf_value_isolated(Loader *l, const char *value, bool *ret);
/* cpus terms; key: "cpus" or "avoid", as the user wrote it, for the
 * messages. CPUs this host lacks, or a term empty here, are warnings. */
int conf_value_cpus(Loader *l, const char *key, const char *value, CpuSpec *ret);
/* A user name or a uid. */
int conf_value_user(Loader *l, const char *value, uid_t *ret);
