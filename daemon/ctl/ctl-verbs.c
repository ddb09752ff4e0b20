/* SPDX-License-Identifier: MIT */
/* The control verbs: a request to its verb, and the verbs that act —
 * reload and rescan, through the same functions SIGHUP and the timers use.
 * The verbs that read the daemon's state and render it through output.h,
 * for people or as JSON, have a file each: status.c (status, metrics),
 * list.c, explain.c, cpus.c (cpus, audit), run.c. Long answers are built in
 * slices (CtlReply.step), so the event loop keeps pinning while a big
 * `list` is rendered. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctlproto.h"
#include "ctl/ctl-verbs.h"
#include "ctl/cpus.h"
#include "ctl/explain.h"
#include "ctl/list.h"
#include "ctl/run.h"
#include "ctl/status.h"
#include "core/manager-internal.h"
#include "lib/output.h"

static void reload_json(const ReloadResult *res, OutBuf *out) {
        JsonWriter w;

        json_init(&w, out);
        json_object_begin(&w);
        json_field_bool(&w, "reloaded", res->ok);
        if (res->ok) {
                json_field_uint(&w, "rules", res->n_rules);
                json_field_uint(&w, "threads_changed", res->changed);
                json_field_uint(&w, "restored", res->restored);
                json_key(&w, "unmatched_rules");
                json_array_begin(&w);
                for (size_t i = 0; i < res->unmatched.n; i++)
                        json_string(&w, res->unmatched.v[i]);
                json_array_end(&w);
        } else
                json_field_bool(&w, "kept_previous_configuration", true);
        json_key(&w, "files");
        json_array_begin(&w);
        for (size_t i = 0; i < res->diags.files.n; i++)
                json_string(&w, res->diags.files.v[i]);
        json_array_end(&w);
        json_key(&w, "errors");
        conf_diags_json(&w, &res->diags, false);
        json_key(&w, "warnings");
        conf_diags_json(&w, &res->diags, true);
        json_object_end(&w);
        (void) json_finish(&w);
}

static int verb_reload(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(reload_result_done) ReloadResult res = {0};
        int r = manager_reload(m, &res);

        if (r < 0)
                reply->exit_code = CTL_EXIT_FAILED;
        if (req->json) {
                reload_json(&res, &reply->out);
                return 0;
        }
        /* Every diagnostic, warnings too: what the journal got, where the
         * administrator who reloaded looks. Escaped once already. */
        for (size_t i = 0; i < res.diags.n; i++) {
                _cleanup_(freep) char *d = conf_diag_format(&res.diags.v[i]);
                outbuf_puts(&reply->err, d ? d : res.diags.v[i].message);
                outbuf_putc(&reply->err, '\n');
        }
        if (r < 0) {
                outbuf_puts(&reply->err, "kept previous configuration\n");
                return 0;
        }
        outbuf_printf(&reply->out, "%s\n", res.summary ? res.summary : "reloaded");
        if (res.unmatched.n > 0) {
                outbuf_printf(&reply->out,
                              "rule%s that match%s nothing running: ", res.unmatched.n == 1 ? "" : "s",
                              res.unmatched.n == 1 ? "es" : "");
                for (size_t i = 0; i < res.unmatched.n; i++)
                        outbuf_printf(&reply->out, "%s%s", i ? ", " : "", res.unmatched.v[i]);
                outbuf_putc(&reply->out, '\n');
        }
        return 0;
}

static int verb_rescan(Manager *m, const CtlRequest *req, CtlReply *reply) {
        uint64_t t0 = now_usec();
        Counters before = m->rc.report.counters;

        manager_rescan(m, "requested");
        double ms = (double) (now_usec() - t0) / 1000.0;
        uint64_t applied = m->rc.report.counters.applied - before.applied,
                 restored = m->rc.report.counters.restored - before.restored;
        if (req->json) {
                JsonWriter w;
                json_init(&w, &reply->out);
                json_object_begin(&w);
                json_field_uint(&w, "duration_usec", now_usec() - t0);
                json_field_uint(&w, "applied", applied);
                json_field_uint(&w, "restored", restored);
                json_field_uint(&w, "managed_threads", thread_table_size(m->rc.threads));
                json_object_end(&w);
                return json_finish(&w);
        }
        outbuf_printf(&reply->out,
                      "rescanned in %.1f ms: %" PRIu64 " applied, %" PRIu64
                      " restored, %zu threads managed\n",
                      ms, applied, restored, thread_table_size(m->rc.threads));
        return 0;
}

static const struct {
        const char *verb;
        int (*fn)(Manager *m, const CtlRequest *req, CtlReply *reply);
        bool takes_args;
} verbs[] = {
        {"status", verb_status, false}, {"list", verb_list, true},      {"explain", verb_explain, true},
        {"reload", verb_reload, false}, {"rescan", verb_rescan, false}, {"metrics", verb_metrics, false},
        {"cpus", verb_cpus, true},      {"audit", verb_audit, true},    {"run", verb_run, true},
};

int ctl_verbs_handle(void *manager, const CtlRequest *req, CtlReply *reply) {
        Manager *m = manager;

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                if (strcmp(req->verb, verbs[i].verb) != 0)
                        continue;
                if (!verbs[i].takes_args && req->n_args > 0) {
                        outbuf_printf(&reply->err, "%s takes no arguments\n", req->verb);
                        reply->exit_code = CTL_EXIT_USAGE;
                        return 0;
                }
                return verbs[i].fn(m, req, reply);
        }
        outbuf_puts(&reply->err, "unknown verb '");
        text_escape_append(&reply->err, req->verb, strlen(req->verb));
        outbuf_puts(&reply->err, "'\n");
        reply->exit_code = CTL_EXIT_USAGE;
        return 0;
}
