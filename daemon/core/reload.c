/* SPDX-License-Identifier: MIT */
/* Reload: the new configuration is parsed and validated whole, then swapped
 * in and reconciled; on any error nothing changes and every error is said. */
#include "core/reload.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/reconcile-scan.h"
#include "lib/output.h"

void reload_result_done(ReloadResult *r) {
        free(r->summary);
        conf_diags_done(&r->diags);
        strvec_done(&r->unmatched);
        *r = (ReloadResult){0};
}

static void log_diags(Reconciler *rc, const ConfDiags *d) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_(freep) char *s = conf_diag_format_bare(&d->v[i]);
                if (!s)
                        continue;
                /* The diagnostic quotes its values escaped already. */
                log_msg_escaped(rc->log, d->v[i].warning ? LOG_WARNING : LOG_ERR, s);
        }
}

int reload_read(Reconciler *rc, const ConfigSource *src, Config **ret, ConfDiags *ret_diags) {
        ConfLoadOptions o = {
                .main_path = src->path,
                .dir = src->dir,
                .possible = rc->host->possible,
                .host = rc->host, /* terms with no CPU here warn */
                .check_owner = src->check_owner,
        };
        ConfDiags d = {0};
        int r = conf_load(&o, ret, &d);
        log_diags(rc, &d);
        if (ret_diags)
                *ret_diags = d;
        else
                conf_diags_done(&d);
        return r;
}

size_t *reload_rule_counts(const Reconciler *rc, bool pinned_only) {
        size_t n_names = rc->rule_names.n, i = 0;
        _cleanup_(freep) size_t *per_name = calloc(n_names ? n_names : 1, sizeof(size_t));
        size_t *per_rule = calloc(rc->config->n_rules ? rc->config->n_rules : 1, sizeof(size_t));
        Thread *th;

        if (!per_name || !per_rule) {
                free(per_rule);
                return NULL;
        }
        /* Entries point at interned names: counting per name pointer is cheap. */
        while ((th = thread_table_next(rc->threads, &i)))
                if (th->rule && (th->applied || !pinned_only))
                        for (size_t k = 0; k < n_names; k++)
                                if (rc->rule_names.v[k] == th->rule) {
                                        per_name[k]++;
                                        break;
                                }
        for (size_t r = 0; r < rc->config->n_rules; r++)
                for (size_t k = 0; k < n_names; k++)
                        if (strcmp(rc->rule_names.v[k], rc->config->rules[r].name) == 0)
                                per_rule[r] = per_name[k];
        return per_rule;
}

int reload_unmatched_rules(const Reconciler *rc, StrVec *ret) {
        _cleanup_(freep) size_t *counts = reload_rule_counts(rc, false);

        if (!counts)
                return -ENOMEM;
        for (size_t i = 0; i < rc->config->n_rules; i++) {
                const Rule *r = &rc->config->rules[i];
                /* Rules about IRQs and workqueues match no thread by design. */
                if (r->kind == RULE_IRQS || r->kind == RULE_WORKQUEUES)
                        continue;
                if (counts[i] == 0 && strvec_push(ret, r->name) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int reload_apply(Reconciler *rc, const ConfigSource *src, ReloadResult *ret) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(reload_result_done) ReloadResult res = {0};
        Counters before = rc->report.counters;
        size_t before_managed = thread_table_size(rc->threads);
        int r;

        /* Term warnings and the re-plan see the host as it is now. */
        reconcile_refresh_host(rc, "reload");
        r = reload_read(rc, src, &c, &res.diags);
        if (r < 0) {
                _cleanup_(freep) char *first = NULL;
                for (size_t i = 0; i < res.diags.n && !first; i++)
                        if (!res.diags.v[i].warning)
                                first = conf_diag_format_bare(&res.diags.v[i]);
                LogFields f = {.reason = first ? first : "configuration invalid", .reason_escaped = true};
                log_event(rc->log, EV_RELOAD_FAILED, LOG_ERR, &f,
                          "reload rejected (%zu error%s); kept previous configuration", res.diags.n_errors,
                          res.diags.n_errors == 1 ? "" : "s");
                if (ret)
                        *ret = TAKE_STRUCT(res);
                return -EINVAL;
        }
        /* Swap, then reconcile: rules that changed are re-applied, threads no
         * rule wants any more are restored. Thread entries refer to rules by
         * name, so they survive the swap. */
        reconcile_set_config(rc, TAKE_PTR(c));
        rc->replanning = true;
        reconcile_rescan(rc, "reload");
        rc->replanning = false;

        res.ok = true;
        res.n_rules = rc->config->n_rules;
        res.changed = rc->report.counters.applied - before.applied;
        res.restored = rc->report.counters.restored - before.restored;
        res.summary = xasprintf("reloaded: %zu rules, %" PRIu64 " threads changed, %" PRIu64 " restored",
                                res.n_rules, res.changed, res.restored);
        (void) reload_unmatched_rules(rc, &res.unmatched);
        OutBuf unmatched = OUTBUF_INIT;
        for (size_t i = 0; i < res.unmatched.n; i++)
                outbuf_printf(&unmatched, "%s%s",
                              i ? ", " : "; rules that match nothing running: ", res.unmatched.v[i]);
        log_event(rc->log, EV_RELOADED, LOG_INFO, NULL, "%s (%zu threads managed before, %zu now)%s",
                  res.summary ? res.summary : "reloaded", before_managed, thread_table_size(rc->threads),
                  outbuf_str(&unmatched));
        outbuf_done(&unmatched);
        if (ret)
                *ret = TAKE_STRUCT(res);
        return 0;
}
