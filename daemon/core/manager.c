/* SPDX-License-Identifier: MIT */
/* The manager: the event loop, timers, signals, CPU hotplug, start and stop.
 * It keeps no thread state of its own; each step of the flow lives in its
 * module (see manager-internal.h), and the manager acts on what they leave
 * behind after every dispatch: originals to save, records held back. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "core/manager-internal.h"
#include "core/reconcile-drift.h"
#include "core/reconcile-scan.h"
#include "lib/output.h"
#include "lib/util.h"
#include "rules/execmark.h"

#define POLL_DEFAULT_SEC 2

const char *manager_event_source(const Manager *m) {
        if (m->opt.once)
                return "single scan";
        return m->intake.connector ? "proc-connector" : "polling";
}

/* ---- the state file ---------------------------------------------------------- */

static void state_flush(Manager *m, bool force);

static int on_state_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        state_flush(userdata, true);
        return 0;
}

/* Write the state file if an original changed (at most every
 * STATE_WRITE_INTERVAL_USEC; a timer takes the rest). */
static void state_flush(Manager *m, bool force) {
        _cleanup_(freep) char *err = NULL;
        uint64_t now = now_usec();

        if (m->rc.originals_changed || m->irqs.originals_changed || m->wqs.originals_changed) {
                m->state.dirty = true;
                m->rc.originals_changed = m->irqs.originals_changed = m->wqs.originals_changed = false;
        }
        if (!m->state_enabled || !m->state.dirty)
                return;
        if (!force && now - m->state.last_write_usec < STATE_WRITE_INTERVAL_USEC && m->event) {
                /* Coalesce: one write per interval, however many batches. */
                uint64_t due = m->state.last_write_usec + STATE_WRITE_INTERVAL_USEC;
                if (!m->state_timer) {
                        if (sd_event_add_time(m->event, &m->state_timer, CLOCK_MONOTONIC, due, 1000,
                                              on_state_timer, m) < 0) {
                                state_flush(m, true);
                                return;
                        }
                } else
                        (void) sd_event_source_set_time(m->state_timer, due);
                (void) sd_event_source_set_enabled(m->state_timer, SD_EVENT_ONESHOT);
                return;
        }
        m->state.last_write_usec = now;
        if (m->state_timer)
                (void) sd_event_source_set_enabled(m->state_timer, SD_EVENT_OFF);
        /* The originals of IRQs and workqueues: a few dozen lines at most. */
        size_t n_k = irqs_state_count(&m->irqs) + wqs_state_count(&m->wqs);
        _cleanup_(freep) StateKernelEntry *k = calloc(n_k + 1, sizeof *k);
        if (!k) {
                m->state.write_failures++;
                return;
        }
        n_k = irqs_state_entries(&m->irqs, k, n_k);
        n_k += wqs_state_entries(&m->wqs, k + n_k, wqs_state_count(&m->wqs));
        int r = state_save(&m->state, m->rc.threads, k, n_k, &err);
        if (r < 0) {
                m->state.write_failures++;
                if (!m->state.failing)
                        log_msg(m->log, LOG_WARNING,
                                "cannot save original masks: %s; pinning goes on, but after a crash they "
                                "would "
                                "be lost (retrying)",
                                err ? err : strerror(-r));
                m->state.failing = true;
                return;
        }
        if (m->state.failing)
                log_msg(m->log, LOG_NOTICE, "original masks saved to %s/state again", m->state.dir);
        m->state.failing = false;
        m->state.dirty = false;
}

/* ---- IRQs and workqueues ------------------------------------------------------ */

static bool has_follow_rules(const Config *c) {
        for (size_t i = 0; i < c->n_rules; i++)
                if (c->rules[i].follow)
                        return true;
        return false;
}

/* One pass over IRQs and workqueues: decide, save the originals that are
 * new before anything is written (a crash right after a write must not
 * lose one), then write. follow_only: only IRQs that follow a task rule's
 * threads, which moved. */
