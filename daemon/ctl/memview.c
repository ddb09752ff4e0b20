/* SPDX-License-Identifier: MIT */
#include "ctl/memview.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

/* The CPUs pinnerd keeps pid's managed threads on; without any, the
 * leader's mask now. */
static CpuSet *process_cpus(Manager *m, pid_t pid) {
        CpuSet *cpus = NULL;

        for (const Thread *th = thread_table_first_of(m->rc.threads, pid); th; th = th->pid_next) {
                if (!th->applied)
                        continue;
                if (!cpus && !(cpus = cpuset_new()))
                        return NULL;
                if (cpuset_or(cpus, th->applied) < 0) {
                        cpuset_free(cpus);
                        return NULL;
                }
        }
        if (!cpus)
                (void) affinity_get(&m->rc.aff, pid, pid, &cpus);
        return cpus;
}

int memview_read(Manager *m, const PeerView *peer, pid_t pid, MemView *ret) {
        _cleanup_(cpuset_freep) CpuSet *cpus = NULL;
        const NumaUsage *u = NULL;
        int r;

        memview_done(ret);
        /* numa_maps needs ptrace read access, as exe does. */
        if (peer && !peer_may_read_exe(peer, pid)) {
                ret->error = -EACCES;
                return 0;
        }
        /* At most once a second per process, however often it is asked. */
        r = memory_usage(&m->memory, pid, &u);
        if (r > 0)
                return 1;
        if (r == 0)
                r = numa_usage_copy(u, &ret->usage);
        if (r < 0) {
                ret->error = r;
                return 0;
        }
        cpus = process_cpus(m, pid);
        if (cpus && numa_nodes_of_cpus(m->rc.host, cpus, &ret->nodes) < 0)
                ret->nodes = NULL;
        /* A kernel without NUMA (no node directory) is one node: all local. */
        if (!ret->nodes || (cpuset_empty(ret->nodes) && m->rc.host->n_nodes == 0)) {
                cpuset_free(ret->nodes);
                ret->nodes = cpuset_new();
                if (ret->nodes)
                        (void) cpuset_add(ret->nodes, 0);
        }
        ret->permille = numa_locality_permille(&ret->usage, ret->nodes);
        return 0;
}

void memview_done(MemView *v) {
        numa_usage_done(&v->usage);
        cpuset_free(v->nodes);
        *v = (MemView){.permille = -1};
}

void memview_short(const MemView *v, char *buf, size_t size) {
        if (v->error == -EACCES)
                snprintf(buf, size, "withheld");
        else if (v->error < 0)
                snprintf(buf, size, "?");
        else if (v->permille < 0)
                snprintf(buf, size, "-");
        else
                snprintf(buf, size, "%d%%", v->permille / 10);
}

static const char *verdict_name(MemVerdict v) {
        static const char *const names[] = {"keep",       "one-node",  "unplaced",
                                            "everywhere", "forbidden", "move"};
        return (unsigned) v < ELEMENTSOF(names) ? names[v] : "?";
}

static const char *withheld_or(const MemView *v) {
        return v->error == -EACCES ? "withheld (you could not read its numa_maps yourself)"
                                   : strerror(-v->error);
}

