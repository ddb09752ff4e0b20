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
#include "ctl/run.h"
#include "kernel/affinity.h"
#include "kernel/schedpolicy.h"
#include "kernel/host.h"
#include "lib/output.h"
#include "lib/util.h"

#define DEFAULT_SOCKET "/run/pinnerd/control"
#define DEFAULT_CONFIG "/etc/pinnerd.conf"
#define DEFAULT_CONFIG_DIR "/etc/pinnerd.d"
/* Per chunk, not per reply: a reload re-applying thousands of threads
 * answers only when it is done, and a big `list` keeps arriving. */
#define REPLY_TIMEOUT_SEC 60

typedef struct Options {
        const char *socket_path;
        const char *config_dir; /* check: NULL = the default below, "" = none */
        const char *rule;       /* list --rule */
        const char *thread;     /* explain --thread */
        const char *sample;     /* cpus, audit --sample SECONDS */
        bool json;
        char **command; /* run: what follows "--", NULL-terminated */
} Options;

static void help(FILE *f) {
        fprintf(f, "Usage: pinnerctl [OPTIONS] VERB [ARGS]\n"
                   "\n"
                   "Talk to pinnerd, the CPU-pinning daemon.\n"
                   "\n"
                   "Verbs:\n");
        for (size_t i = 0; i < ctl_verb_table_size; i++) {
                const CtlVerbInfo *v = &ctl_verb_table[i];
                int n = fprintf(f, "  %s%s", v->name, v->synopsis);
                fprintf(f, "%*s%s\n", n < 35 ? 35 - n : 1, "", v->summary);
        }
        fprintf(f, "\n"
                   "Options:\n"
                   "      --socket PATH      control socket (default " DEFAULT_SOCKET ")\n"
                   "      --json             one JSON document on standard output (every verb)\n"
                   "  -h, --help             show this help\n"
                   "      --version          show the version\n"
                   "\n"
                   "Verb options:\n"
                   "      --rule NAME        list: only the threads of rule NAME\n"
                   "      --thread TID       explain: only thread TID of the process\n"
                   "      --sample SECONDS   cpus, audit: rates over this long (default 1, 0 none,\n"
                   "                         at most 60)\n"
                   "      --config-dir DIR   check: the drop-in directory (default " DEFAULT_CONFIG_DIR ",\n"
                   "                         as for pinnerd; '' reads none)\n"
                   "\n"
                   "Exit status: 0 ok, 1 rejected, no such process or (audit) something that\n"
                   "could move runs there, 2 bad usage, 3 pinnerd not reachable, 4 permission denied.\n"
                   "See pinnerctl(8).\n");
}

static int write_all(FILE *f, const char *data, size_t len) {
        if (len > 0 && fwrite(data, 1, len, f) != len)
                return -EIO;
        /* Stream as it arrives, and keep stdout and stderr in step. */
        return fflush(f) == 0 ? 0 : -EIO;
}

/* Send one request and copy the reply out (stdout into *capture instead,
 * when given: at most CTL_MAX_CHUNK bytes); returns the exit code. */
static int daemon_call_capture(const Options *o, const char *verb, char **args, size_t n_args,
                               OutBuf *capture) {
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
        for (;;) {
                CtlChunk c;

                r = ctl_client_recv(fd, buf, CTL_MAX_CHUNK, REPLY_TIMEOUT_SEC * 1000, &c);
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
                if (capture && c.type == CTL_CHUNK_STDOUT) {
                        if (capture->len + c.len > CTL_MAX_CHUNK) {
                                fprintf(stderr, "pinnerctl: %s: reply too long\n", verb);
                                return CTL_EXIT_FAILED;
                        }
                        outbuf_append(capture, c.data, c.len);
                        continue;
                }
                if (write_all(c.type == CTL_CHUNK_STDOUT ? stdout : stderr, c.data, c.len) < 0) {
                        fprintf(stderr, "pinnerctl: write error: %m\n");
                        return CTL_EXIT_FAILED;
                }
        }
}

