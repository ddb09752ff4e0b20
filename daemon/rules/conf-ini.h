/* SPDX-License-Identifier: MIT */
/* The INI syntax of pinnerd.conf, through libinih: one physical line at a
 * time, section headers, and the lines inih cannot take. */
#pragma once

#include "rules/conf-loader.h"

/* Parse one file's text (NUL-free, len bytes) as l->file. */
void conf_ini_parse(Loader *l, const char *text, size_t len);
