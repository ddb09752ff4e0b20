/* SPDX-License-Identifier: MIT */
/* `pinnerctl audit CPUS [--sample SECONDS]`: everything besides the threads
 * rules put on CPUS that can still run there, each with why: tasks (no rule
 * matches, its owner narrowed it, excluded by a rule, moved by someone else,
 * a kernel thread that cannot move), IRQs (number, name, requested and
 * effective CPUs, movable or not), the unbound workqueue masks, and the
 * interrupts per second on each of CPUS by kind over the sample (1 s unless
 * --sample says otherwise), with the device IRQs that fired there. Exit 0
 * when nothing that could be moved intrudes, 1 when something does: what
 * cannot move, and an IRQ whose move waits for its next interrupt, is
 * listed and does not fail. A deployment pipeline's check. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/cpus.h"
#include "ctl/cpuscan.h"
#include "ctl/ctlproto.h"
#include "lib/output.h"

static bool task_intrudes(const TaskSeen *t) {
        return t->cls == TASK_OTHER || t->cls == TASK_KTHREAD;
}

static bool wq_intrudes(const CpuScan *s _unused_, const WqSeen *w) {
        return w->why != NULL && w->mask;
}

typedef struct Tally {
        size_t owners, tasks, kthreads, fixed, irqs, irqs_fixed, irqs_pending, wqs;
} Tally;

static Tally tally(const CpuScan *s) {
        Tally t = {0};
        for (size_t i = 0; i < s->n_tasks; i++) {
                const TaskSeen *x = &s->tasks[i];
                t.owners += x->cls == TASK_OWNER;
                t.tasks += x->cls == TASK_OTHER;
                t.kthreads += x->cls == TASK_KTHREAD;
                t.fixed += x->cls == TASK_FIXED || x->cls == TASK_MOVING;
        }
        for (size_t i = 0; i < s->n_irqs; i++) {
                t.irqs += s->irqs[i].state == IRQ_STATE_INTRUDER;
                t.irqs_fixed += s->irqs[i].state == IRQ_STATE_UNMOVABLE;
                t.irqs_pending += s->irqs[i].state == IRQ_STATE_PENDING;
        }
        for (size_t i = 0; i < s->n_wqs; i++)
                t.wqs += wq_intrudes(s, &s->wqs[i]);
        return t;
}

static size_t intruders(const Tally *t) {
        return t->tasks + t->kthreads + t->irqs + t->wqs;
}

/* What the parts after the task tables may need of a reply (IRQs,
 * workqueue masks, the rates and the summary): the tables stop listing
 * before they would leave less. */
#define AUDIT_REPLY_RESERVE ((size_t) 64 * 1024)

/* Whether a slice that began at t0 is spent; looked at every 32 items. */
static bool slice_over(size_t i, uint64_t t0) {
        return i > 0 && (i & 31) == 0 && now_usec() - t0 >= CTL_STEP_BUDGET_USEC;
}

/* One table of the tasks of some classes, a slice at a time: its rows are
 * added (o->pos walks the tasks), then rendered (o->row). 1 while there is
 * more, 0 when it is out (or has no row: then nothing is). */
