/* SPDX-License-Identifier: MIT */
/* The key tables and value parsers of pinnerd.conf: every key=value line,
 * and the start and end of sections, into the Loader. */
#pragma once

#include "rules/conf-loader.h"

void conf_keys_handle(Loader *l, const char *key, const char *value);
void conf_keys_begin_settings(Loader *l);
/* header is the section header as written, for messages. */
void conf_keys_begin_rule(Loader *l, const char *name, const char *header);
void conf_keys_end_section(Loader *l);
/* After the last file: checks that span files (restore-at-stop). */
void conf_keys_finish(Loader *l);
