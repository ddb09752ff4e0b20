/* SPDX-License-Identifier: MIT */
/* pinnerd.conf from disk: the main file and the drop-in directory, with the
 * ownership, mode and size checks, each file handed to conf-ini.c. */
#pragma once

#include "rules/conf-loader.h"

void conf_load_file(Loader *l, const char *path, const ConfLoadOptions *o);
void conf_load_dir(Loader *l, const char *dir, const ConfLoadOptions *o);