static void targets_sync(Manager *m, bool replanning, bool follow_only) {
        const Config *c = m->rc.config;
        bool irqs = config_has_kind(c, RULE_IRQS) || m->irqs.n > 0 || m->irqs.dflt.original;
        bool wqs = !follow_only && (config_has_kind(c, RULE_WORKQUEUES) || m->wqs.n > 0);
        size_t n = 0;

        if (irqs)
                n += irqs_plan(&m->irqs, &m->rc, follow_only, replanning);
        if (wqs)
                n += wqs_plan(&m->wqs, &m->rc, replanning);
        if (m->irqs.originals_added || m->wqs.originals_added) {
                m->irqs.originals_added = m->wqs.originals_added = false;
                state_flush(m, true);
        }
        if (n > 0) {
                if (irqs)
                        irqs_apply(&m->irqs, &m->rc);
                if (wqs)
                        wqs_apply(&m->wqs, &m->rc);
        }
        if (irqs && !follow_only)
                irqs_check_irqbalance(&m->irqs, &m->rc);
}

static int on_irq_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        targets_sync(userdata, false, false);
        return 0;
}

/* A device came or changed: its IRQs are there a moment later, and a
 * device rarely comes with one event. One pass 200 ms after the first. */
static int on_device(sd_device_monitor *mon, sd_device *dev, void *userdata) {
        Manager *m = userdata;
        sd_device_action_t a;

        if (sd_device_get_action(dev, &a) < 0 || a == SD_DEVICE_REMOVE || a == SD_DEVICE_UNBIND)
                return 0;
        if (!m->irq_timer) {
                if (sd_event_add_time_relative(m->event, &m->irq_timer, CLOCK_MONOTONIC, 200 * 1000,
                                               50 * 1000, on_irq_timer, m) < 0)
                        return 0;
        } else if (sd_event_source_get_enabled(m->irq_timer, NULL) == 0)
                (void) sd_event_source_set_time_relative(m->irq_timer, 200 * 1000);
        else
                return 0; /* a pass is already due */
        (void) sd_event_source_set_enabled(m->irq_timer, SD_EVENT_ONESHOT);
        return 0;
}

/* The subsystems whose devices bring IRQs: buses, NICs and their queues. */
static const char *const irq_subsystems[] = {"pci",   "virtio", "platform",  "net",  "queues",
                                             "usb",   "nvme",   "scsi_host", "vfio", "xen",
                                             "vmbus", "cxl",    "i2c",       "spi"};

/* Device events only while some rule is about IRQs: otherwise nothing to
 * wake for. */
static void watch_devices(Manager *m) {
        bool want = config_has_kind(m->rc.config, RULE_IRQS) && !m->opt.once && m->event &&
                    strcmp(m->opt.root, "/") == 0;
        int r = 0;

        if (!want || m->devices) {
                if (!want && m->devices)
                        m->devices = sd_device_monitor_unref(m->devices);
                return;
        }
        r = sd_device_monitor_new(&m->devices);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(irq_subsystems); i++)
                r = sd_device_monitor_filter_add_match_subsystem_devtype(m->devices, irq_subsystems[i], NULL);
        if (r >= 0)
                r = sd_device_monitor_attach_event(m->devices, m->event);
        if (r >= 0)
                r = sd_device_monitor_start(m->devices, on_device, m);
        if (r < 0) {
                log_msg(m->log, LOG_WARNING,
                        "no device events (%s); IRQs that appear later are found at verify", strerror(-r));
                m->devices = sd_device_monitor_unref(m->devices);
        }
}

/* ---- timers, signals, hotplug ----------------------------------------------- */

static uint64_t rescan_interval(const Manager *m) {
        unsigned s = m->rc.config->settings.rescan;
        if (s == 0 && !m->intake.connector)
                s = POLL_DEFAULT_SEC;
        return (uint64_t) s * 1000000u;
}

