/* SPDX-License-Identifier: MIT */
/* pinnerctl: the control tool. Every verb but `check` is one request to the
 * daemon over the control socket (ctlproto.h); the daemon renders the
 * answer, pinnerctl copies it to stdout/stderr as it arrives and exits with
 * the daemon's code. `check` runs the config validator locally. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/conf.h"
#include "lib/cpuset.h"
#include "ctl/ctlproto.h"
#include "kernel/host.h"
#include "lib/util.h"

#define DEFAULT_SOCKET "/run/pinnerd/control"
#define DEFAULT_CONFIG "/etc/pinnerd.conf"
#define DEFAULT_CONFIG_DIR "/etc/pinnerd.d"
/* Per chunk, not per reply: a reload re-applying thousands of threads
 * answers only when it is done, and a big `list` keeps arriving. */
#define REPLY_TIMEOUT_SEC 60

typedef struct Options {
        const char *socket_path;
        const char *config_dir; /* check: NULL = default rule below */
        const char *sample;     /* cpus, audit: --sample SECONDS */
        bool json;
} Options;

typedef struct Verb Verb;
struct Verb {
        const char *name;
        const char *args_help;
        bool needs_daemon;
        bool json_ok;
        size_t min_args, max_args;
        int (*run)(const Verb *v, const Options *o, char **args, size_t n_args);
};

static void help(FILE *f) {
        fprintf(f,
                "Usage: pinnerctl [OPTIONS] VERB [ARGS]\n"
                "\n"
                "Talk to pinnerd, the CPU-pinning daemon.\n"
                "\n"
                "Verbs:\n"
                "  reload          re-read the configuration and re-plan (root)\n"
                "  status          version, uptime, event source, rules, counters\n"
                "  list            managed threads and their CPU masks\n"
                "  explain PID     which rule matched each thread of PID, mask at each step;\n"
                "                  explain irq:N: which rule takes IRQ N, and where it lands\n"
                "  rescan          rescan /proc now (root)\n"
                "  metrics         counters and latencies, Prometheus text format\n"
                "  cpus [CPUS]     per CPU: topology, isolation, rules, tasks, IRQs, interrupts/s\n"
                "  audit CPUS      what else can run on CPUS and why; exit 1 if it could move\n"
                "  check [FILE]    validate a configuration without the daemon\n"
                "\n"
                "Options:\n"
                "      --socket PATH      control socket (default " DEFAULT_SOCKET ")\n"
                "      --json             JSON output\n"
                "      --config-dir DIR   check: read DIR/*.conf too (default " DEFAULT_CONFIG_DIR
                " without FILE)\n"
                "      --sample SECONDS   cpus, audit: rates over this long (default 1, 0 none, at most 60)\n"
                "  -h, --help             show this help\n"
                "      --version          show the version\n"
                "\n"
                "Exit status: 0 ok, 1 rejected or no such process, 2 bad usage,\n"
                "3 pinnerd not reachable, 4 permission denied.\n"
                "See pinnerctl(8).\n");
}

static int write_all(FILE *f, const char *data, size_t len) {
        if (len > 0 && fwrite(data, 1, len, f) != len)
                return -EIO;
        /* Stream as it arrives, and keep stdout and stderr in step. */
        return fflush(f) == 0 ? 0 : -EIO;
}

