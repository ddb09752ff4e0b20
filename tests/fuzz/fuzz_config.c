/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the config parser: any bytes, loaded as one file;
 * every diagnostic must format as printable text, and an accepted config
 * must be coherent. A slow or huge regcomp shows as a libFuzzer timeout or
 * out-of-memory: the regex cost bounds must prevent both. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Config *c = NULL;
        ConfDiags d = {0};
        char *text;

        if (size > 256 * 1024)
                return 0;
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        int r = conf_load_string(text, "fuzz.conf", NULL, &c, &d);
        /* Diagnostics are escaped once, here: printable ASCII throughout, so
         * the output layers show them as they are. */
        for (size_t i = 0; i < d.n; i++) {
                char *s = conf_diag_format(&d.v[i]);
                for (const char *p = s; p && *p; p++)
                        if (*p < 0x20 || *p >= 0x7f)
                                abort();
                free(s);
        }
        if (r == 0) {
                if (d.n_errors != 0 || c->n_rules > CONF_MAX_RULES)
                        abort();
                for (size_t i = 0; i < c->n_rules; i++) {
                        if (c->by_priority[i] == NULL ||
                            config_find_rule(c, c->rules[i].name) != &c->rules[i] ||
                            !rule_equal(&c->rules[i], &c->rules[i]))
                                abort();
                        if (i > 0 && c->by_priority[i - 1]->priority < c->by_priority[i]->priority)
                                abort();
                }
        } else if (r == -EINVAL && d.n_errors == 0)
                abort();
        config_free(c);
        conf_diags_done(&d);
        free(text);
        return 0;
}