static int on_rescan_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        reconcile_rescan(&m->rc, m->intake.connector ? "periodic" : "polling");
        (void) sd_event_source_set_time_relative(s, rescan_interval(m));
        return 0;
}

static int on_verify_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        /* A dry run never sets a mask, so there is nothing to drift from. */
        if (!m->opt.dry_run)
                reconcile_check_drift(&m->rc);
        /* IRQs and workqueues: drift, and IRQs no device event announced. */
        targets_sync(m, false, false);
        (void) sd_event_source_set_time_relative(s, (uint64_t) m->rc.config->settings.verify * 1000000u);
        return 0;
}

static int on_storm_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        (void) log_storm_flush(m->log, now_usec());
        return 0;
}

/* The summary timer runs only while the logger holds records back, so an
 * idle daemon has no timer at all (benchmarked: zero wakeups when idle). */
static void storm_timer_update(Manager *m) {
        uint64_t due = log_storm_deadline(m->log);

        if (!m->event)
                return;
        if (due == 0) {
                if (m->storm_timer)
                        (void) sd_event_source_set_enabled(m->storm_timer, SD_EVENT_OFF);
                return;
        }
        if (!m->storm_timer) {
                if (sd_event_add_time(m->event, &m->storm_timer, CLOCK_MONOTONIC, due, 100 * 1000,
                                      on_storm_timer, m) < 0)
                        return;
        } else
                (void) sd_event_source_set_time(m->storm_timer, due);
        (void) sd_event_source_set_enabled(m->storm_timer, SD_EVENT_ONESHOT);
}

/* (Re)arm the periodic timers for the current settings. */
static int arm_timer(Manager *m, sd_event_source **src, uint64_t interval, sd_event_time_handler_t cb) {
        int r;

        if (interval == 0) {
                if (*src)
                        (void) sd_event_source_set_enabled(*src, SD_EVENT_OFF);
                return 0;
        }
        if (!*src) {
                r = sd_event_add_time_relative(m->event, src, CLOCK_MONOTONIC, interval, 100 * 1000, cb, m);
                if (r < 0)
                        return r;
        } else
                (void) sd_event_source_set_time_relative(*src, interval);
        return sd_event_source_set_enabled(*src, SD_EVENT_ON);
}

static int arm_timers(Manager *m) {
        if (!m->event)
                return 0;
        int r = arm_timer(m, &m->rescan_timer, rescan_interval(m), on_rescan_timer);
        if (r < 0)
                return r;
        return arm_timer(m, &m->verify_timer, (uint64_t) m->rc.config->settings.verify * 1000000u,
                         on_verify_timer);
}

/* After every dispatch (an event batch, a timer, a request): the modules
 * below leave what happened in their flags and the logger's queue; the
 * manager saves originals and keeps the records' summary timer in step. An
 * idle loop dispatches nothing, so this never wakes it. */
static int on_after_dispatch(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        if (m->rc.placements_changed) {
                m->rc.placements_changed = false;
                if (has_follow_rules(m->rc.config))
                        targets_sync(m, true, true);
        }
        /* Placements that changed in this dispatch: passes start (they run
         * later, from their own idle-priority timer). */
        memory_update(&m->memory);
        state_flush(m, false);
        storm_timer_update(m);
        return 0;
}

/* guarantee = exec for the config in force: marks follow every reload and
 * hotplug. A run that sets no mask on this host holds no exec. */
static void guarantee_refresh(Manager *m) {
        Guarantee *g = &m->guarantee;

        if (m->opt.once || m->opt.dry_run || strcmp(m->opt.root, "/") != 0) {
                g->wanted = execmark_wanted(m->rc.config);
                if (!g->error)
                        g->error = strdup(m->opt.once      ? "--once: a single scan holds no exec"
                                          : m->opt.dry_run ? "a dry run sets no mask"
                                                           : "--root: not this host");
                return;
        }
        guarantee_update(g, m->event, &m->rc);
}

static void between_tasks(void *userdata) {
        guarantee_service(userdata);
}