/* Send one request and copy the reply out; returns the exit code. */
static int daemon_call(const Options *o, const char *verb, char **args, size_t n_args) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *buf = NULL;
        int r;

        fd = ctl_client_connect(o->socket_path);
        if (fd < 0) {
                fprintf(stderr, "pinnerctl: cannot reach pinnerd at %s: %s. Is it running?\n", o->socket_path,
                        strerror(-fd));
                return CTL_EXIT_UNREACHABLE;
        }
        r = ctl_client_send(fd, verb, (const char *const *) args, n_args, o->json ? CTL_FLAG_JSON : 0);
        if (r == -E2BIG) {
                fprintf(stderr, "pinnerctl: arguments too long\n");
                return CTL_EXIT_USAGE;
        }
        if (r < 0) {
                fprintf(stderr, "pinnerctl: cannot send to pinnerd at %s: %s\n", o->socket_path,
                        strerror(-r));
                return CTL_EXIT_UNREACHABLE;
        }

        buf = malloc(CTL_MAX_CHUNK);
        if (!buf) {
                fprintf(stderr, "pinnerctl: out of memory\n");
                return CTL_EXIT_FAILED;
        }
        /* A sample keeps the daemon quiet for its length. */
        unsigned sample = 0;
        if (o->sample)
                (void) parse_uint(o->sample, &sample);
        for (;;) {
                CtlChunk c;

                r = ctl_client_recv(fd, buf, CTL_MAX_CHUNK, (int) (REPLY_TIMEOUT_SEC + sample) * 1000, &c);
                switch (r) {
                case 0:
                        break;
                case -ETIMEDOUT:
                        fprintf(stderr,
                                "pinnerctl: no reply from pinnerd within %d s; it may still be working "
                                "(see journalctl -u pinnerd)\n",
                                REPLY_TIMEOUT_SEC);
                        return CTL_EXIT_UNREACHABLE;
                case -ECONNRESET:
                        fprintf(stderr,
                                "pinnerctl: pinnerd closed the connection before finishing its reply\n");
                        return CTL_EXIT_UNREACHABLE;
                case -EBADMSG:
                        fprintf(stderr, "pinnerctl: malformed reply from pinnerd (a different version?)\n");
                        return CTL_EXIT_UNREACHABLE;
                default:
                        fprintf(stderr, "pinnerctl: reading from pinnerd: %s\n", strerror(-r));
                        return CTL_EXIT_UNREACHABLE;
                }
                if (c.type == CTL_CHUNK_EXIT)
                        return c.exit_code;
                if (write_all(c.type == CTL_CHUNK_STDOUT ? stdout : stderr, c.data, c.len) < 0) {
                        fprintf(stderr, "pinnerctl: write error: %m\n");
                        return CTL_EXIT_FAILED;
                }
        }
}

static int verb_daemon(const Verb *v, const Options *o, char **args, size_t n_args) {
        return daemon_call(o, v->name, args, n_args);
}

static int verb_explain(const Verb *v, const Options *o, char **args, size_t n_args) {
        const char *s = args[0];
        unsigned pid;

        /* Digits only: no sign, no spaces, no 0x; the daemon gets a clean number. */
        if (strncmp(s, "irq:", 4) == 0) {
                const char *n = s + 4;
                if (!*n || n[strspn(n, "0123456789")] != '\0' || parse_uint(n, &pid) < 0) {
                        fprintf(stderr, "pinnerctl: explain: '%s' is not irq:N with N an IRQ number\n", s);
                        return CTL_EXIT_USAGE;
                }
                return daemon_call(o, v->name, args, n_args);
        }
        if (s[strspn(s, "0123456789")] != '\0' || parse_uint(s, &pid) < 0 || pid == 0 || pid > INT_MAX) {
                fprintf(stderr, "pinnerctl: explain: '%s' is not a process id (or irq:N)\n", s);
                return CTL_EXIT_USAGE;
        }
        return daemon_call(o, v->name, args, n_args);
}

/* cpus and audit: --sample travels as an argument "sample=SECONDS". */
static int verb_sampled(const Verb *v, const Options *o, char **args, size_t n_args) {
        char *all[CTL_MAX_ARGS];
        char arg[32];
        unsigned sec;
        size_t n = 0;

        if (o->sample) {
                if (o->sample[strspn(o->sample, "0123456789")] != '\0' || parse_uint(o->sample, &sec) < 0 ||
                    sec > 60) {
                        fprintf(stderr, "pinnerctl: --sample takes whole seconds from 0 to 60, not '%s'\n",
                                o->sample);
                        return CTL_EXIT_USAGE;
                }
                snprintf(arg, sizeof arg, "sample=%u", sec);
        }
        for (size_t i = 0; i < n_args; i++) {
                if (strncmp(args[i], "sample=", 7) == 0) {
                        fprintf(stderr, "pinnerctl: %s: '%s' is not a CPU list\n", v->name, args[i]);
                        return CTL_EXIT_USAGE;
                }
                all[n++] = args[i];
        }
        if (o->sample)
                all[n++] = arg;
        return daemon_call(o, v->name, all, n);
}

