/* SPDX-License-Identifier: MIT */
/* Shared by the unit suites: where the fake proc/sys trees live, and small
 * trees built on the fly for the cases no fixture has. */
#pragma once

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernel/host.h"
#include "lib/util.h"

/* Path of a fixture tree (tests/fixtures/NAME); PINNERD_FIXTURES is set by
 * the Makefile, the fallback serves a run from the top of the checkout. */
static inline const char *fixture_path(const char *name) {
        static char buf[4096];
        const char *base = getenv("PINNERD_FIXTURES");
        snprintf(buf, sizeof buf, "%s/%s", base ? base : "tests/fixtures", name);
        return buf;
}

/* For _cleanup_: free a host from fixture_load_host(). */
static inline void host_freep(Host **h) {
        host_free(*h);
}

/* The host a fixture tree describes (NAME under tests/fixtures, or an
 * absolute path); the test fails, with host_load's message, when it does
 * not load. */
static inline Host *fixture_load_host(const char *fixture) {
        Host *h = NULL;
        _cleanup_(freep) char *error = NULL;
        int r = host_load(fixture[0] == '/' ? fixture : fixture_path(fixture), &h, &error);
        ck_assert_msg(r == 0, "host_load(%s) = %d: %s", fixture, r, error ? error : "(no message)");
        return h;
}

static inline int fake_tree_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

/* For _cleanup_: remove a tree made by fake_tree_make and free its name. */
static inline void fake_tree_free(char **dir) {
        if (*dir) {
                nftw(*dir, fake_tree_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
                free(*dir);
        }
}

/* Write root/rel, making the directories on the way. */
static inline void fake_tree_write(const char *root, const char *rel, const char *content) {
        _cleanup_(freep) char *path = xasprintf("%s/%s", root, rel);
        for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
                *p = '\0';
                mkdir(path, 0755);
                *p = '/';
        }
        FILE *f = fopen(path, "we");
        ck_assert_msg(f != NULL, "%s: %m", path);
        fputs(content, f);
        fclose(f);
}

/* A new tree under /tmp; files: pairs of path and content, NULL-terminated. */
static inline char *fake_tree_make(const char *const *files) {
        char tmpl[] = "/tmp/pinnerd-tree-XXXXXX";
        char *dir = mkdtemp(tmpl);

        ck_assert_ptr_nonnull(dir);
        for (; files[0]; files += 2)
                fake_tree_write(dir, files[0], files[1]);
        return strdup(dir);
}