static int task_table_step(const CpuScan *s, CpuScanOut *o, OutBuf *out, const char *title,
                           bool (*pick)(const TaskSeen *), bool with_rule, size_t tables_left, uint64_t t0) {
        Table *t = &o->table;
        int r;

        if (!o->filled) {
                if (o->pos == 0) {
                        table_done(t);
                        table_add_column(t, "PID", TABLE_RIGHT);
                        table_add_column(t, "TID", TABLE_RIGHT);
                        table_add_column(t, "PROCESS", TABLE_LEFT);
                        table_add_column(t, "THREAD", TABLE_LEFT);
                        table_add_column(t, "CPUS", TABLE_LEFT);
                        table_add_column(t, with_rule ? "RULE" : "WHY", TABLE_LEFT);
                }
                for (; o->pos < s->n_tasks; o->pos++) {
                        const TaskSeen *x = &s->tasks[o->pos];
                        if (slice_over(o->pos, t0))
                                return 1;
                        if (!pick(x))
                                continue;
                        if (o->omitted) {
                                o->omitted++;
                                continue;
                        }
                        table_add_cellf(t, "%d", (int) x->pid);
                        table_add_cellf(t, "%d", (int) x->tid);
                        table_add_cell(t, x->comm);
                        table_add_cell(t, x->thread);
                        table_add_cell(t, x->mask);
                        table_add_cell(t, with_rule ? x->rule : x->why);
                        /* The first row past this table's share of the
                         * room (what is left after the reserve, shared
                         * with the tables after it) ends the listing: a
                         * long table of owners leaves the intruders theirs. */
                        if (!table_keep_row(t, outbuf_room(out, AUDIT_REPLY_RESERVE) / tables_left))
                                o->omitted++;
                }
                o->filled = true;
                o->row = 0;
                if (t->error)
                        return t->error;
                if (table_rows(t) + o->omitted == 0)
                        return 0;
                outbuf_printf(out, "\n%s (%zu):\n", title, table_rows(t) + o->omitted);
        }
        if (table_rows(t) > 0) {
                r = table_render_until(t, out, &o->row, t0 + CTL_STEP_BUDGET_USEC);
                if (r != 0)
                        return r;
        }
        if (o->omitted)
                outbuf_printf(out, "  ... and %zu more not listed: an answer%s is at most %zu MiB\n",
                              o->omitted, out->max ? " to a non-root caller" : "",
                              (out->max ? out->max : OUTBUF_MAX) >> 20);
        return 0;
}

static bool pick_owner(const TaskSeen *t) {
        return t->cls == TASK_OWNER;
}
static bool pick_intruder(const TaskSeen *t) {
        return task_intrudes(t);
}
static bool pick_fixed(const TaskSeen *t) {
        return t->cls == TASK_FIXED || t->cls == TASK_MOVING;
}

/* The text's task tables, in order. */
static const struct TaskTable {
        const char *title;
        bool (*pick)(const TaskSeen *);
        bool with_rule;
} task_tables[] = {
        {"put there by rules", pick_owner, true},
        {"tasks that can move and may run there", pick_intruder, false},
        {"kernel threads that cannot move or move with their IRQ, not failing", pick_fixed, false},
};

/* The parts of an answer: the text's heading, its task tables one after
 * another (the JSON's task array), then the rest at once (IRQs and
 * workqueue masks are hundreds at most). */
enum {
        PART_HEAD,
        PART_TASKS,
        PART_REST = PART_TASKS + ELEMENTSOF(task_tables),
};

