/* SPDX-License-Identifier: MIT */
/* Configurations that load but can never work as written, found once every
 * file is read (the [pinnerd] section that decides `isolated` may come in a
 * later file): a `cpus` that can only name isolated CPUs in a rule that may
 * not use them, and a rule another one always beats. */
#pragma once

#include "rules/conf-loader.h"

/* Adds its diagnostics to the Loader, at the line they are about. */
void conf_lint(Loader *l);
