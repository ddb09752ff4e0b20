/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the cpulist and mask parsers: whatever parses must
 * format back to a list that parses to the same set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cpuset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text;
        CpuSet *s = NULL, *back = NULL;
        CpuSetError err;

        if (size > 4096)
                return 0;
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        for (int mask = 0; mask < 2; mask++) {
                int r = mask ? cpuset_parse_mask(text, &s, &err) : cpuset_parse_list(text, &s, &err);
                if (r < 0)
                        continue;
                char *l = cpuset_format_list(s);
                if (l) {
                        if (cpuset_parse_list(l, &back, NULL) != 0 || !cpuset_equal(s, back))
                                abort();
                        cpuset_free(back);
                        back = NULL;
                        free(l);
                }
                cpuset_free(s);
                s = NULL;
        }
        free(text);
        return 0;
}