static void notify_status(Manager *m, const char *prefix) {
        (void) sd_notifyf(false, "%sSTATUS=%zu rules, %zu threads pinned, events from %s", prefix,
                          m->rc.config->n_rules, thread_table_size(m->rc.threads), manager_event_source(m));
}

/* The process events the rules need: UID events only while a rule matches
 * on users (a user change cannot change any other decision). */
static uint32_t needed_events(const Manager *m) {
        return CNPROC_EVENTS_USED | (m->rc.config->facts & FACT_UID ? CNPROC_EV_UID : 0);
}

int manager_reload(Manager *m, ReloadResult *ret) {
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=reloading", now_usec());
        int r = reload_apply(&m->rc, &m->source, ret);
        /* For the metrics: the configuration on disk is what the next start
         * reads, so a rejected reload means that start would fail. */
        m->reload_ok = r >= 0;
        if (r >= 0) {
                memory_config_changed(&m->memory);
                m->reload_success_realtime_usec = realtime_usec();
                int k = intake_set_events(&m->intake, needed_events(m));
                if (k < 0)
                        log_msg(m->log, LOG_WARNING,
                                "cannot change which process events pinnerd receives: %s; a user change "
                                "is seen at the next rescan",
                                strerror(-k));
                m->rc.placements_changed = false;
                targets_sync(m, true, false);
                watch_devices(m);
                state_flush(m, true);
                (void) arm_timers(m);
                guarantee_refresh(m);
        }
        notify_status(m, "READY=1\n");
        return r;
}

void manager_rescan(Manager *m, const char *why) {
        reconcile_rescan(&m->rc, why);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                (void) manager_reload(m, NULL);
                return 0;
        }
        log_msg(m->log, LOG_INFO, "received %s, stopping", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        return sd_event_exit(m->event, 0);
}

static int on_hotplug(sd_device_monitor *mon, sd_device *dev, void *userdata) {
        Manager *m = userdata;
        _cleanup_(freep) char *before = fmt_cpus(m->rc.host->online), *after = NULL;

        reconcile_refresh_host(&m->rc, "CPU hotplug");
        after = fmt_cpus(m->rc.host->online);
        if (before && after && strcmp(before, after) == 0)
                return 0;
        log_msg(m->log, LOG_NOTICE, "online CPUs changed from %s to %s; re-planning", before, after);
        /* The tracepoints are per CPU: cover the CPUs online now. */
        if (driftwatch_per_cpu(&m->drift) && driftwatch_start(&m->drift, m->event, &m->rc) < 0)
                log_msg(m->log, LOG_WARNING, "drift events off after CPU hotplug: %s", m->drift.error);
        guarantee_refresh(m);
        reconcile_rescan(&m->rc, "CPU hotplug");
        targets_sync(m, true, false);
        return 0;
}

/* ---- life cycle --------------------------------------------------------------- */

int manager_new(const ManagerOptions *opt, Logger *log, Manager **ret) {
        Manager *m = calloc(1, sizeof *m);
        _cleanup_(freep) char *err = NULL;
        Host *host = NULL;
        Config *config = NULL;
        int r;

        if (!m)
                return EXIT_RUNTIME;
        m->opt = *opt;
        m->log = log;
        m->rc.procfd = -1;
        m->state = (StateDir){.dirfd = -1, .lock_fd = -1, .append_fd = -1};
        m->start_usec = now_usec();
        guarantee_init(&m->guarantee);
        m->start_realtime_usec = m->reload_success_realtime_usec = realtime_usec();
        m->reload_ok = true; /* the configuration read at start */
        m->source = (ConfigSource){
                .path = opt->config_path, .dir = opt->config_dir, .check_owner = opt->check_owner};
        if (intake_init(&m->intake) < 0) {
                manager_free(m);
                return EXIT_RUNTIME;
        }

        r = host_load(opt->root, &host, &err);
        if (r < 0) {
                log_msg(log, LOG_ERR, "cannot read the host's CPUs below %s: %s", opt->root,
                        err ? err : strerror(-r));
                manager_free(m);
                return EXIT_RUNTIME;
        }
        free(TAKE_PTR(err));
        r = reconcile_init(&m->rc, log, host, opt->dry_run, opt->root, &err);
        if (r < 0) {
                log_msg(log, LOG_ERR, "%s", err ? err : strerror(-r));
                host_free(host);
                manager_free(m);
                return EXIT_RUNTIME;
        }
        r = reload_read(&m->rc, &m->source, &config, NULL);
        if (r < 0) {
                log_msg(log, LOG_ERR, "configuration rejected; not starting");
                manager_free(m);
                return EXIT_CONFIG;
        }
        reconcile_set_config(&m->rc, config);
        memory_init(&m->memory, &m->rc);
        *ret = m;
        return 0;
}

