/* SPDX-License-Identifier: MIT */
/* manymaps: one process with N mappings of a page each, as any user can
 * make, for tests of what reading its maps and numa_maps costs the daemon.
 *
 *   manymaps NAME N [SECONDS]
 *
 * Names itself NAME, maps N single pages that cannot merge (every other one
 * read-only), touches each, prints "ready PID MAPPINGS" on stdout, then
 * sleeps SECONDS (default 600) and exits. Exit 1 when a mapping fails
 * (vm.max_map_count is 65,530 by default).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
        long n, secs = 600, page = sysconf(_SC_PAGESIZE);

        if (argc < 3 || (n = strtol(argv[2], NULL, 10)) < 1) {
                fprintf(stderr, "usage: manymaps NAME N [SECONDS]\n");
                return 2;
        }
        if (argc > 3)
                secs = strtol(argv[3], NULL, 10);
        prctl(PR_SET_NAME, argv[1]);
        /* One reservation, then every other page made read-only: neighbours
         * with other protections stay separate mappings. */
        char *base =
                mmap(NULL, (size_t) (n * page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED) {
                perror("manymaps: mmap");
                return 1;
        }
        for (long i = 0; i < n; i++) {
                base[i * page] = 1;
                if (i % 2 && mprotect(base + i * page, (size_t) page, PROT_READ) < 0) {
                        fprintf(stderr, "manymaps: mapping %ld of %ld: %s\n", i, n, strerror(errno));
                        return 1;
                }
        }
        printf("ready %d %ld\n", (int) getpid(), n);
        fflush(stdout);
        sleep((unsigned) secs);
        return 0;
}
