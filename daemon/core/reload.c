/* SPDX-License-Identifier: MIT */
/* Reload: the new configuration is parsed and validated whole, then swapped
 * in and reconciled; on any error nothing changes and every error is said. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "core/manager-internal.h"
#include "lib/util.h"

static void log_diags(Manager *m, const ConfDiags *d, StrVec *errors) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_(freep) char *s = conf_diag_format_bare(&d->v[i]);
                if (!s)
                        continue;
                /* The diagnostic quotes its values escaped already. */
                log_msg_escaped(m->log, d->v[i].warning ? LOG_WARNING : LOG_ERR, s);
                if (errors && !d->v[i].warning)
                        (void) strvec_push(errors, s);
        }
}

int manager_load_config(Manager *m, Config **ret, StrVec *errors) {
        ConfLoadOptions o = {
                .main_path = m->opt.config_path,
                .dir = m->opt.config_dir,
                .possible = m->host->possible,
                .host = m->host, /* terms with no CPU here warn */
                .check_owner = m->opt.check_owner,
        };
        ConfDiags d = {0};
        int r = conf_load(&o, ret, &d);
        log_diags(m, &d, errors);
        conf_diags_done(&d);
        return r;
}

int manager_reload(Manager *m, char **ret_summary, StrVec *ret_errors) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(strvec_done) StrVec local_errors = {0};
        StrVec *errors = ret_errors ? ret_errors : &local_errors;
        Counters before = m->report.counters;
        size_t before_managed = thread_table_size(m->threads);
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=reloading", now_usec());
        /* Term warnings and the re-plan see the host as it is now. */
        manager_refresh_host(m, "reload");
        r = manager_load_config(m, &c, errors);
        if (r < 0) {
                LogFields f = {.reason = errors->n ? errors->v[0] : "configuration invalid",
                               .reason_escaped = true};
                log_event(m->log, EV_RELOAD_FAILED, LOG_ERR, &f,
                          "reload rejected (%zu error%s); kept previous configuration", errors->n,
                          errors->n == 1 ? "" : "s");
                manager_notify_status(m, "READY=1\n");
                return -EINVAL;
        }
        /* Swap, then reconcile: rules that changed are re-applied, threads no
         * rule wants any more are restored. Thread entries refer to rules by
         * name, so they survive the swap. */
        config_free(m->config);
        m->config = TAKE_PTR(c);
        m->replanning = true;
        manager_rescan(m, "reload");
        m->replanning = false;
        manager_state_flush(m, true);
        (void) manager_arm_timers(m);

        uint64_t changed = m->report.counters.applied - before.applied;
        uint64_t restored = m->report.counters.restored - before.restored;
        _cleanup_(freep) char *summary =
                xasprintf("reloaded: %zu rules, %" PRIu64 " threads changed, %" PRIu64 " restored",
                          m->config->n_rules, changed, restored);
        log_event(m->log, EV_RELOADED, LOG_INFO, NULL, "%s (%zu threads managed before, %zu now)",
                  summary ? summary : "reloaded", before_managed, thread_table_size(m->threads));
        manager_notify_status(m, "READY=1\n");
        if (ret_summary)
                *ret_summary = TAKE_PTR(summary);
        return 0;
}