sd_event *manager_event(Manager *m) {
        return m->event;
}

int manager_claim(Manager *m) {
        _cleanup_(freep) char *err = NULL;
        int r;

        r = sd_event_default(&m->event);
        if (r < 0) {
                log_msg(m->log, LOG_ERR, "cannot create the event loop: %s", strerror(-r));
                return EXIT_RUNTIME;
        }
        /* A single dry scan changes nothing and answers nobody. */
        if (!m->opt.socket_path || (m->opt.once && m->opt.dry_run))
                return 0;
        r = state_dir_open(&m->state, m->opt.socket_path, &err);
        if (r >= 0)
                r = state_lock(&m->state, &err);
        if (r == -EBUSY) {
                log_msg(m->log, LOG_ERR, "another pinnerd is running on %s (it holds %s/lock); not starting",
                        m->opt.socket_path, m->state.dir);
                return EXIT_RUNTIME;
        }
        if (r < 0) {
                log_msg(m->log, LOG_ERR, "%s", err ? err : strerror(-r));
                return EXIT_RUNTIME;
        }
        /* A dry run sets nothing, so it has no originals to keep. */
        m->state_enabled = !m->opt.dry_run;
        return 0;
}

static int watch_signals(Manager *m) {
        sigset_t ss;
        int r;

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        if ((r = sd_event_add_signal(m->event, &m->sig_term, SIGTERM, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sig_int, SIGINT, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sig_hup, SIGHUP, on_signal, m)) < 0) {
                log_msg(m->log, LOG_ERR, "cannot watch signals: %s", strerror(-r));
                return EXIT_RUNTIME;
        }
        return 0;
}

static void watch_hotplug(Manager *m) {
        int r;

        if (strcmp(m->opt.root, "/") != 0)
                return;
        r = sd_device_monitor_new(&m->hotplug);
        if (r >= 0)
                r = sd_device_monitor_filter_add_match_subsystem_devtype(m->hotplug, "cpu", NULL);
        if (r >= 0)
                r = sd_device_monitor_attach_event(m->hotplug, m->event);
        if (r >= 0)
                r = sd_device_monitor_start(m->hotplug, on_hotplug, m);
        if (r < 0) {
                log_msg(m->log, LOG_WARNING, "no CPU hotplug events (%s); a rescan picks changes up",
                        strerror(-r));
                m->hotplug = sd_device_monitor_unref(m->hotplug);
        }
}

/* The originals a previous run (killed, say) left: taken over while their
 * threads live. */
static void adopt_state(Manager *m) {
        _cleanup_(state_entries_done) StateEntries e = {0};
        _cleanup_(freep) char *err = NULL, *from = NULL;
        int r = state_load(&m->state, &e, &err);

        if (r < 0) {
                log_msg(m->log, LOG_WARNING, "ignoring %s/state: %s", m->state.dir, err ? err : strerror(-r));
                m->state.dirty = true; /* replace it at the first write */
                return;
        }
        from = xasprintf("%s/state", m->state.dir);
        reconcile_adopt_originals(&m->rc, &e, from ? from : "state");
        irqs_adopt(&m->irqs, &m->rc, &e);
        wqs_adopt(&m->wqs, &m->rc, &e);
}

