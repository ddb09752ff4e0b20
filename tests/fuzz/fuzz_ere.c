/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for lib/ere.c, differential: the input is a pattern,
 * a NUL, and a text. Whatever pinnerd's matcher compiles must match the text
 * exactly when glibc's regexec does (patterns are kept short, and texts
 * NUL-free, so glibc answers on the same string); nothing may crash, leak,
 * or take more than the linear bound's time.
 *
 * glibc is the reference, not the subject: its regcomp is exponential on
 * shapes no filter here can list in full (a pattern CI found took it past
 * 300 s). So glibc answers in a child process of its own, over a socket,
 * and a question it has not answered within ORACLE_MS is not compared: the
 * child is killed and a new one started. */
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <errno.h>
#include <sanitizer/common_interface_defs.h>
#include <time.h>

#include "lib/ere.h"

#define ORACLE_MS 1000

enum { PATTERN_MAX = 64, TEXT_MAX = 512 };

static pid_t oracle_pid = -1;
static int oracle_fd = -1;
static unsigned long oracle_timeouts;

/* The child: one question per datagram (pattern, NUL, text), one byte back:
 * '1' match, '0' no match, 'x' glibc refuses the pattern. */
static void oracle_serve(int fd) {
        char q[PATTERN_MAX + TEXT_MAX + 2];
        for (;;) {
                ssize_t n = recv(fd, q, sizeof q - 1, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        _exit(0);
                q[n] = 0;
                size_t pl = strlen(q);
                const char *text = pl < (size_t) n ? q + pl + 1 : q + pl;
                regex_t g;
                char answer = 'x';
                if (regcomp(&g, q, REG_EXTENDED | REG_NOSUB) == 0) {
                        answer = regexec(&g, text, 0, NULL, 0) == 0 ? '1' : '0';
                        regfree(&g);
                }
                if (send(fd, &answer, 1, MSG_NOSIGNAL) != 1)
                        _exit(0);
        }
}

/* A pattern that makes glibc allocate without end must fail in the child,
 * not take the machine's memory during ORACLE_MS: new data mappings are
 * bounded to 512 MiB past what the child inherited (the sanitizers' shadow
 * counts there, so the limit is relative). */
static void oracle_bound_memory(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[128];
        unsigned long long kib = 0;
        if (!f)
                return;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmData: %llu kB", &kib) == 1)
                        break;
        fclose(f);
        if (kib) {
                struct rlimit rl = {.rlim_cur = (kib << 10) + (512ULL << 20),
                                    .rlim_max = (kib << 10) + (512ULL << 20)};
                setrlimit(RLIMIT_DATA, &rl);
        }
}

/* The child's end when a sanitizer stops it (glibc past the memory bound):
 * quietly, not libFuzzer's death callback, which would save the input as a
 * crash of the run. */
static void oracle_die(void) {
        _exit(0);
}

static void oracle_stop(void) {
        if (oracle_pid > 0) {
                kill(oracle_pid, SIGKILL);
                /* libFuzzer's timer (SIGALRM, no SA_RESTART) may interrupt. */
                while (waitpid(oracle_pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        if (oracle_fd >= 0)
                close(oracle_fd);
        oracle_pid = -1;
        oracle_fd = -1;
}

static bool oracle_start(void) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return false;
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                close(sv[0]);
                close(sv[1]);
                return false;
        }
        if (pid == 0) {
                close(sv[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                __sanitizer_set_death_callback(oracle_die);
                __sanitizer_set_report_path("/dev/null");
                oracle_bound_memory();
                if (getppid() != parent)
                        _exit(0);
                oracle_serve(sv[1]);
        }
        close(sv[1]);
        oracle_pid = pid;
        oracle_fd = sv[0];
        return true;
}

/* Until the child's answer is there (true), or ORACLE_MS are over; an
 * interrupted poll goes on for the time left. */
static bool oracle_wait(void) {
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                clock_gettime(CLOCK_MONOTONIC, &t);
                long left = ORACLE_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
                if (left < 0)
                        left = 0;
                struct pollfd p = {.fd = oracle_fd, .events = POLLIN};
                int r = poll(&p, 1, (int) left);
                if (r == 1)
                        return true;
                if (r == 0 || errno != EINTR || left == 0)
                        return false;
        }
}

/* glibc's verdict on the text: 1 match, 0 none, -1 glibc refuses the
 * pattern, -2 no answer in time (or no child): not compared. */
static int oracle_ask(const char *pattern, size_t pl, const char *text, size_t tl) {
        char q[PATTERN_MAX + TEXT_MAX + 2];
        memcpy(q, pattern, pl + 1);
        memcpy(q + pl + 1, text, tl);
        for (int attempt = 0; attempt < 2; attempt++) {
                if (oracle_fd < 0 && !oracle_start())
                        return -2;
                ssize_t k;
                char answer;
                do
                        k = send(oracle_fd, q, pl + 1 + tl, MSG_NOSIGNAL);
                while (k < 0 && errno == EINTR);
                if (k != (ssize_t) (pl + 1 + tl)) {
                        oracle_stop(); /* the child died between questions: start another */
                        continue;
                }
                if (oracle_wait() && recv(oracle_fd, &answer, 1, 0) == 1)
                        return answer == '1' ? 1 : answer == '0' ? 0 : -1;
                oracle_stop();
                if (++oracle_timeouts <= 5)
                        fprintf(stderr,
                                "fuzz_ere: glibc died or gave no answer within %d ms on '%s': not compared\n",
                                ORACLE_MS, pattern);
                return -2;
        }
        return -2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *nul = memchr(data, 0, size);
        size_t pl = nul ? (size_t) (nul - data) : size;
        char pattern[PATTERN_MAX], text[TEXT_MAX];
        size_t tl = nul ? size - pl - 1 : 0;

        if (pl >= sizeof pattern || tl >= sizeof text || (nul && memchr(nul + 1, 0, tl)))
                return 0;
        memcpy(pattern, data, pl);
        pattern[pl] = 0;
        if (nul)
                memcpy(text, nul + 1, tl);
        text[tl] = 0;

        Ere *e = NULL;
        char *why = NULL;
        int r = ere_compile(pattern, &e, &why);
        if (r < 0) {
                if (!why)
                        abort(); /* every refusal says why */
                free(why);
                return 0;
        }
        bool mine = ere_match(e, text, tl);
        /* glibc's regcomp copies what a quantifier repeats, so stacked or
         * nested repetitions make it exponential. The child bounds the time;
         * these filters keep the fuzzer from spending it: ask only about
         * patterns glibc compiles quickly (few quantifiers, none right after another, and
         * no counted repetition of a group when there is any other: a group
         * holding a star repeated {8} took glibc over 7 s, after 175,000
         * runs; nor a group counted past 16: "(}b|\\b\\b){62}x" took it past
         * the fuzzer's 2 GB, after 2.7 million). */
        unsigned quantifiers = 0;
        bool stacked = false, counted_group = false, big_count = false;
        for (size_t i = 0; i < pl; i++)
                if (strchr("*+?{", pattern[i])) {
                        quantifiers++;
                        if (i > 0 && strchr("*+?}", pattern[i - 1]))
                                stacked = true;
                        if (pattern[i] == '{' && i > 0 && pattern[i - 1] == ')') {
                                const char *q = pattern + i + 1;
                                counted_group = true;
                                while (*q && *q != '}')
                                        if (*q >= '0' && *q <= '9') {
                                                char *end;
                                                if (strtoul(q, &end, 10) > 16)
                                                        big_count = true;
                                                q = end;
                                        } else
                                                q++;
                        }
                }
        /* glibc also lets a newline the text holds end a line for an anchor
         * that a '.' or '[^x]' stepped over, without REG_NEWLINE: '.^'
         * matches "L\n" there, but 'x^' never matches "x\n"; pinnerd's
         * newline is an ordinary character, as POSIX has it. */
        bool newline_anchor = memchr(text, '\n', tl) && strpbrk(pattern, "^$");
        if (!newline_anchor && quantifiers <= 6 && !stacked && !(counted_group && quantifiers > 1) &&
            !big_count) {
                int theirs = oracle_ask(pattern, pl, text, tl);
                if (theirs >= 0 && mine != (theirs == 1)) {
                        fprintf(stderr, "'%s' on '%s': pinnerd %d, glibc %d\n", pattern, text, mine, theirs);
                        abort();
                }
        }
        ere_free(e);
        return 0;
}