static int daemon_call(const Options *o, const char *verb, char **args, size_t n_args) {
        return daemon_call_capture(o, verb, args, n_args, NULL);
}

/* The memory policy of the plan, set before the exec so the first
 * allocation is local. Only "keep" exists until rules have a memory key;
 * that key's values are set here (set_mempolicy) when they come. */
/* The memory policy the rule gives the command (memory = follow |
 * interleave), set on ourselves right before the exec: it is kept across
 * execve(2), so the command's memory is local from its first allocation. */
static int run_apply_memory(const RunPlan *plan) {
        if (plan->memory == NUMA_POLICY_DEFAULT)
                return 0;
        int r = numa_set_policy(plan->memory, plan->memory_nodes);
        if (r < 0) {
                _cleanup_(freep) char *n = cpuset_format_list(plan->memory_nodes);
                fprintf(stderr, "pinnerctl: run: cannot set the memory policy %s on nodes %s: %s\n",
                        numa_policy_name(plan->memory), n ? n : "?", strerror(-r));
        }
        return r;
}

/* Ask the daemon what RULE gives us, set it on ourselves, execute the
 * command. Nothing runs unless all of it was set. */
static int client_run(const CtlVerbInfo *v, const Options *o, char **args, size_t n_args) {
        _cleanup_(run_plan_done) RunPlan plan = {0};
        _cleanup_(freep) unsigned long *kmask = NULL;
        OutBuf reply = OUTBUF_INIT;
        Host *h = NULL;
        int r, err;

        if (!o->command || !o->command[0]) {
                fprintf(stderr, "pinnerctl: usage: pinnerctl run RULE -- COMMAND [ARGS...]\n");
                return CTL_EXIT_USAGE;
        }
        /* The answer is for pinnerctl to read, never JSON. */
        Options plain = *o;
        plain.json = false;
        r = daemon_call_capture(&plain, v->name, args, n_args, &reply);
        if (r != CTL_EXIT_OK) {
                outbuf_done(&reply);
                return r;
        }
        r = run_plan_parse(reply.data ? reply.data : "", reply.len, &plan);
        outbuf_done(&reply);
        if (r < 0) {
                fprintf(stderr, "pinnerctl: run: malformed answer from pinnerd (a different version?)\n");
                return CTL_EXIT_FAILED;
        }
        if (host_load("/", &h, NULL) < 0) {
                fprintf(stderr, "pinnerctl: run: cannot read this host's CPUs\n");
                return CTL_EXIT_FAILED;
        }
        Affinity a = {.procfd = -1, .bytes = h->affinity_bytes};
        host_free(h);
        kmask = calloc(1, a.bytes);
        if (!kmask)
                return CTL_EXIT_FAILED;
        cpuset_to_kernel(plan.cpus, kmask, a.bytes);
        _cleanup_(freep) char *cpus = cpuset_format_list(plan.cpus);
        AffinityResult res = affinity_held_set(&a, 0, kmask, &err);
        if (res != AFF_SET) {
                fprintf(stderr, "pinnerctl: run: rule %s cannot apply: CPUs %s: %s\n", args[0],
                        cpus ? cpus : "?", strerror(err));
                return CTL_EXIT_FAILED;
        }
        if (plan.has_policy) {
                SchedPolicy prev;
                char pol[32] = "?";
                (void) policy_format(&plan.policy, pol, sizeof pol);
                res = policy_held_set(&a, 0, &plan.policy, &prev, &err);
                if (res != AFF_SET && res != AFF_UNCHANGED) {
                        fprintf(stderr, "pinnerctl: run: rule %s cannot apply: policy %s: %s%s\n", args[0],
                                pol, strerror(err),
                                err == EPERM ? " (needs CAP_SYS_NICE or a high enough RLIMIT_RTPRIO / "
                                               "RLIMIT_NICE for this user)"
                                             : "");
                        return CTL_EXIT_FAILED;
                }
        }
        if (run_apply_memory(&plan) < 0)
                return CTL_EXIT_FAILED;
        execvp(o->command[0], o->command);
        err = errno;
        fprintf(stderr, "pinnerctl: run: cannot execute '%s': %s\n", o->command[0], strerror(err));
        return err == ENOENT ? 127 : 126;
}

