/* SPDX-License-Identifier: MIT */
/* Which files `guarantee = exec` rules hold execs of: pure. Each positive
 * exe value names files in one directory (wildcards only in the file name),
 * so pinnerd can list that directory, mark each match, and watch the
 * directory for files that appear later. A wildcard in a directory part
 * ('*' matches '/' in exe values, see match.c) could stand for any tree on
 * the host: it is refused for guarantee rules. */
#pragma once

#include "rules/config.h"

/* Split an exe value: *ret_dir (malloc'd) is the directory ("/" for a file
 * in the root), *ret_name points at the file-name part of pattern.
 * -EINVAL when the pattern is not absolute, ends in '/', or has a wildcard
 * ('*', '?', '[', or a backslash escape) before its last '/'. -ENOMEM. */
int execmark_split(const char *pattern, char **ret_dir, const char **ret_name);

/* The guarantee rule an exec of the file at path (its resolved path) is
 * held for: the highest-priority rule with guarantee = exec whose exe values
 * match path (ties to the rule defined first). NULL when none. */
const Rule *execmark_rule_for(const Config *c, const char *path);

/* Does any rule of c have guarantee = exec? */
bool execmark_wanted(const Config *c);
