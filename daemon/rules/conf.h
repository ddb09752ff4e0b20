/* SPDX-License-Identifier: MIT */
/* pinnerd.conf: parsed with libinih into a fresh Config (config.h),
 * validated whole; every problem named with its file:line. */
#pragma once

#include <stdio.h>

#include "rules/config.h"

/* Parse and validate. Returns 0 with *ret set when there were no errors
 * (warnings may be in diags); -EINVAL when diags holds at least one error,
 * *ret untouched; other -errno on allocation failure. */
int conf_load(const ConfLoadOptions *opts, Config **ret, ConfDiags *diags);
/* Same, for one in-memory text (fuzzing, unit tests); `name` is the file name
 * used in messages. */
int conf_load_string(const char *text, const char *name, const CpuSet *possible, Config **ret,
                     ConfDiags *diags);
/* Validate a configuration without a daemon, for `pinnerd --check` and
 * `pinnerctl check`: prints "configuration OK: N rules" to out (warnings to
 * err), or every diagnostic to err. File ownership is enforced when run as
 * root (what the daemon would see) and only warned about otherwise. Returns
 * the exit code, 0 or 1. */
int conf_check_main(const char *main_path, const char *dir, const CpuSet *possible, FILE *out, FILE *err);
/* The same, also warning about cpus terms with no CPU on `host` (NULL: no
 * such check), as the daemon does at load. */
int conf_check_main_host(const char *main_path, const char *dir, const struct Host *host,
                         const CpuSet *possible, FILE *out, FILE *err);
