/* SPDX-License-Identifier: MIT */
/* Shared by the unit suites: where the fake proc/sys trees live. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

/* Path of a fixture tree (tests/fixtures/NAME); PINNERD_FIXTURES is set by
 * the Makefile, the fallback serves a run from the top of the checkout. */
static inline const char *fixture_path(const char *name) {
        static char buf[4096];
        const char *base = getenv("PINNERD_FIXTURES");
        snprintf(buf, sizeof buf, "%s/%s", base ? base : "tests/fixtures", name);
        return buf;
}
