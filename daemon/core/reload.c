/* SPDX-License-Identifier: MIT */
/* Reload: the new configuration is parsed and validated whole, then swapped
 * in and reconciled; on any error nothing changes and every error is said. */
#include "core/reload.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static void log_diags(Reconciler *rc, const ConfDiags *d, StrVec *errors) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_(freep) char *s = conf_diag_format_bare(&d->v[i]);
                if (!s)
                        continue;
                /* The diagnostic quotes its values escaped already. */
                log_msg_escaped(rc->log, d->v[i].warning ? LOG_WARNING : LOG_ERR, s);
                if (errors && !d->v[i].warning)
                        (void) strvec_push(errors, s);
        }
}

int reload_read(Reconciler *rc, const ConfigSource *src, Config **ret, StrVec *errors) {
        ConfLoadOptions o = {
                .main_path = src->path,
                .dir = src->dir,
                .possible = rc->host->possible,
                .host = rc->host, /* terms with no CPU here warn */
                .check_owner = src->check_owner,
        };
        ConfDiags d = {0};
        int r = conf_load(&o, ret, &d);
        log_diags(rc, &d, errors);
        conf_diags_done(&d);
        return r;
}

int reload_apply(Reconciler *rc, const ConfigSource *src, char **ret_summary, StrVec *ret_errors) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(strvec_done) StrVec local_errors = {0};
        StrVec *errors = ret_errors ? ret_errors : &local_errors;
        Counters before = rc->report.counters;
        size_t before_managed = thread_table_size(rc->threads);
        int r;

        /* Term warnings and the re-plan see the host as it is now. */
        reconcile_refresh_host(rc, "reload");
        r = reload_read(rc, src, &c, errors);
        if (r < 0) {
                LogFields f = {.reason = errors->n ? errors->v[0] : "configuration invalid",
                               .reason_escaped = true};
                log_event(rc->log, EV_RELOAD_FAILED, LOG_ERR, &f,
                          "reload rejected (%zu error%s); kept previous configuration", errors->n,
                          errors->n == 1 ? "" : "s");
                return -EINVAL;
        }
        /* Swap, then reconcile: rules that changed are re-applied, threads no
         * rule wants any more are restored. Thread entries refer to rules by
         * name, so they survive the swap. */
        reconcile_set_config(rc, TAKE_PTR(c));
        rc->replanning = true;
        reconcile_rescan(rc, "reload");
        rc->replanning = false;

        uint64_t changed = rc->report.counters.applied - before.applied;
        uint64_t restored = rc->report.counters.restored - before.restored;
        _cleanup_(freep) char *summary =
                xasprintf("reloaded: %zu rules, %" PRIu64 " threads changed, %" PRIu64 " restored",
                          rc->config->n_rules, changed, restored);
        log_event(rc->log, EV_RELOADED, LOG_INFO, NULL, "%s (%zu threads managed before, %zu now)",
                  summary ? summary : "reloaded", before_managed, thread_table_size(rc->threads));
        if (ret_summary)
                *ret_summary = TAKE_PTR(summary);
        return 0;
}