/* Digits only: no sign, no spaces, no 0x; the daemon gets a clean number. */
static bool is_id(const char *s) {
        unsigned v;
        return s[0] && s[strspn(s, "0123456789")] == '\0' && parse_uint(s, &v) == 0 && v > 0 && v <= INT_MAX;
}

/* irq:N, N digits only (IRQ 0 exists). */
static bool is_irq(const char *s) {
        unsigned v;
        return strncmp(s, "irq:", 4) == 0 && s[4] && s[4 + strspn(s + 4, "0123456789")] == '\0' &&
               parse_uint(s + 4, &v) == 0;
}

static int verb_daemon(const CtlVerbInfo *v, const Options *o, char **args, size_t n_args) {
        _cleanup_(freep) char *pid = NULL, *rule = NULL, *thread = NULL, *sample = NULL;
        char *wire[CTL_MAX_ARGS];
        size_t n = 0;

        if (strcmp(v->name, "explain") == 0 && !is_id(args[0]) && !is_irq(args[0])) {
                fprintf(stderr, "pinnerctl: explain: '%s' is not a process id (or irq:N)\n", args[0]);
                return CTL_EXIT_USAGE;
        }
        if (strcmp(v->name, "explain") == 0 && o->thread && is_irq(args[0])) {
                fprintf(stderr, "pinnerctl: explain: --thread applies to a process, not to %s\n", args[0]);
                return CTL_EXIT_USAGE;
        }
        /* A CPU list has no '=': an argument with one would pass for a verb option. */
        if (v->options & CTL_OPT_SAMPLE)
                for (size_t i = 0; i < n_args; i++)
                        if (strchr(args[i], '=')) {
                                fprintf(stderr, "pinnerctl: %s: '%s' is not a CPU list\n", v->name, args[i]);
                                return CTL_EXIT_USAGE;
                        }
        if (strcmp(v->name, "list") == 0 && n_args > 0) {
                if (!is_id(args[0])) {
                        fprintf(stderr, "pinnerctl: list: '%s' is not a process id\n", args[0]);
                        return CTL_EXIT_USAGE;
                }
                /* A filter, like --rule: sent as pid=N. */
                wire[n++] = pid = xasprintf("pid=%s", args[0]);
        } else
                for (size_t i = 0; i < n_args; i++)
                        wire[n++] = args[i];
        if (o->rule)
                wire[n++] = rule = xasprintf("rule=%s", o->rule);
        if (o->thread) {
                if (!is_id(o->thread)) {
                        fprintf(stderr, "pinnerctl: --thread: '%s' is not a thread id\n", o->thread);
                        return CTL_EXIT_USAGE;
                }
                wire[n++] = thread = xasprintf("thread=%s", o->thread);
        }
        if (o->sample) {
                unsigned sec;
                if (o->sample[strspn(o->sample, "0123456789")] != '\0' || parse_uint(o->sample, &sec) < 0 ||
                    sec > 60) {
                        fprintf(stderr, "pinnerctl: --sample takes whole seconds from 0 to 60, not '%s'\n",
                                o->sample);
                        return CTL_EXIT_USAGE;
                }
                wire[n++] = sample = xasprintf("sample=%u", sec);
        }
        for (size_t i = 0; i < n; i++)
                if (!wire[i]) {
                        fprintf(stderr, "pinnerctl: out of memory\n");
                        return CTL_EXIT_FAILED;
                }
        return daemon_call(o, v->name, wire, n);
}

