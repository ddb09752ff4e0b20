/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the config parser: any bytes, loaded as one file;
 * every diagnostic must format, and an accepted config must be coherent. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

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
        for (size_t i = 0; i < d.n; i++)
                free(conf_diag_format(&d.v[i]));
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
