/* SPDX-License-Identifier: MIT */
/* pinnerd.conf's key=value lines, each to its section's key table, into the
 * Loader; the sections' start and end are conf-sections.h's. */
#pragma once

#include "rules/conf-loader.h"

void conf_keys_handle(Loader *l, const char *key, const char *value);
/* After the last file: checks that span files (restore-at-stop). */
void conf_keys_finish(Loader *l);