static int verb_check(const CtlVerbInfo *v, const Options *o, char **args, size_t n_args) {
        Host *h = NULL;
        /* The same files pinnerd --check (and the daemon) would read: a FILE
         * replaces the main file only, its drop-in directory stays, and the
         * result names every file read. */
        ConfCheckOptions c = {
                .main_path = n_args > 0 ? args[0] : DEFAULT_CONFIG,
                .dir = o->config_dir ? (*o->config_dir ? o->config_dir : NULL) : DEFAULT_CONFIG_DIR,
                .json = o->json,
        };
        int r;

        /* The host's CPUs and topology, so CPUs beyond this machine and
         * terms it has no CPU for are warned about, as the daemon does;
         * without them (unreadable sysfs) there is no such warning. */
        if (host_load("/", &h, NULL) < 0)
                h = NULL;
        c.host = h;
        c.possible = h ? h->possible : NULL;
        r = conf_check(&c, stdout, stderr);
        host_free(h);
        if (fflush(stdout) != 0) {
                fprintf(stderr, "pinnerctl: write error: %m\n");
                return CTL_EXIT_FAILED;
        }
        return r;
}

enum {
        OPT_SOCKET = 0x100,
        OPT_JSON,
        OPT_CONFIG_DIR,
        OPT_RULE,
        OPT_THREAD,
        OPT_SAMPLE,
        OPT_VERSION,
};

/* A verb option given to a verb that does not take it. */
static int option_refused(const CtlVerbInfo *v, const char *opt, const char *verbs) {
        fprintf(stderr, "pinnerctl: %s applies to %s only, not to %s\n", opt, verbs, v->name);
        return CTL_EXIT_USAGE;
}

int main(int argc, char **argv) {
        static const struct option long_options[] = {
                {"socket", required_argument, NULL, OPT_SOCKET},
                {"json", no_argument, NULL, OPT_JSON},
                {"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
                {"rule", required_argument, NULL, OPT_RULE},
                {"thread", required_argument, NULL, OPT_THREAD},
                {"sample", required_argument, NULL, OPT_SAMPLE},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, OPT_VERSION},
                {},
        };
        Options o = {.socket_path = DEFAULT_SOCKET};
        const CtlVerbInfo *v;
        size_t n_args;
        int c;

        /* run RULE -- COMMAND: everything after the first "--" is the
         * command, its options included, and no option of ours. */
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--") == 0) {
                        o.command = argv + i + 1;
                        argv[i] = NULL;
                        argc = i;
                        break;
                }
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
                case OPT_RULE:
                        if (!*optarg) {
                                fprintf(stderr, "pinnerctl: --rule needs a rule name\n");
                                return CTL_EXIT_USAGE;
                        }
                        o.rule = optarg;
                        break;
                case OPT_THREAD:
                        o.thread = optarg;
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
        v = ctl_verb_find(argv[optind]);
        if (!v) {
                fprintf(stderr, "pinnerctl: unknown verb '%s'\nTry 'pinnerctl --help'.\n", argv[optind]);
                return CTL_EXIT_USAGE;
        }
        n_args = (size_t) (argc - optind - 1);
        if (n_args < v->min_args || n_args > v->max_args) {
                fprintf(stderr, "pinnerctl: usage: pinnerctl %s%s\n", v->name, v->synopsis);
                return CTL_EXIT_USAGE;
        }
        if (o.config_dir && !(v->options & CTL_OPT_CONFIG_DIR))
                return option_refused(v, "--config-dir", "check");
        if (o.rule && !(v->options & CTL_OPT_RULE))
                return option_refused(v, "--rule", "list");
        if (o.thread && !(v->options & CTL_OPT_THREAD))
                return option_refused(v, "--thread", "explain");
        if (o.sample && !(v->options & CTL_OPT_SAMPLE))
                return option_refused(v, "--sample", "cpus and audit");
        if (o.command && !(v->options & CTL_OPT_COMMAND)) {
                fprintf(stderr, "pinnerctl: '--' and a command only go with run\n");
                return CTL_EXIT_USAGE;
        }
        if (v->options & CTL_OPT_COMMAND)
                return client_run(v, &o, argv + optind + 1, n_args);
        if (v->local)
                return verb_check(v, &o, argv + optind + 1, n_args);
        return verb_daemon(v, &o, argv + optind + 1, n_args);
}
