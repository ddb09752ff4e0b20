/* SPDX-License-Identifier: MIT */
/* connflood: connect to a pinnerd control socket and close again, in a loop,
 * without ever sending a request: what a local user who wants the daemon's
 * time can do with a socket anyone may connect to.
 *
 *   connflood SOCKET SECONDS
 *
 * Prints "connects=N refused=R" at the end (refused: connect() failed, the
 * daemon's backlog was full past the client's timeout, or it was not there).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

int main(int argc, char **argv) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        uint64_t end, n = 0, refused = 0;

        if (argc != 3 || strlen(argv[1]) >= sizeof sa.sun_path) {
                fprintf(stderr, "usage: connflood SOCKET SECONDS\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);
        end = now_ms() + (uint64_t) atoi(argv[2]) * 1000u;
        while (now_ms() < end) {
                /* A blocked connect() (a full backlog) gives up after 1 s. */
                struct timeval tv = {.tv_sec = 1};
                int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                        perror("socket");
                        return 1;
                }
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
                if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                        refused++;
                n++;
                close(fd);
        }
        printf("connects=%llu refused=%llu\n", (unsigned long long) n, (unsigned long long) refused);
        return 0;
}