void memview_explain_text(Manager *m, const MemView *v, pid_t pid, OutBuf *o) {
        const MemProc *mp = memory_process(&m->memory, pid);

        if (v->error < 0)
                outbuf_printf(o, "memory: %s\n", withheld_or(v));
        else {
                _cleanup_(freep) char *loc = numa_locality_format(&v->usage, v->nodes),
                                      *by = numa_usage_format(&v->usage);
                outbuf_printf(o, "memory: %s, its CPUs' node%s", loc ? loc : "?",
                              v->nodes && cpuset_count(v->nodes) == 1 ? "" : "s");
                if (v->usage.total_kb > 0)
                        outbuf_printf(o, " (%s)", by ? by : "?");
                outbuf_putc(o, '\n');
        }
        if (!mp)
                return;
        outbuf_printf(o, "memory = %s (rule ", memory_mode_name(mp->plan.mode));
        text_escape_append(o, mp->rule, strlen(mp->rule));
        outbuf_puts(o, "): ");
        if (mp->plan.verdict != MEM_MOVE) {
                outbuf_printf(o, "pages stay where they are: %s\n", mp->plan.reason ? mp->plan.reason : "?");
                return;
        }
        _cleanup_(freep) char *to = cpuset_format_list(mp->plan.nodes);
        const char *how = mp->plan.mode == MEMORY_INTERLEAVE ? "spread over" : "to";
        uint64_t failed = pagemove_failed(&mp->stats);
        if (m->rc.dry_run)
                outbuf_printf(o, "pages would go %s node%s %s (dry run)\n", how,
                              cpuset_count(mp->plan.nodes) == 1 ? "" : "s", to);
        else if (mp->running)
                outbuf_printf(o,
                              "moving %s node%s %s: %" PRIu64 " pages so far, %" PRIu64 " could not move\n",
                              how, cpuset_count(mp->plan.nodes) == 1 ? "" : "s", to, mp->stats.moved, failed);
        else if (mp->error < 0)
                outbuf_printf(o, "%s node%s %s: stopped: %s, after %" PRIu64 " pages\n", how,
                              cpuset_count(mp->plan.nodes) == 1 ? "" : "s", to, strerror(-mp->error),
                              mp->stats.moved);
        else {
                _cleanup_(freep) char *why = failed ? pagemove_failed_format(&mp->stats) : NULL;
                outbuf_printf(o,
                              "%s node%s %s: %" PRIu64 " pages moved in %.1f s, %" PRIu64
                              " could not move%s%s%s\n",
                              how, cpuset_count(mp->plan.nodes) == 1 ? "" : "s", to, mp->stats.moved,
                              (double) (mp->ended_usec - mp->started_usec) / 1e6, failed, why ? " (" : "",
                              why ? why : "", why ? ")" : "");
        }
}

void memview_explain_json(Manager *m, const MemView *v, pid_t pid, JsonWriter *w) {
        const MemProc *mp = memory_process(&m->memory, pid);
        _cleanup_(freep) char *nodes = v->nodes ? cpuset_format_list(v->nodes) : NULL;

        json_key(w, "memory");
        json_object_begin(w);
        if (v->error == -EACCES)
                json_field_string(w, "locality", "withheld");
        else if (v->error < 0)
                json_field_string(w, "error", strerror(-v->error));
        if (v->permille >= 0)
                json_field_int(w, "local_permille", v->permille);
        else {
                json_key(w, "local_permille");
                json_null(w);
        }
        json_field_string(w, "cpu_nodes", nodes);
        json_field_uint(w, "resident_kb", v->usage.total_kb);
        json_key(w, "node_kb");
        json_object_begin(w);
        for (unsigned i = 0; i < v->usage.n; i++)
                if (v->usage.kb[i] > 0) {
                        char key[16];
                        snprintf(key, sizeof key, "%u", i);
                        json_field_uint(w, key, v->usage.kb[i]);
                }
        json_object_end(w);
        if (mp) {
                _cleanup_(freep) char *to = mp->plan.nodes ? cpuset_format_list(mp->plan.nodes) : NULL;
                json_field_string(w, "mode", memory_mode_name(mp->plan.mode));
                json_field_string(w, "rule", mp->rule);
                json_field_string(w, "verdict", verdict_name(mp->plan.verdict));
                json_field_string(w, "reason", mp->plan.verdict == MEM_MOVE ? NULL : mp->plan.reason);
                json_field_string(w, "target_nodes", to);
                json_field_bool(w, "moving", mp->running);
                json_field_uint(w, "pages_moved", mp->stats.moved);
                json_field_uint(w, "pages_failed", pagemove_failed(&mp->stats));
        }
        json_object_end(w);
}