static int verb_check(const Verb *v, const Options *o, char **args, size_t n_args) {
        Host *h = NULL;
        const char *main_path = n_args > 0 ? args[0] : DEFAULT_CONFIG;
        /* Checking one named file means that file alone, unless asked. */
        const char *dir = o->config_dir ? o->config_dir : n_args > 0 ? NULL : DEFAULT_CONFIG_DIR;
        int r;

        /* The host's CPUs and topology, so CPUs beyond this machine and
         * terms it has no CPU for are warned about, as the daemon does;
         * without them (unreadable sysfs) there is no such warning. */
        if (host_load("/", &h, NULL) < 0)
                h = NULL;
        r = conf_check_main_host(main_path, dir, h, h ? h->possible : NULL, stdout, stderr);
        host_free(h);
        if (fflush(stdout) != 0) {
                fprintf(stderr, "pinnerctl: write error: %m\n");
                return CTL_EXIT_FAILED;
        }
        if (r < 0) {
                fprintf(stderr, "pinnerctl: check: %s\n", strerror(-r));
                return CTL_EXIT_FAILED;
        }
        return r;
}

/* clang-format off */
static const Verb verbs[] = {
        /* name      args        daemon json  min max */
        {"reload",  "",         true,  true,  0, 0, verb_daemon},
        {"status",  "",         true,  true,  0, 0, verb_daemon},
        {"list",    "",         true,  true,  0, 0, verb_daemon},
        {"explain", " PID|irq:N", true, true, 1, 1, verb_explain},
        {"rescan",  "",         true,  true,  0, 0, verb_daemon},
        {"metrics", "",         true,  false, 0, 0, verb_daemon},
        {"cpus",    " [CPUS]",  true,  true,  0, 1, verb_sampled},
        {"audit",   " CPUS",    true,  true,  1, 1, verb_sampled},
        {"check",   " [FILE]",  false, false, 0, 1, verb_check},
};
/* clang-format on */

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        return NULL;
}

enum {
        OPT_SOCKET = 0x100,
        OPT_JSON,
        OPT_CONFIG_DIR,
        OPT_SAMPLE,
        OPT_VERSION,
};

int main(int argc, char **argv) {
        static const struct option long_options[] = {
                {"socket", required_argument, NULL, OPT_SOCKET},
                {"json", no_argument, NULL, OPT_JSON},
                {"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
                {"sample", required_argument, NULL, OPT_SAMPLE},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, OPT_VERSION},
                {},
        };
        Options o = {.socket_path = DEFAULT_SOCKET};
        const Verb *v;
        size_t n_args;
        int c;

        /* GNU getopt permutes, so options may come before or after the verb. */
        while ((c = getopt_long(argc, argv, "h", long_options, NULL)) >= 0) {
                switch (c) {
                case OPT_SOCKET:
                        if (!*optarg) {
                                fprintf(stderr, "pinnerctl: --socket needs a path\n");
                                return CTL_EXIT_USAGE;
                        }
                        o.socket_path = optarg;
                        break;
                case OPT_JSON:
                        o.json = true;
                        break;
                case OPT_CONFIG_DIR:
                        o.config_dir = optarg;
                        break;
                case OPT_SAMPLE:
                        o.sample = optarg;
                        break;
                case 'h':
                        help(stdout);
                        return CTL_EXIT_OK;
                case OPT_VERSION:
                        printf("pinnerctl %s\n", PINNERD_VERSION);
                        return CTL_EXIT_OK;
                default:
                        fprintf(stderr, "Try 'pinnerctl --help'.\n");
                        return CTL_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "pinnerctl: missing verb\nTry 'pinnerctl --help'.\n");
                return CTL_EXIT_USAGE;
        }
        v = find_verb(argv[optind]);
        if (!v) {
                fprintf(stderr, "pinnerctl: unknown verb '%s'\nTry 'pinnerctl --help'.\n", argv[optind]);
                return CTL_EXIT_USAGE;
        }
        n_args = (size_t) (argc - optind - 1);
        if (n_args < v->min_args || n_args > v->max_args) {
                fprintf(stderr, "pinnerctl: usage: pinnerctl %s%s\n", v->name, v->args_help);
                return CTL_EXIT_USAGE;
        }
        if (o.json && !v->json_ok) {
                fprintf(stderr, "pinnerctl: %s has no JSON output\n", v->name);
                return CTL_EXIT_USAGE;
        }
        if (o.sample && v->run != verb_sampled) {
                fprintf(stderr, "pinnerctl: --sample only applies to cpus and audit\n");
                return CTL_EXIT_USAGE;
        }
        if (o.config_dir && v->needs_daemon) {
                fprintf(stderr, "pinnerctl: --config-dir only applies to check\n");
                return CTL_EXIT_USAGE;
        }
        return v->run(v, &o, argv + optind + 1, n_args);
}
