/* SPDX-License-Identifier: MIT */
/* The start and end of pinnerd.conf's sections (conf-sections.c). */
#pragma once

#include "rules/conf-loader.h"

void conf_section_begin_settings(Loader *l);
/* header is the section header as written, for messages. */
void conf_section_begin_rule(Loader *l, const char *name, const char *header);
/* The section ends: a rule's checks that need all its keys. */
void conf_section_end(Loader *l);
