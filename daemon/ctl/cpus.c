/* SPDX-License-Identifier: MIT */
/* `pinnerctl cpus [CPUS]`: the machine at a glance, one row per CPU: where
 * it sits (core, package, node, LLC), whether it is online and isolated
 * (and by what), the rules whose threads sit there, how many other tasks
 * may run there (user tasks, kernel threads that can and cannot move), the
 * IRQs delivered there, whether unbound workqueues may run there, and
 * interrupts and context switches per second over a sample (1 s unless
 * `--sample` says otherwise; 0: none). What `lscpu -e`, /proc/interrupts
 * and `ps -eLo psr` each show a part of, joined per CPU. */
#include "ctl/cpus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/cpuscan.h"
#include "ctl/ctlproto.h"
#include "kernel/irq.h"
#include "lib/output.h"

static int node_of(const Host *h, unsigned cpu) {
        for (unsigned n = 0; n < h->n_nodes; n++)
                if (h->nodes[n] && cpuset_has(h->nodes[n], cpu))
                        return (int) n;
        return -1;
}

/* "vm1 2, dpdk 4": the rules whose threads sit on cpu. */
static char *rules_text(const CpuScan *s, unsigned cpu) {
        OutBuf o = OUTBUF_INIT;
        for (size_t i = 0; i < s->n_rules_on[cpu]; i++)
                outbuf_printf(&o, "%s%s %u", i ? ", " : "", s->rules_on[cpu][i].rule, s->rules_on[cpu][i].n);
        if (outbuf_error(&o) < 0 || o.len == 0) {
                outbuf_done(&o);
                return NULL;
        }
        return o.data;
}

/* The IRQs delivered on cpu, "24,30-32" compressed; unmovable ones with a '*'. */
static char *irqs_text(const CpuScan *s, unsigned cpu, unsigned *ret_n) {
        OutBuf o = OUTBUF_INIT;
        unsigned n = 0;

        for (size_t i = 0; i < s->n_irqs; i++) {
                const IrqSeen *q = &s->irqs[i];
                const CpuSet *where = q->effective ? q->effective : q->requested;
                if (!where || !cpuset_has(where, cpu))
                        continue;
                /* A run of consecutive movable IRQs is written as a range. */
                size_t k = i;
                while (k + 1 < s->n_irqs && !q->unmovable) {
                        const IrqSeen *nx = &s->irqs[k + 1];
                        const CpuSet *nw = nx->effective ? nx->effective : nx->requested;
                        if (nx->irq != s->irqs[k].irq + 1 || nx->unmovable || !nw || !cpuset_has(nw, cpu))
                                break;
                        k++;
                }
                outbuf_printf(&o, "%s%u", n ? "," : "", q->irq);
                if (k > i + 1)
                        outbuf_printf(&o, "-%u", s->irqs[k].irq);
                else if (k == i + 1)
                        outbuf_printf(&o, ",%u", s->irqs[k].irq);
                if (q->unmovable)
                        outbuf_putc(&o, '*');
                n += (unsigned) (k - i + 1);
                i = k;
        }
        *ret_n = n;
        if (outbuf_error(&o) < 0 || o.len == 0) {
                outbuf_done(&o);
                return NULL;
        }
        return o.data;
}

static void rate_cell(Table *t, double v) {
        if (v < 0)
                table_add_cell(t, NULL);
        else
                table_add_cellf(t, "%.0f", v);
}

