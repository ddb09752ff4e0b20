/* SPDX-License-Identifier: MIT */
/* pinnerd.conf: parsed with libinih into a fresh Config (config.h),
 * validated whole; every problem named with its file:line. */
#pragma once

#include <stdio.h>

#include "lib/output.h"
#include "rules/config.h"

/* Parse and validate. Returns 0 with *ret set when there were no errors
 * (warnings may be in diags); -EINVAL when diags holds at least one error,
 * *ret untouched; other -errno on allocation failure. */
int conf_load(const ConfLoadOptions *opts, Config **ret, ConfDiags *diags);
/* Same, for one in-memory text (fuzzing, unit tests); `name` is the file name
 * used in messages. */
int conf_load_string(const char *text, const char *name, const CpuSet *possible, Config **ret,
                     ConfDiags *diags);
typedef struct ConfCheckOptions {
        const char *main_path;   /* e.g. /etc/pinnerd.conf */
        const char *dir;         /* its drop-in directory, NULL = none */
        const struct Host *host; /* cpus terms with no CPU on it warn; NULL = no check */
        const CpuSet *possible;  /* CPUs past these warn; NULL = no check */
        bool json;               /* one JSON document on out instead of text */
} ConfCheckOptions;

/* Validate a configuration without a daemon, for `pinnerd --check` and
 * `pinnerctl check`: every diagnostic to err, in file and line order, then
 * "configuration OK: N rules (files read: ...)" to out or "configuration
 * invalid: N errors (files read: ...)" to err, so it is plain which files
 * were looked at. With json, one object on out: {"valid", "rules", "files",
 * "errors": [{"file", "line", "message"}], "warnings": [...]}. File ownership
 * is enforced when run as root (what the daemon would see) and only warned
 * about otherwise. Returns the exit code, 0 or 1. */
int conf_check(const ConfCheckOptions *o, FILE *out, FILE *err);
/* The diagnostics of one severity as a JSON array of {"file", "line" (null
 * for the file itself), "message"}. Returns the writer's error. */
int conf_diags_json(JsonWriter *w, const ConfDiags *d, bool warnings);
/* "a, b, c" (escaped for people), "none" for no file. malloc'd. */
char *conf_files_format(const StrVec *files);

/* conf_check() without JSON, for callers that have only these. */
int conf_check_main(const char *main_path, const char *dir, const CpuSet *possible, FILE *out, FILE *err);
/* The same, also warning about cpus terms with no CPU on `host` (NULL: no
 * such check), as the daemon does at load. */
int conf_check_main_host(const char *main_path, const char *dir, const struct Host *host,
                         const CpuSet *possible, FILE *out, FILE *err);