static int render_text(Manager *m _unused_, const CpuScan *s, CpuScanOut *ro, CtlReply *reply, uint64_t t0) {
        OutBuf *o = &reply->out;
        bool rates = s->sample_usec > 0;
        int r;

        if (ro->part == PART_HEAD) {
                _cleanup_(freep) char *cpus = cpuset_format_list(s->cpus);
                outbuf_printf(o, "audit of CPU%s %s", cpuset_count(s->cpus) == 1 ? "" : "s",
                              cpus ? cpus : "?");
                if (rates)
                        outbuf_printf(o, " (sampled %.1f s)", (double) (s->b.usec - s->a.usec) / 1e6);
                outbuf_puts(o, "\n");
                ro->part = PART_TASKS;
        }
        while (ro->part < PART_REST) {
                const struct TaskTable *tt = &task_tables[ro->part - PART_TASKS];
                r = task_table_step(s, ro, o, tt->title, tt->pick, tt->with_rule, PART_REST - ro->part, t0);
                if (r != 0)
                        return r < 0 ? r : outbuf_error(o) < 0 ? outbuf_error(o) : 1;
                table_done(&ro->table);
                ro->part++;
                ro->pos = 0;
                ro->omitted = 0;
                ro->filled = false;
                if (now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
        }

        Tally t = tally(s);

        size_t n_irqs = 0;
        for (size_t i = 0; i < s->n_irqs; i++)
                n_irqs += s->irqs[i].state != IRQ_STATE_AWAY;
        if (n_irqs) {
                Table it;
                outbuf_printf(o, "\nIRQs requested or delivered there (%zu):\n", n_irqs);
                table_init(&it);
                table_add_column(&it, "IRQ", TABLE_RIGHT);
                table_add_column(&it, "NAME", TABLE_LEFT);
                table_add_column(&it, "REQUESTED", TABLE_LEFT);
                table_add_column(&it, "LANDS ON", TABLE_LEFT);
                table_add_column(&it, "STATE", TABLE_LEFT);
                table_add_column(&it, "WHY", TABLE_LEFT);
                for (size_t i = 0; i < s->n_irqs; i++) {
                        const IrqSeen *q = &s->irqs[i];
                        if (q->state == IRQ_STATE_AWAY)
                                continue;
                        _cleanup_(freep) char *req = cpuset_format_list(q->requested),
                                              *eff = q->effective ? cpuset_format_list(q->effective) : NULL;
                        table_add_cellf(&it, "%u", q->irq);
                        table_add_cell(&it, *q->actions ? q->actions : NULL);
                        table_add_cell(&it, req);
                        table_add_cell(&it, eff);
                        table_add_cell(&it, cpuscan_irq_state_name(q->state));
                        table_add_cell(&it, q->why);
                }
                r = table_render(&it, o);
                table_done(&it);
                if (r < 0)
                        return r;
        }

        if (s->n_wqs) {
                outbuf_puts(o, "\nunbound workqueues:");
                size_t shown = 0;
                for (size_t i = 0; i < s->n_wqs; i++) {
                        const WqSeen *w = &s->wqs[i];
                        _cleanup_(freep) char *mask = cpuset_format_list(w->mask);
                        bool global = strcmp(w->name, "*") == 0;
                        if (!global && !wq_intrudes(s, w))
                                continue;
                        outbuf_puts(o, shown++ ? "\n  " : "\n  ");
                        if (global)
                                outbuf_puts(o, "cpumask (every unbound workqueue)");
                        else {
                                outbuf_puts(o, "workqueue ");
                                text_escape_append(o, w->name, strlen(w->name));
                        }
                        outbuf_printf(o, ": %s", mask ? mask : "?");
                        if (wq_intrudes(s, w))
                                outbuf_printf(o, ": may run there: %s", w->why);
                        else
                                outbuf_puts(o, w->owned ? ": put there by a rule" : ": not there");
                }
                outbuf_printf(o, "\n  %zu of %zu workqueue masks may run there\n", t.wqs, s->n_wqs);
        }

        if (rates) {
                Table rt;
                outbuf_printf(o, "\ninterrupts per second (over %.1f s):\n",
                              (double) (s->b.usec - s->a.usec) / 1e6);
                table_init(&rt);
                table_add_column(&rt, "CPU", TABLE_RIGHT);
                for (int k = 0; k < _IRQ_KIND_MAX; k++) {
                        char name[16];
                        snprintf(name, sizeof name, "%s", irq_kind_name((IrqKind) k));
                        for (char *p = name; *p; p++)
                                *p = (char) (*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
                        table_add_column(&rt, name, TABLE_RIGHT);
                }
                table_add_column(&rt, "CSW/S", TABLE_RIGHT);
                for (int c = cpuset_next(s->cpus, -1); c >= 0; c = cpuset_next(s->cpus, c)) {
                        table_add_cellf(&rt, "%d", c);
                        for (int k = 0; k < _IRQ_KIND_MAX; k++) {
                                double v = cpustat_kind_rate(&s->a, &s->b, (unsigned) c, (IrqKind) k);
                                v < 0 ? table_add_cell(&rt, NULL) : table_add_cellf(&rt, "%.0f", v);
                        }
                        double v = cpustat_switch_rate(&s->a, &s->b, (unsigned) c);
                        v < 0 ? table_add_cell(&rt, NULL) : table_add_cellf(&rt, "%.0f", v);
                }
                r = table_render(&rt, o);
                table_done(&rt);
                if (r < 0)
                        return r;
                /* Which device IRQs fired there. */
                for (int c = cpuset_next(s->cpus, -1); c >= 0; c = cpuset_next(s->cpus, c)) {
                        size_t shown = 0;
                        for (size_t i = 0; s->b.irqs && i < s->b.irqs->n_rows; i++) {
                                const IrqRow *row = &s->b.irqs->rows[i];
                                uint64_t d;
                                if (!row->numbered ||
                                    !(d = cpustat_irq_delta(&s->a, &s->b, row->irq, (unsigned) c)))
                                        continue;
                                if (!shown++)
                                        outbuf_printf(o, "  device IRQs on CPU %d: ", c);
                                else
                                        outbuf_puts(o, ", ");
                                outbuf_printf(o, "%u", row->irq);
                                if (row->actions && *row->actions) {
                                        outbuf_putc(o, ' ');
                                        text_escape_append(o, row->actions, strlen(row->actions));
                                }
                                outbuf_printf(o, " (%" PRIu64 ")", d);
                        }
                        if (shown)
                                outbuf_putc(o, '\n');
                }
                if (s->a.switches_error)
                        outbuf_printf(o, "  CSW/S unknown: %s\n",
                                      s->a.switches_error == -ENOENT
                                              ? "no /proc/schedstat (a kernel without CONFIG_SCHEDSTATS)"
                                              : strerror(-s->a.switches_error));
        }

        size_t n = intruders(&t);
        outbuf_printf(o,
                      "\n%s: %zu task%s, %zu kernel thread%s, %zu IRQ%s and %zu workqueue mask%s could be "
                      "moved off",
                      n ? "INTRUDERS" : "quiet", t.tasks, t.tasks == 1 ? "" : "s", t.kthreads,
                      t.kthreads == 1 ? "" : "s", t.irqs, t.irqs == 1 ? "" : "s", t.wqs,
                      t.wqs == 1 ? "" : "s");
        outbuf_printf(o, "; %zu kernel thread%s and %zu IRQ%s cannot move; %zu IRQ%s moving\n", t.fixed,
                      t.fixed == 1 ? "" : "s", t.irqs_fixed, t.irqs_fixed == 1 ? "" : "s", t.irqs_pending,
                      t.irqs_pending == 1 ? "" : "s");
        if (s->truncated)
                outbuf_printf(o, "only the first %u threads were looked at\n", CPUSCAN_UNPRIV_THREADS);
        reply->exit_code = n ? CTL_EXIT_FAILED : CTL_EXIT_OK;
        return 0;
}

static const char *class_name(TaskClass c) {
        static const char *const names[_TASK_CLASS_MAX] = {"owner", "movable", "kthread-movable",
                                                           "kthread-fixed", "kthread-moving"};
        return (unsigned) c < _TASK_CLASS_MAX ? names[c] : "?";
}

static int render_json(Manager *m _unused_, const CpuScan *s, CpuScanOut *ro, CtlReply *reply, uint64_t t0) {
        JsonWriter *w = &ro->json;
        bool rates = s->sample_usec > 0;
        Tally t;

        if (ro->part == PART_HEAD) {
                _cleanup_(freep) char *cpus = cpuset_format_list(s->cpus);
                t = tally(s);
                json_init(w, &reply->out);
                json_object_begin(w);
                json_field_string(w, "cpus", cpus);
                json_field_uint(w, "intruders", intruders(&t));
                json_field_bool(w, "truncated", s->truncated);
                json_key(w, "tasks");
                json_array_begin(w);
                ro->part = PART_TASKS;
        }
        for (; ro->pos < s->n_tasks; ro->pos++) {
                const TaskSeen *x = &s->tasks[ro->pos];
                if (slice_over(ro->pos, t0))
                        return w->error ? w->error : 1;
                /* An object is ~250 bytes, its why at most a few hundred. */
                if (ro->omitted || outbuf_room(&reply->out, AUDIT_REPLY_RESERVE) < 4096) {
                        ro->omitted++;
                        continue;
                }
                json_object_begin(w);
                json_field_int(w, "pid", x->pid);
                json_field_int(w, "tid", x->tid);
                json_field_string(w, "comm", x->comm);
                json_field_string(w, "thread", x->thread);
                json_field_string(w, "cpus", x->mask);
                json_field_string(w, "class", class_name(x->cls));
                json_field_bool(w, "intruder", task_intrudes(x));
                json_field_string(w, "rule", x->rule);
                json_field_text(w, "why", x->why);
                json_object_end(w);
        }
        t = tally(s);
        json_array_end(w);
        json_field_uint(w, "tasks_omitted", ro->omitted);
        json_key(w, "irqs");
        json_array_begin(w);
        for (size_t i = 0; i < s->n_irqs; i++) {
                const IrqSeen *q = &s->irqs[i];
                if (q->state == IRQ_STATE_AWAY)
                        continue;
                _cleanup_(freep) char *req = cpuset_format_list(q->requested),
                                      *eff = q->effective ? cpuset_format_list(q->effective) : NULL;
                json_object_begin(w);
                json_field_uint(w, "irq", q->irq);
                json_field_string(w, "name", q->actions);
                json_field_string(w, "requested", req);
                json_field_string(w, "effective", eff);
                json_field_string(w, "state", cpuscan_irq_state_name(q->state));
                json_field_bool(w, "movable", !q->unmovable);
                json_field_bool(w, "intruder", q->state == IRQ_STATE_INTRUDER);
                json_field_string(w, "rule", q->rule);
                json_field_text(w, "why", q->why);
                json_object_end(w);
        }
        json_array_end(w);
        json_key(w, "workqueues");
        json_array_begin(w);
        for (size_t i = 0; i < s->n_wqs; i++) {
                const WqSeen *x = &s->wqs[i];
                _cleanup_(freep) char *mask = cpuset_format_list(x->mask);
                json_object_begin(w);
                json_field_string(w, "name", x->name);
                json_field_string(w, "cpumask", mask);
                json_field_bool(w, "intruder", wq_intrudes(s, x));
                json_field_text(w, "why", x->why);
                json_object_end(w);
        }
        json_array_end(w);
        if (rates) {
                json_field_uint(w, "sample_usec", s->b.usec - s->a.usec);
                json_key(w, "interrupts");
                json_array_begin(w);
                for (int c = cpuset_next(s->cpus, -1); c >= 0; c = cpuset_next(s->cpus, c)) {
                        json_object_begin(w);
                        json_field_int(w, "cpu", c);
                        for (int k = 0; k < _IRQ_KIND_MAX; k++) {
                                double v = cpustat_kind_rate(&s->a, &s->b, (unsigned) c, (IrqKind) k);
                                json_key(w, irq_kind_name((IrqKind) k));
                                v < 0 ? json_null(w) : json_uint(w, (uint64_t) (v + 0.5));
                        }
                        double v = cpustat_switch_rate(&s->a, &s->b, (unsigned) c);
                        json_key(w, "context_switches");
                        v < 0 ? json_null(w) : json_uint(w, (uint64_t) (v + 0.5));
                        json_key(w, "device_irqs");
                        json_array_begin(w);
                        for (size_t i = 0; s->b.irqs && i < s->b.irqs->n_rows; i++) {
                                const IrqRow *row = &s->b.irqs->rows[i];
                                uint64_t d;
                                if (!row->numbered ||
                                    !(d = cpustat_irq_delta(&s->a, &s->b, row->irq, (unsigned) c)))
                                        continue;
                                json_object_begin(w);
                                json_field_uint(w, "irq", row->irq);
                                json_field_string(w, "name", row->actions);
                                json_field_uint(w, "count", d);
                                json_object_end(w);
                        }
                        json_array_end(w);
                        json_object_end(w);
                }
                json_array_end(w);
        }
        json_object_end(w);
        reply->exit_code = intruders(&t) ? CTL_EXIT_FAILED : CTL_EXIT_OK;
        return json_finish(w);
}

static const CpuScanVerb audit_verb = {
        .usage = "usage: audit CPUS [--sample SECONDS]\n",
        .cpus_required = true,
        .keep_tasks = true,
        .text = render_text,
        .json = render_json,
};

int verb_audit(Manager *m, const CtlRequest *req, CtlReply *reply) {
        return cpuscan_verb(m, req, reply, &audit_verb);
}