static int render_text(Manager *m, const CpuScan *s, CpuScanOut *out _unused_, CtlReply *reply,
                       uint64_t t0 _unused_) {
        const Host *h = m->rc.host;
        bool rates = s->sample_usec > 0;
        bool any_unmovable = false;
        Table t;

        /* The machine first: what every row is measured against. */
        _cleanup_(freep) char *online = cpuset_format_list(h->online), *iso = fmt_isolated(h),
                              *wq = s->wq_effective ? cpuset_format_list(s->wq_effective) : NULL,
                              *dflt = NULL;
        _cleanup_(cpuset_freep) CpuSet *dflt_set = NULL;
        if (irq_read_default_affinity(h->root, &dflt_set) >= 0)
                dflt = cpuset_format_list(dflt_set);
        outbuf_printf(&reply->out, "online %s; isolated %s; unbound workqueues on %s; new IRQs on %s",
                      online ? online : "?", iso ? iso : "?", wq ? wq : "-", dflt ? dflt : "-");
        if (m->irqs.irqbalance_pid)
                outbuf_printf(&reply->out, "; irqbalance runs (pid %d)", (int) m->irqs.irqbalance_pid);
        outbuf_puts(&reply->out, "\n");
        if (m->irqs.irqbalance_fix)
                outbuf_printf(&reply->out, "%s\n", m->irqs.irqbalance_fix);
        outbuf_putc(&reply->out, '\n');

        table_init(&t);
        static const struct {
                const char *name;
                TableAlign align;
        } cols[] = {
                {"CPU", TABLE_RIGHT},     {"CORE", TABLE_RIGHT}, {"PKG", TABLE_RIGHT},
                {"NODE", TABLE_RIGHT},    {"LLC", TABLE_RIGHT},  {"ONLINE", TABLE_LEFT},
                {"ISOLATED", TABLE_LEFT}, {"RULES", TABLE_LEFT}, {"PINNED", TABLE_RIGHT},
                {"OTHER", TABLE_RIGHT},   {"KTHR", TABLE_RIGHT}, {"FIXED", TABLE_RIGHT},
                {"IRQS", TABLE_LEFT},     {"WQ", TABLE_LEFT},    {"IRQ/S", TABLE_RIGHT},
                {"CSW/S", TABLE_RIGHT},
        };
        for (size_t i = 0; i < ELEMENTSOF(cols); i++)
                table_add_column(&t, cols[i].name, cols[i].align);
        for (int c = cpuset_next(s->cpus, -1); c >= 0; c = cpuset_next(s->cpus, c)) {
                unsigned cpu = (unsigned) c, n_irqs = 0;
                bool is_online = cpuset_has(h->online, cpu);
                int core = h->topology ? topology_core_of(h->topology, cpu) : -1,
                    pkg = h->topology ? topology_package_of(h->topology, cpu) : -1,
                    llc = h->topology ? topology_llc_of(h->topology, cpu) : -1, node = node_of(h, cpu);
                const char *iso_src = host_isolated_source(h, cpu);
                _cleanup_(freep) char *rules = cpu < s->nr ? rules_text(s, cpu) : NULL,
                                      *irqs = irqs_text(s, cpu, &n_irqs);

                if (irqs && strchr(irqs, '*'))
                        any_unmovable = true;
                table_add_cellf(&t, "%u", cpu);
                core >= 0 ? table_add_cellf(&t, "%d", core) : table_add_cell(&t, NULL);
                pkg >= 0 ? table_add_cellf(&t, "%d", pkg) : table_add_cell(&t, NULL);
                node >= 0 ? table_add_cellf(&t, "%d", node) : table_add_cell(&t, NULL);
                llc >= 0 ? table_add_cellf(&t, "%d", llc) : table_add_cell(&t, NULL);
                table_add_cell(&t, is_online ? "yes" : "no");
                table_add_cell(&t, iso_src ? iso_src : "-");
                table_add_cell(&t, rules);
                /* FIXED: the kernel keeps them, or moves them with their IRQ. */
                for (int k = 0; k <= TASK_FIXED; k++)
                        table_add_cellf(&t, "%u",
                                        cpu >= s->nr      ? 0
                                        : k == TASK_FIXED ? s->count[cpu][k] + s->count[cpu][TASK_MOVING]
                                                          : s->count[cpu][k]);
                table_add_cell(&t, irqs);
                table_add_cell(&t, !s->wq_effective ? "-" : cpuset_has(s->wq_effective, cpu) ? "yes" : "no");
                rate_cell(&t, rates ? cpustat_irq_total_rate(&s->a, &s->b, cpu) : -1);
                rate_cell(&t, rates ? cpustat_switch_rate(&s->a, &s->b, cpu) : -1);
        }
        int r = table_render(&t, &reply->out);
        table_done(&t);
        if (r < 0)
                return r;
        outbuf_puts(
                &reply->out,
                "PINNED: threads rules put there; OTHER: user tasks that may run there; KTHR/FIXED: kernel "
                "threads that can / cannot move;\nIRQS: IRQs delivered there");
        if (any_unmovable)
                outbuf_puts(&reply->out, " (* cannot move)");
        outbuf_puts(&reply->out, "; WQ: unbound workqueues may run there");
        if (rates)
                outbuf_printf(&reply->out, "; per second over %.1f s",
                              (double) (s->b.usec - s->a.usec) / 1e6);
        outbuf_puts(&reply->out, ".\n");
        if (rates && s->a.switches_error)
                outbuf_printf(&reply->out, "CSW/S unknown: %s.\n",
                              s->a.switches_error == -ENOENT
                                      ? "no /proc/schedstat (a kernel without CONFIG_SCHEDSTATS)"
                                      : strerror(-s->a.switches_error));
        if (s->truncated)
                outbuf_printf(&reply->out, "Counted the first %u threads only.\n", CPUSCAN_UNPRIV_THREADS);
        return 0;
}

