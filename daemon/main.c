/* SPDX-License-Identifier: MIT */
/* pinnerd: keeps processes and threads on the CPUs an administrator chose. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "core/manager.h"
#include "ctl/ctl-verbs.h"
#include "ctl/ctlserver.h"
#include "kernel/host.h"
#include "lib/log.h"
#include "rules/conf.h"

#define DEFAULT_CONFIG "/etc/pinnerd.conf"
#define DEFAULT_CONFIG_DIR "/etc/pinnerd.d"
#define DEFAULT_SOCKET "/run/pinnerd/control"

static void help(void) {
        printf("Usage: pinnerd [OPTIONS]\n"
               "Keep processes and their threads on the CPUs the rules in %s choose.\n\n"
               "  -c, --config FILE        main configuration file (default %s)\n"
               "      --config-dir DIR     drop-in directory read after it (default %s; '' for none)\n"
               "  -t, --check              validate the configuration and exit (0 ok, 1 errors)\n"
               "      --once               scan, apply, and exit\n"
               "      --dry-run            decide and log, never change a mask\n"
               "      --root DIR           read proc/ and sys/ below DIR (implies --dry-run)\n"
               "      --socket PATH        control socket (default %s)\n"
               "      --log-target T       auto, journal or stderr (default auto)\n"
               "      --log-level L        err, warning, notice, info or debug (default info)\n"
               "      --version            print the version and exit\n"
               "  -h, --help               show this help and exit\n\n"
               "Exit status: 0 ok, 1 bad configuration, 2 bad usage, 3 runtime failure.\n"
               "See pinnerd(8), pinnerd.conf(5) and pinnerctl(8).\n",
               DEFAULT_CONFIG, DEFAULT_CONFIG, DEFAULT_CONFIG_DIR, DEFAULT_SOCKET);
}

/* The control socket, answered by the verbs (daemon/ctl/) on the manager's
 * loop. None for --once: a single scan answers nobody. */
static int start_control(const ManagerOptions *opt, Logger *log, Manager *m, CtlServer **ret) {
        _cleanup_(freep) char *err = NULL;
        int r;

        if (!opt->socket_path || opt->once)
                return 0;
        r = ctl_server_new(manager_event(m), opt->socket_path, ctl_verbs_handle, m, ret, &err);
        if (r < 0) {
                log_msg(log, LOG_ERR, "control socket %s: %s", opt->socket_path, err ? err : strerror(-r));
                return EXIT_RUNTIME;
        }
        return 0;
}

int main(int argc, char **argv) {
        enum {
                OPT_CONFIG_DIR = 256,
                OPT_ONCE,
                OPT_DRY_RUN,
                OPT_ROOT,
                OPT_SOCKET,
                OPT_LOG_TARGET,
                OPT_LOG_LEVEL,
                OPT_VERSION
        };
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},
                {"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
                {"check", no_argument, NULL, 't'},
                {"once", no_argument, NULL, OPT_ONCE},
                {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                {"root", required_argument, NULL, OPT_ROOT},
                {"socket", required_argument, NULL, OPT_SOCKET},
                {"log-target", required_argument, NULL, OPT_LOG_TARGET},
                {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                {"version", no_argument, NULL, OPT_VERSION},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        ManagerOptions opt = {
                .config_path = DEFAULT_CONFIG,
                .config_dir = DEFAULT_CONFIG_DIR,
                .root = "/",
                .socket_path = DEFAULT_SOCKET,
                .check_owner = true,
        };
        LogTarget target = LOG_TARGET_AUTO;
        int level = LOG_INFO, c, r;
        bool check = false;
        Logger log;
        Manager *m = NULL;

        /* Before anything can write: a log reader (a pipe on stderr) or
         * journald going away must cost log lines, never the daemon, so every
         * write sees EPIPE instead of a fatal SIGPIPE. */
        signal(SIGPIPE, SIG_IGN);

        while ((c = getopt_long(argc, argv, "c:th", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        opt.config_path = optarg;
                        break;
                case OPT_CONFIG_DIR:
                        /* An empty DIR reads no drop-ins (pinnerctl check takes the same). */
                        opt.config_dir = *optarg ? optarg : NULL;
                        break;
                case 't':
                        check = true;
                        break;
                case OPT_ONCE:
                        opt.once = true;
                        break;
                case OPT_DRY_RUN:
                        opt.dry_run = true;
                        break;
                case OPT_ROOT:
                        opt.root = optarg;
                        opt.dry_run = true;
                        break;
                case OPT_SOCKET:
                        opt.socket_path = optarg;
                        break;
                case OPT_LOG_TARGET:
                        if (log_parse_target(optarg, &target) < 0) {
                                fprintf(stderr,
                                        "pinnerd: --log-target: expected auto, journal or stderr, got '%s'\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case OPT_LOG_LEVEL:
                        if (log_parse_level(optarg, &level) < 0) {
                                fprintf(stderr,
                                        "pinnerd: --log-level: expected err, warning, notice, info or debug, "
                                        "got '%s'\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case OPT_VERSION:
                        printf("pinnerd %s\n", PINNERD_VERSION);
                        return 0;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr, "Try 'pinnerd --help'.\n");
                        return EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "pinnerd: unexpected argument '%s'\nTry 'pinnerd --help'.\n", argv[optind]);
                return EXIT_USAGE;
        }

        if (check) {
                _cleanup_(freep) char *err = NULL;
                Host *h = NULL;
                /* The host's possible CPUs turn out-of-range CPUs into warnings. */
                if (host_load(opt.root, &h, &err) < 0)
                        h = NULL;
                r = conf_check_main_host(opt.config_path, opt.config_dir, h, h ? h->possible : NULL, stdout,
                                         stderr);
                host_free(h);
                return r;
        }

        log_setup(&log, target, level);
        r = manager_new(&opt, &log, &m);
        if (r != 0) {
                log_done(&log);
                return r;
        }
        /* The manager runs the thread's default loop: records logged by its
         * handlers are written after each handler returns. */
        sd_event *e = NULL;
        if (sd_event_default(&e) >= 0) {
                (void) log_attach_event(&log, e);
                sd_event_unref(e);
        }
        /* The instance lock first, then the control socket: a second pinnerd
         * stops at the lock, before it could take the socket away. */
        CtlServer *ctl = NULL;
        r = manager_claim(m);
        if (r == 0)
                r = start_control(&opt, &log, m, &ctl);
        if (r == 0)
                r = manager_start(m);
        if (r == 0 && !opt.once)
                r = manager_run(m);
        if (!opt.once)
                manager_stop(m);
        ctl_server_free(ctl);
        manager_free(m);
        log_done(&log);
        return r;
}