/* Rules no running thread matches: worth a word at start (a typo in a
 * comm, a service not started yet). */
static void say_unmatched(Manager *m) {
        _cleanup_(strvec_done) StrVec names = {0};
        OutBuf o = OUTBUF_INIT;

        if (reload_unmatched_rules(&m->rc, &names) < 0 || names.n == 0)
                return;
        for (size_t i = 0; i < names.n; i++)
                outbuf_printf(&o, "%s%s", i ? ", " : "", names.v[i]);
        log_msg(m->log, LOG_NOTICE, "rules that match nothing running: %s", outbuf_str(&o));
        outbuf_done(&o);
}

int manager_start(Manager *m) {
        _cleanup_(freep) char *online = NULL, *isolated = NULL;
        Reconciler *rc = &m->rc;
        int r;

        /* A signal during the first scan waits for the loop. */
        if (!m->opt.once && (r = watch_signals(m)) != 0)
                return r;

        /* Subscribe before the scan, so nothing started in between is missed. */
        if (!m->opt.once && strcmp(m->opt.root, "/") == 0 && intake_connect(&m->intake, needed_events(m)) < 0)
                log_msg(m->log, LOG_WARNING, "%s; polling /proc every %u s instead",
                        m->intake.error ? m->intake.error : "no proc connector",
                        rc->config->settings.rescan ? rc->config->settings.rescan : POLL_DEFAULT_SEC);

        if (m->state_enabled) {
                adopt_state(m);
                /* A snapshot before the first write, for originals to be
                 * appended to (each before the write that replaces it). */
                m->state.dirty = true;
                state_flush(m, true);
                rc->state = &m->state;
        }
        /* Marks before the first scan: an exec during it waits for its pin
         * no longer than one process of the scan. */
        if (!m->opt.once && !m->opt.dry_run && strcmp(m->opt.root, "/") == 0)
                guarantee_prepare(&m->guarantee, m->event, rc);
        guarantee_refresh(m);
        rc->between_tasks = between_tasks;
        rc->between_userdata = &m->guarantee;
        reconcile_rescan(rc, "start");
        m->scanned = true;
        /* After the threads: an IRQ that follows a rule takes their CPUs. */
        rc->placements_changed = false;
        targets_sync(m, true, false);
        state_flush(m, true);
        online = fmt_cpus(rc->host->online);
        isolated = fmt_cpus(rc->host->isolated);
        log_event(m->log, EV_STARTED, LOG_INFO, NULL,
                  "pinnerd %s started: %zu rules, %zu threads managed, online CPUs %s, isolated %s, events "
                  "from %s%s",
                  PINNERD_VERSION, rc->config->n_rules, thread_table_size(rc->threads), online,
                  isolated && *isolated ? isolated : "none", manager_event_source(m),
                  m->opt.dry_run ? " (dry run)" : "");
        say_unmatched(m);
        /* Where memory follows the CPUs, the first placements start their
         * passes (said once when this host has one node). */
        memory_config_changed(&m->memory);
        if (m->opt.once) {
                memory_run_all(&m->memory);
                return 0;
        }

        if (m->intake.connector) {
                r = intake_attach(&m->intake, m->event, rc);
                if (r < 0) {
                        log_msg(m->log, LOG_ERR, "cannot watch the proc connector: %s", strerror(-r));
                        return EXIT_RUNTIME;
                }
        }
        /* A dry run or a captured tree (--root) sets no mask to drift from. */
        if (m->opt.dry_run || strcmp(m->opt.root, "/") != 0)
                m->drift.error = strdup(m->opt.dry_run ? "a dry run sets no mask" : "--root: not this host");
        else if (driftwatch_start(&m->drift, m->event, rc) < 0)
                log_msg(m->log, LOG_NOTICE, "drift is checked every verify interval only: %s",
                        m->drift.error ? m->drift.error : "no sched_setaffinity events");
        if (m->intake.connector)
                log_msg(m->log, LOG_INFO, "process events: %s filter%s%s; drift events: %s",
                        intake_filter_name(&m->intake),
                        m->intake.filter == CN_FILTER_KERNEL ? "" : " (kernel filter: ",
                        m->intake.filter == CN_FILTER_KERNEL           ? ""
                        : m->intake.filter_forced                      ? "off by PINNERD_PROC_FILTER)"
                        : m->intake.kernel_filter_error == -EOPNOTSUPP ? "not honoured, a kernel before 6.6)"
                                                                       : "not confirmed)",
                        driftwatch_source(&m->drift));
        r = arm_timers(m);
        if (r >= 0)
                r = sd_event_add_post(m->event, &m->after_dispatch, on_after_dispatch, m);
        if (r < 0) {
                log_msg(m->log, LOG_ERR, "cannot arm timers: %s", strerror(-r));
                return EXIT_RUNTIME;
        }
        storm_timer_update(m);
        (void) memory_attach(&m->memory, m->event);
        watch_hotplug(m);
        watch_devices(m);

        /* Keeps systemd's watchdog fed when WATCHDOG_USEC is set. */
        (void) sd_event_set_watchdog(m->event, true);
        notify_status(m, "READY=1\n");
        return 0;
}

