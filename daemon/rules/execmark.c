/* SPDX-License-Identifier: MIT */
#include "rules/execmark.h"

#include <errno.h>
#include <string.h>

#include "rules/match.h"

int execmark_split(const char *pattern, char **ret_dir, const char **ret_name) {
        const char *slash = strrchr(pattern, '/');

        if (pattern[0] != '/' || !slash || slash[1] == '\0')
                return -EINVAL;
        for (const char *p = pattern; p < slash; p++)
                if (strchr("*?[\\", *p))
                        return -EINVAL;
        size_t n = slash == pattern ? 1 : (size_t) (slash - pattern);
        char *dir = strndup(pattern, n);
        if (!dir)
                return -ENOMEM;
        *ret_dir = dir;
        *ret_name = slash + 1;
        return 0;
}

const Rule *execmark_rule_for(const Config *c, const char *path) {
        for (size_t i = 0; i < c->n_rules; i++) {
                const Rule *r = c->by_priority[i];
                if (r->guarantee_exec && r->exe.n > 0 && rule_match_exe(r, path))
                        return r;
        }
        return NULL;
}

bool execmark_wanted(const Config *c) {
        for (size_t i = 0; i < c->n_rules; i++)
                if (c->rules[i].guarantee_exec)
                        return true;
        return false;
}