static void json_rate(JsonWriter *w, const char *key, double v) {
        json_key(w, key);
        if (v < 0)
                json_null(w);
        else
                json_uint(w, (uint64_t) (v + 0.5));
}

static int render_json(Manager *m, const CpuScan *s, CpuScanOut *out _unused_, CtlReply *reply,
                       uint64_t t0 _unused_) {
        const Host *h = m->rc.host;
        bool rates = s->sample_usec > 0;
        static const char *const class_keys[_TASK_CLASS_MAX] = {"pinned", "other_tasks", "kthreads_movable",
                                                                "kthreads_fixed", "kthreads_moving_with_irq"};
        JsonWriter w;

        json_init(&w, &reply->out);
        json_object_begin(&w);
        if (rates)
                json_field_uint(&w, "sample_usec", s->b.usec - s->a.usec);
        if (rates && s->a.switches_error)
                json_field_string(&w, "context_switches_unknown",
                                  s->a.switches_error == -ENOENT ? "no /proc/schedstat"
                                                                 : strerror(-s->a.switches_error));
        json_field_bool(&w, "truncated", s->truncated);
        json_key(&w, "cpus");
        json_array_begin(&w);
        for (int c = cpuset_next(s->cpus, -1); c >= 0; c = cpuset_next(s->cpus, c)) {
                unsigned cpu = (unsigned) c;
                int core = h->topology ? topology_core_of(h->topology, cpu) : -1,
                    pkg = h->topology ? topology_package_of(h->topology, cpu) : -1,
                    llc = h->topology ? topology_llc_of(h->topology, cpu) : -1, node = node_of(h, cpu);
                json_object_begin(&w);
                json_field_uint(&w, "cpu", cpu);
                json_key(&w, "core");
                core >= 0 ? json_int(&w, core) : json_null(&w);
                json_key(&w, "package");
                pkg >= 0 ? json_int(&w, pkg) : json_null(&w);
                json_key(&w, "node");
                node >= 0 ? json_int(&w, node) : json_null(&w);
                json_key(&w, "llc");
                llc >= 0 ? json_int(&w, llc) : json_null(&w);
                json_field_bool(&w, "online", cpuset_has(h->online, cpu));
                json_field_string(&w, "isolated", host_isolated_source(h, cpu));
                json_key(&w, "rules");
                json_object_begin(&w);
                for (size_t i = 0; cpu < s->nr && i < s->n_rules_on[cpu]; i++)
                        json_field_uint(&w, s->rules_on[cpu][i].rule, s->rules_on[cpu][i].n);
                json_object_end(&w);
                for (int k = 0; k < _TASK_CLASS_MAX; k++)
                        json_field_uint(&w, class_keys[k], cpu < s->nr ? s->count[cpu][k] : 0);
                json_key(&w, "irqs");
                json_array_begin(&w);
                for (size_t i = 0; i < s->n_irqs; i++) {
                        const IrqSeen *q = &s->irqs[i];
                        const CpuSet *where = q->effective ? q->effective : q->requested;
                        if (!where || !cpuset_has(where, cpu))
                                continue;
                        json_object_begin(&w);
                        json_field_uint(&w, "irq", q->irq);
                        json_field_string(&w, "name", q->actions);
                        json_field_bool(&w, "movable", !q->unmovable);
                        json_object_end(&w);
                }
                json_array_end(&w);
                json_key(&w, "unbound_workqueues");
                s->wq_effective ? json_bool(&w, cpuset_has(s->wq_effective, cpu)) : json_null(&w);
                json_rate(&w, "interrupts_per_sec", rates ? cpustat_irq_total_rate(&s->a, &s->b, cpu) : -1);
                json_rate(&w, "context_switches_per_sec",
                          rates ? cpustat_switch_rate(&s->a, &s->b, cpu) : -1);
                json_object_end(&w);
        }
        json_array_end(&w);
        json_object_end(&w);
        return json_finish(&w);
}

static const CpuScanVerb cpus_verb = {
        .usage = "usage: cpus [CPUS] [--sample SECONDS]\n",
        .cpus_required = false,
        .keep_tasks = false,
        .text = render_text,
        .json = render_json,
};

int verb_cpus(Manager *m, const CtlRequest *req, CtlReply *reply) {
        return cpuscan_verb(m, req, reply, &cpus_verb);
}