int manager_run(Manager *m) {
        int r = sd_event_loop(m->event);
        if (r < 0) {
                log_msg(m->log, LOG_ERR, "event loop failed: %s", strerror(-r));
                return EXIT_RUNTIME;
        }
        return m->exit_code;
}

void manager_stop(Manager *m) {
        const Settings *set = m->rc.config ? &m->rc.config->settings : NULL;
        size_t n = 0;

        /* No exec waits for a daemon on its way out. */
        guarantee_stop(&m->guarantee);
        /* Refused before the first scan (another instance holds the lock,
         * say): nothing was touched, and nothing had started. */
        if (!m->scanned)
                return;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=stopping: restoring masks");
        if (set && set->restore && set->restore_at_stop && m->rc.threads) {
                n = reconcile_restore_all(&m->rc, "pinnerd stopping");
                n += irqs_restore_all(&m->irqs, &m->rc, "pinnerd stopping");
                n += wqs_restore_all(&m->wqs, &m->rc, "pinnerd stopping");
                /* Everything is back: nothing for a later start to take over. */
                if (m->state_enabled)
                        (void) unlinkat(m->state.dirfd, "state", 0);
                m->state_enabled = false;
                m->rc.state = NULL;
        }
        log_event(m->log, EV_STOPPING, LOG_INFO, NULL,
                  "pinnerd stopping: %zu threads managed, %zu restored%s",
                  m->rc.threads ? thread_table_size(m->rc.threads) : 0, n,
                  set && set->restore && !set->restore_at_stop
                          ? " (restore-at-stop = no: masks stay; the state file keeps the originals)"
                          : "");
}

void manager_free(Manager *m) {
        if (!m)
                return;
        /* An unclean exit keeps what a restart needs. */
        state_flush(m, true);
        sd_device_monitor_unref(m->hotplug);
        sd_device_monitor_unref(m->devices);
        sd_event_source_unref(m->irq_timer);
        intake_done(&m->intake);
        guarantee_stop(&m->guarantee);
        driftwatch_stop(&m->drift);
        sd_event_source_unref(m->rescan_timer);
        sd_event_source_unref(m->verify_timer);
        sd_event_source_unref(m->storm_timer);
        sd_event_source_unref(m->state_timer);
        sd_event_source_unref(m->after_dispatch);
        sd_event_source_unref(m->sig_term);
        sd_event_source_unref(m->sig_int);
        sd_event_source_unref(m->sig_hup);
        memory_done(&m->memory);
        sd_event_unref(m->event);
        irqs_done(&m->irqs);
        wqs_done(&m->wqs);
        reconcile_done(&m->rc);
        state_dir_close(&m->state);
        free(m);
}
