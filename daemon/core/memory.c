/* SPDX-License-Identifier: MIT */
/* Memory that follows the CPUs: judge a process's placement (memplan.c),
 * then move its pages in bounded turns from the loop's lowest priority. */
#include "core/memory.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/procfs.h"
#include "lib/util.h"

/* ---- the run queue ---------------------------------------------------------------- */

static void queue_push(MemoryStep *ms, MemProc *mp) {
        if (mp->queued)
                return;
        mp->queued = true;
        ms->n_queued++;
        mp->next = NULL;
        if (ms->tail)
                ms->tail->next = mp;
        else
                ms->head = mp;
        ms->tail = mp;
}

static void queue_remove(MemoryStep *ms, MemProc *mp) {
        MemProc **pp = &ms->head, *prev = NULL;

        if (!mp->queued)
                return;
        while (*pp && *pp != mp) {
                prev = *pp;
                pp = &(*pp)->next;
        }
        if (*pp) {
                *pp = mp->next;
                if (ms->tail == mp)
                        ms->tail = prev;
                ms->n_queued--;
        }
        mp->queued = false;
        mp->next = NULL;
}

/* The next process takes the next turn. */
static void queue_rotate(MemoryStep *ms) {
        MemProc *mp = ms->head;
        if (!mp || !mp->next)
                return;
        ms->head = mp->next;
        mp->next = NULL;
        ms->tail->next = mp;
        ms->tail = mp;
}

/* A reader closes its file itself at the end: whether it holds one of the
 * MEMORY_READERS_MAX is the pass's own note (maps_open), not its fd. */
static void reader_close(MemoryStep *ms, MemProc *mp) {
        if (mp->maps_open) {
                ms->readers--;
                mp->maps_open = false;
        }
        numa_range_reader_done(&mp->maps);
}

static void pass_stop(MemoryStep *ms, MemProc *mp) {
        queue_remove(ms, mp);
        mp->running = false;
        reader_close(ms, mp);
        mp->maps_read = false;
        free(mp->ranges);
        mp->ranges = NULL;
        mp->n_ranges = mp->range = 0;
        free(mp->targets);
        mp->targets = NULL;
}

static void proc_free(MemoryStep *ms, MemProc *mp) {
        if (!mp)
                return;
        pass_stop(ms, mp);
        memplan_done(&mp->plan);
        free(mp);
}

static void proc_drop(MemoryStep *ms, pid_t pid) {
        uintptr_t v;
        if (intmap_remove(&ms->procs, pid, &v))
                proc_free(ms, (MemProc *) v);
}

static void arm(MemoryStep *ms, uint64_t rest_usec);

/* ---- saying it ------------------------------------------------------------------- */

static void plan_fields(const MemProc *mp, LogFields *f, char *moved, char *failed, size_t size,
                        const char *nodes) {
        snprintf(moved, size, "%" PRIu64, mp->stats.moved);
        snprintf(failed, size, "%" PRIu64, pagemove_failed(&mp->stats));
        *f = (LogFields){.rule = mp->rule,
                         .pid = mp->pid,
                         .comm = mp->comm,
                         .nodes = nodes,
                         .pages_moved = moved,
                         .pages_failed = failed};
}

/* The one record that ends a pass: what moved, how fast, and what could not. */
static void say_pass(MemoryStep *ms, MemProc *mp) {
        _cleanup_(freep) char *nodes = cpuset_format_list(mp->plan.nodes), *why = NULL, *tail = NULL;
        const PageMoveStats *s = &mp->stats;
        uint64_t failed = pagemove_failed(s);
        char moved[24], nfailed[24], size[32];
        double secs = (double) (mp->ended_usec - mp->started_usec) / 1e6;
        bool inter = mp->plan.mode == MEMORY_INTERLEAVE;
        LogFields f;

        plan_fields(mp, &f, moved, nfailed, sizeof moved, nodes);
        numa_format_kb(s->moved * (ms->page_size / 1024), size, sizeof size);
        if (failed) {
                why = pagemove_failed_format(s);
                tail = xasprintf("; %" PRIu64 " could not move: %s", failed, why ? why : "?");
        }
        f.reason = why;
        log_event(ms->rc->log, EV_MEMORY, failed ? LOG_NOTICE : LOG_INFO, &f,
                  "%s %" PRIu64
                  " pages (%s) of %s (pid %d) %s node%s %s for rule %s in %.1f s (%.0f pages/s; "
                  "%.0f ms of pinnerd's time in %" PRIu64 " batches, the longest %.1f ms); %" PRIu64
                  " were there already%s",
                  inter ? "spread" : "moved", s->moved, size, mp->comm, (int) mp->pid, inter ? "over" : "to",
                  cpuset_count(mp->plan.nodes) == 1 ? "" : "s", nodes ? nodes : "?", mp->rule, secs,
                  secs > 0 ? (double) s->moved / secs : 0.0, (double) mp->spent_usec / 1000.0, mp->calls,
                  (double) mp->longest_call_usec / 1000.0, s->already, tail ? tail : "");
}

/* A pass the kernel stopped for good: said once per placement. */
static void say_error(MemoryStep *ms, MemProc *mp, int err) {
        _cleanup_(freep) char *nodes = cpuset_format_list(mp->plan.nodes);
        char moved[24], failed[24];
        const char *why;
        LogFields f;

        switch (-err) {
        case EPERM:
                why = "not permitted (pinnerd needs CAP_SYS_NICE, CAP_SYS_PTRACE, and move_pages in its "
                      "system call filter)";
                break;
        case EACCES:
                why = "its cpuset's memory nodes (cpuset.mems) do not allow them";
                break;
        case ENODEV:
                why = "a target node has no memory";
                break;
        default:
                why = strerror(-err);
        }
        plan_fields(mp, &f, moved, failed, sizeof moved, nodes);
        f.reason = why;
        log_event(ms->rc->log, EV_MEMORY, LOG_WARNING, &f,
                  "cannot move the pages of %s (pid %d) to node%s %s for rule %s: %s (%" PRIu64
                  " pages moved before)",
                  mp->comm, (int) mp->pid, cpuset_count(mp->plan.nodes) == 1 ? "" : "s", nodes ? nodes : "?",
                  mp->rule, why, mp->stats.moved);
}

/* A dry run moves nothing: what would move, from numa_maps. */
static void say_dry(MemoryStep *ms, MemProc *mp) {
        _cleanup_(numa_maps_done) NumaMaps maps = {0};
        _cleanup_(numa_usage_done) NumaUsage u = {0};
        _cleanup_(freep) char *nodes = cpuset_format_list(mp->plan.nodes), *where = NULL;
        LogFields f = {.rule = mp->rule, .pid = mp->pid, .comm = mp->comm, .nodes = nodes};
        char away[32];

        if (numa_read_maps(ms->rc->procfd, mp->pid, &maps) < 0 || numa_usage(&maps, &u) < 0) {
                log_event(ms->rc->log, EV_MEMORY, LOG_INFO, &f,
                          "would %s the pages of %s (pid %d) %s node%s %s for rule %s (dry run)",
                          mp->plan.mode == MEMORY_INTERLEAVE ? "spread" : "move", mp->comm, (int) mp->pid,
                          mp->plan.mode == MEMORY_INTERLEAVE ? "over" : "to",
                          cpuset_count(mp->plan.nodes) == 1 ? "" : "s", nodes, mp->rule);
                return;
        }
        where = numa_locality_format(&u, mp->plan.nodes);
        numa_format_kb(u.total_kb - numa_usage_on(&u, mp->plan.nodes), away, sizeof away);
        log_event(ms->rc->log, EV_MEMORY, LOG_INFO, &f,
                  "would %s the pages of %s (pid %d) %s node%s %s for rule %s (dry run): now %s, %s "
                  "elsewhere",
                  mp->plan.mode == MEMORY_INTERLEAVE ? "spread" : "move", mp->comm, (int) mp->pid,
                  mp->plan.mode == MEMORY_INTERLEAVE ? "over" : "to",
                  cpuset_count(mp->plan.nodes) == 1 ? "" : "s", nodes, mp->rule, where ? where : "?", away);
}

/* ---- a pass ----------------------------------------------------------------------- */

static void pass_end(MemoryStep *ms, MemProc *mp, int err) {
        mp->ended_usec = now_usec();
        mp->error = err;
        pass_stop(ms, mp);
        if (err == -ESRCH) {
                proc_drop(ms, mp->pid); /* gone: its exit event is on the way */
                return;
        }
        if (err < 0)
                say_error(ms, mp, err);
        else
                say_pass(ms, mp);
}

static int pass_start(MemoryStep *ms, MemProc *mp) {
        pass_stop(ms, mp);
        mp->stats = (PageMoveStats){0};
        mp->spent_usec = mp->calls = mp->longest_call_usec = 0;
        mp->error = 0;
        mp->started_usec = now_usec();
        ms->counters.passes++;
        if (ms->rc->dry_run) {
                say_dry(ms, mp);
                mp->ended_usec = mp->started_usec;
                return 0;
        }
        unsigned n = cpuset_count(mp->plan.nodes), k = 0;
        mp->targets = calloc(n ? n : 1, sizeof(int));
        if (!mp->targets) {
                pass_stop(ms, mp);
                return -ENOMEM;
        }
        for (int node = cpuset_next(mp->plan.nodes, -1); node >= 0; node = cpuset_next(mp->plan.nodes, node))
                mp->targets[k++] = node;
        mp->tg =
                (PageTargets){.nodes = mp->targets, .n = n, .interleave = mp->plan.mode == MEMORY_INTERLEAVE};
        /* The mappings are read as the pass goes (pass_step). */
        mp->range = mp->n_ranges = 0;
        mp->cursor = 0;
        mp->running = true;
        queue_push(ms, mp);
        arm(ms, 0);
        return 0;
}

/* The next call sized to take about MEMORY_CALL_USEC: a page the process
 * touches waits at most about that long for its move, and the loop is free
 * again soon. A call also has a cost of its own, whatever its size (the
 * TLB flush on the process's CPUs): where that alone is past the budget (an
 * emulated machine), halving stops once it no longer makes a call cheaper
 * by a quarter, or moving would crawl a few pages at a time for nothing. */
void memory_adapt_batch(MemoryStep *ms, size_t n, uint64_t dt) {
        if (n != ms->batch)
                return; /* the end of a range: says nothing about the size */
        if (dt > MEMORY_CALL_USEC) {
                if (ms->last_batch == ms->batch * 2 && dt * 4 > ms->last_dt * 3) {
                        /* Half the size, hardly cheaper: back up, and stay. */
                        ms->batch_floor = ms->last_batch;
                        ms->batch = ms->last_batch;
                        ms->last_batch = 0;
                } else if (ms->batch > MEMORY_BATCH_MIN && ms->batch > ms->batch_floor) {
                        ms->last_batch = ms->batch;
                        ms->last_dt = dt;
                        ms->batch /= 2;
                }
        } else if (dt * 4 < MEMORY_CALL_USEC && ms->batch < MEMORY_BATCH_MAX) {
                ms->batch_floor = 0;
                ms->last_batch = 0;
                ms->batch *= 2;
        }
}

typedef enum PassStep {
        PASS_OVER, /* the pass ended */
        PASS_MORE, /* it did some; more to do */
        PASS_WAIT, /* it must wait for a maps reader: another process's turn */
} PassStep;

/* The next piece of mp's mappings, once its ranges so far are moved. */
static PassStep pass_read_maps(MemoryStep *ms, MemProc *mp) {
        int r;

        if (!mp->maps_open) {
                if (ms->readers >= MEMORY_READERS_MAX)
                        return PASS_WAIT;
                r = numa_range_reader_open(ms->rc->procfd, mp->pid, &mp->maps);
                if (r < 0) {
                        pass_end(ms, mp, r);
                        return PASS_OVER;
                }
                ms->readers++;
                mp->maps_open = true;
        }
        r = numa_range_reader_next(&mp->maps, &mp->ranges, &mp->n_ranges);
        if (r <= 0) {
                reader_close(ms, mp); /* the end, or an error */
                mp->maps_read = true;
        }
        if (r < 0) {
                pass_end(ms, mp, r == -ESRCH || r == -ENOENT ? -ESRCH : r);
                return PASS_OVER;
        }
        mp->range = 0;
        mp->cursor = mp->n_ranges ? mp->ranges[0].start : 0;
        return PASS_MORE;
}

/* One move_pages batch of mp's pass, or one piece of its mappings. */
static PassStep pass_step(MemoryStep *ms, MemProc *mp) {
        while (mp->range < mp->n_ranges && mp->cursor >= mp->ranges[mp->range].end)
                if (++mp->range < mp->n_ranges)
                        mp->cursor = mp->ranges[mp->range].start;
        if (mp->range >= mp->n_ranges) {
                if (!mp->maps_read)
                        return pass_read_maps(ms, mp);
                pass_end(ms, mp, 0);
                return PASS_OVER;
        }
        const NumaRange *rg = &mp->ranges[mp->range];
        uint64_t left = (rg->end - mp->cursor) / ms->page_size;
        size_t n = left < ms->batch ? (size_t) left : ms->batch;
        /* Batches end on a 2 MiB boundary (a huge page's, and the stripes
         * of pagemove.h): a huge page is then looked at, moved and counted
         * within one batch. */
        uint64_t end = mp->cursor + n * ms->page_size, stripe = 1ull << PAGEMOVE_STRIPE_SHIFT;
        if (n < left && (end & ~(stripe - 1)) > mp->cursor)
                n = (size_t) (((end & ~(stripe - 1)) - mp->cursor) / ms->page_size);
        if (n == 0) {
                mp->cursor = rg->end;
                return PASS_MORE;
        }
        PageMoveStats d = {0};
        uint64_t t0 = now_usec();
        int r = pagemove_range(&ms->mover, mp->pid, mp->cursor, n, ms->page_size, &mp->tg, rg->shared_write,
                               &d);
        uint64_t dt = now_usec() - t0;
        mp->spent_usec += dt;
        mp->calls++;
        if (dt > mp->longest_call_usec)
                mp->longest_call_usec = dt;
        /* Counted as they happen: metrics show a long pass under way. */
        pagemove_stats_add(&mp->stats, &d);
        MemoryCounters *c = &ms->counters;
        c->moved += d.moved;
        c->shared += d.shared;
        c->busy += d.busy;
        c->no_memory += d.no_memory;
        c->other += d.other;
        memory_adapt_batch(ms, n, dt);
        if (r == -EFAULT || r == -ENOMEM) {
                /* EFAULT: the range was unmapped meanwhile; skip the batch. */
                mp->cursor += n * ms->page_size;
                return PASS_MORE;
        }
        if (r < 0) {
                pass_end(ms, mp, r);
                return PASS_OVER;
        }
        mp->cursor += n * ms->page_size;
        return PASS_MORE;
}

/* One turn: batches of the processes in the queue for at most
 * MEMORY_SLICE_USEC; the next turn after a rest as long as this one. */
static uint64_t run_turn(MemoryStep *ms) {
        uint64_t t0 = now_usec(), spent;

        size_t waiting = 0;

        while (ms->head) {
                MemProc *mp = ms->head;
                PassStep st = pass_step(ms, mp);
                spent = now_usec() - t0;
                if (st == PASS_WAIT) {
                        /* Every reader is taken: the next process's turn,
                         * until all in the queue have been asked. */
                        queue_rotate(ms);
                        if (++waiting >= ms->n_queued || spent >= MEMORY_SLICE_USEC)
                                break;
                        continue;
                }
                waiting = 0;
                if (spent >= MEMORY_SLICE_USEC) {
                        if (st == PASS_MORE)
                                queue_rotate(ms);
                        break;
                }
        }
        spent = now_usec() - t0;
        ms->counters.usec += spent;
        return spent;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        MemoryStep *ms = userdata;
        uint64_t spent = run_turn(ms);
        if (ms->head)
                arm(ms, spent > MEMORY_REST_MIN_USEC ? spent : MEMORY_REST_MIN_USEC);
        return 0;
}

/* The next turn in rest_usec from now, at the loop's lowest priority. Not
 * sd_event_source_set_time_relative(): that counts from the start of the
 * loop's iteration, before the turn that just ran, so a rest as long as the
 * turn would be no rest at all. */
static void arm(MemoryStep *ms, uint64_t rest_usec) {
        uint64_t due = now_usec() + rest_usec;

        if (!ms->event || !ms->head)
                return;
        if (!ms->timer) {
                if (sd_event_add_time(ms->event, &ms->timer, CLOCK_MONOTONIC, due, MEMORY_REST_MIN_USEC,
                                      on_timer, ms) < 0) {
                        ms->timer = NULL;
                        return;
                }
                (void) sd_event_source_set_priority(ms->timer, SD_EVENT_PRIORITY_IDLE);
        } else {
                int enabled = SD_EVENT_OFF;
                (void) sd_event_source_get_enabled(ms->timer, &enabled);
                /* Armed already: a new pass joins the turns under way. */
                if (enabled != SD_EVENT_OFF && rest_usec == 0)
                        return;
                (void) sd_event_source_set_time(ms->timer, due);
        }
        (void) sd_event_source_set_enabled(ms->timer, SD_EVENT_ONESHOT);
}

void memory_run_all(MemoryStep *ms) {
        while (ms->head)
                (void) run_turn(ms);
}

/* ---- judging a process ------------------------------------------------------------ */

typedef struct TidThread {
        pid_t tid;
        MemThread t;
} TidThread;

static int tid_cmp(const void *a, const void *b) {
        const TidThread *x = a, *y = b;
        return (x->tid > y->tid) - (x->tid < y->tid);
}

static void judge(MemoryStep *ms, pid_t pid) {
        Reconciler *rc = ms->rc;
        _cleanup_(freep) TidThread *tt = NULL;
        _cleanup_(freep) MemThread *threads = NULL;
        _cleanup_(cpuset_freep) CpuSet *mems = NULL;
        _cleanup_(memplan_done) MemPlan plan = {0};
        size_t n = 0, cap = 0;
        bool wanted = false;
        uintptr_t v;
        TaskStat ts;

        for (Thread *th = thread_table_first_of(rc->threads, pid); th; th = th->pid_next) {
                const Rule *rule = th->rule ? config_find_rule(rc->config, th->rule) : NULL;
                if (!rule || rule->memory == MEMORY_KEEP)
                        continue;
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        TidThread *nv = realloc(tt, ncap * sizeof *nv);
                        if (!nv)
                                return;
                        tt = nv;
                        cap = ncap;
                }
                tt[n++] = (TidThread){th->tid,
                                      {.applied = th->applied, .mode = rule->memory, .rule = rule->name}};
                wanted = true;
        }
        /* In tid order: the plan names the rule of the lowest thread. */
        if (n > 1)
                qsort(tt, n, sizeof *tt, tid_cmp);
        threads = calloc(n ? n : 1, sizeof *threads);
        if (!threads)
                return;
        for (size_t k = 0; k < n; k++)
                threads[k] = tt[k].t;
        MemProc *mp = intmap_get(&ms->procs, pid, &v) ? (MemProc *) v : NULL;
        if (!wanted || procfs_read_stat(rc->procfd, pid, pid, &ts) < 0) {
                proc_drop(ms, pid);
                return;
        }
        if (mp && mp->start != ts.starttime) {
                proc_drop(ms, pid);
                mp = NULL;
        }
        /* No cpuset information (-ENOENT): every node. */
        (void) numa_read_mems_allowed(rc->procfd, pid, &mems);
        if (memplan_decide(rc->host, threads, n, mems, &plan) < 0)
                return;
        if (mp && memplan_same(&mp->plan, &plan)) {
                /* Once per change of placement: the same placement (a new
                 * thread, a rescan, a reload) starts nothing. Only the
                 * reason may read differently. */
                MemPlan old = mp->plan;
                mp->plan = plan;
                plan = old;
                snprintf(mp->rule, sizeof mp->rule, "%s", mp->plan.rule ? mp->plan.rule : "");
                return;
        }
        if (!mp) {
                mp = calloc(1, sizeof *mp);
                if (!mp)
                        return;
                mp->maps = NUMA_RANGE_READER_INIT;
                if (intmap_put(&ms->procs, pid, (uintptr_t) mp, NULL) < 0) {
                        free(mp);
                        return;
                }
                mp->pid = pid;
                mp->start = ts.starttime;
        }
        snprintf(mp->comm, sizeof mp->comm, "%s", ts.comm);
        snprintf(mp->rule, sizeof mp->rule, "%s", plan.rule ? plan.rule : "");
        pass_stop(ms, mp);
        memplan_done(&mp->plan);
        mp->plan = plan;
        plan = (MemPlan){0};
        if (mp->plan.verdict == MEM_MOVE)
                (void) pass_start(ms, mp);
        else if (mp->plan.verdict == MEM_FORBIDDEN) {
                _cleanup_(freep) char *cn = cpuset_format_list(mp->plan.cpu_nodes),
                                      *ms_ = mems ? cpuset_format_list(mems) : NULL;
                LogFields f = {.rule = mp->rule, .pid = pid, .comm = mp->comm, .reason = mp->plan.reason};
                log_event(
                        rc->log, EV_MEMORY, LOG_NOTICE, &f,
                        "pages of %s (pid %d) stay where they are: its CPUs are on node%s %s but its cpuset "
                        "allows memory only on %s (cpuset.mems)",
                        mp->comm, (int) pid, cpuset_count(mp->plan.cpu_nodes) == 1 ? "" : "s", cn,
                        ms_ ? ms_ : "?");
        } else
                log_msg(rc->log, LOG_DEBUG, "pid %d: memory stays: %s", (int) pid, mp->plan.reason);
}

void memory_update(MemoryStep *ms) {
        IntMap *noted = &ms->rc->placement_changed;
        size_t i = 0, n = intmap_size(noted), k = 0;
        const IntMapSlot *s;

        if (n == 0)
                return;
        _cleanup_(freep) pid_t *pids = calloc(n, sizeof(pid_t));
        if (!pids)
                return;
        while ((s = intmap_next(noted, &i)))
                pids[k++] = s->key;
        intmap_done(noted);
        for (k = 0; k < n; k++)
                judge(ms, pids[k]);
}

void memory_config_changed(MemoryStep *ms) {
        Reconciler *rc = ms->rc;
        const Config *c = rc->config;
        size_t i = 0;
        Thread *th;

        if (c->memory && numa_node_count(rc->host) < 2 && !ms->one_node_said) {
                _cleanup_(freep) char *names = NULL;
                size_t len = 0, cap = 0;
                for (size_t k = 0; k < c->n_rules; k++) {
                        if (c->rules[k].memory == MEMORY_KEEP)
                                continue;
                        size_t need = len + strlen(c->rules[k].name) + 3;
                        if (need > cap) {
                                char *nv = realloc(names, need * 2);
                                if (!nv)
                                        return;
                                names = nv;
                                cap = need * 2;
                        }
                        len += (size_t) snprintf(names + len, cap - len, "%s%s", len ? ", " : "",
                                                 c->rules[k].name);
                }
                log_event(rc->log, EV_MEMORY, LOG_NOTICE, NULL,
                          "memory = follow or interleave does nothing on this host (rule%s %s): it has one "
                          "NUMA node, so memory is local to every CPU already",
                          strchr(names ? names : "", ',') ? "s" : "", names ? names : "?");
                ms->one_node_said = true;
        }
        /* Every managed process (and those whose memory was placed before)
         * is judged again: a rule's memory may have changed. */
        while ((th = thread_table_next(rc->threads, &i)))
                if (c->memory)
                        (void) intmap_put(&rc->placement_changed, th->pid, 1, NULL);
        i = 0;
        const IntMapSlot *s;
        while ((s = intmap_next(&ms->procs, &i)))
                (void) intmap_put(&rc->placement_changed, s->key, 1, NULL);
        memory_update(ms);
}

static void usage_forget(MemoryUsageEntry *e) {
        if (e->reading)
                numa_usage_reader_done(&e->reader);
        numa_usage_done(&e->usage);
        *e = (MemoryUsageEntry){0};
}

int memory_usage(MemoryStep *ms, pid_t pid, const NumaUsage **ret) {
        MemoryUsageEntry *e = NULL, *free_e = NULL;
        uint64_t now = now_usec();
        TaskStat ts;
        int r;

        r = procfs_read_stat(ms->rc->procfd, pid, pid, &ts);
        if (r < 0)
                return r;
        for (size_t i = 0; i < MEMORY_USAGE_CACHE; i++) {
                MemoryUsageEntry *c = &ms->usage[i];
                if (c->pid == pid && c->start == ts.starttime) {
                        e = c;
                        break;
                }
                /* Taken over: the entry read longest ago. Not one another
                 * request is reading, or two could take each other's turn
                 * for ever; unless nobody has read a piece of it for a
                 * while (its request ended or lost interest). */
                bool abandoned = c->reading && now - c->step_usec >= MEMORY_USAGE_TTL_USEC;
                if ((!c->reading || abandoned) && (!free_e || c->read_usec < free_e->read_usec))
                        free_e = c;
        }
        /* A read left half done that long ago is stale: it starts again. */
        if (!e || (e->reading ? now - e->step_usec >= MEMORY_USAGE_TTL_USEC
                              : now - e->read_usec >= MEMORY_USAGE_TTL_USEC)) {
                if (!e && !free_e)
                        return -EBUSY; /* MEMORY_USAGE_CACHE reads under way */
                if (!e)
                        e = free_e;
                usage_forget(e);
                *e = (MemoryUsageEntry){
                        .pid = pid, .start = ts.starttime, .read_usec = now, .step_usec = now};
                r = numa_usage_reader_open(ms->rc->procfd, pid, &e->reader);
                e->reading = r >= 0;
                e->error = r < 0 ? r : 0;
        }
        if (e->reading) {
                NumaUsage u = {0};
                r = numa_usage_reader_next(&e->reader, &u);
                e->step_usec = now_usec();
                if (r > 0)
                        return 1;
                if (r < 0)
                        numa_usage_reader_done(&e->reader);
                e->reading = false;
                e->read_usec = e->step_usec;
                e->usage = u;
                e->error = r < 0 ? r : 0;
        }
        if (e->error < 0)
                return e->error;
        *ret = &e->usage;
        return 0;
}

const MemProc *memory_process(const MemoryStep *ms, pid_t pid) {
        uintptr_t v;
        return intmap_get(&ms->procs, pid, &v) ? (const MemProc *) v : NULL;
}

/* ---- life cycle ------------------------------------------------------------------- */

void memory_init(MemoryStep *ms, Reconciler *rc) {
        long ps = sysconf(_SC_PAGESIZE);
        *ms = (MemoryStep){.rc = rc, .batch = MEMORY_BATCH_START, .page_size = ps > 0 ? (size_t) ps : 4096};
}

int memory_attach(MemoryStep *ms, sd_event *e) {
        ms->event = e;
        arm(ms, 0);
        return 0;
}

void memory_done(MemoryStep *ms) {
        size_t i = 0;
        const IntMapSlot *s;

        while ((s = intmap_next(&ms->procs, &i)))
                proc_free(ms, (MemProc *) s->value);
        intmap_done(&ms->procs);
        for (size_t k = 0; k < MEMORY_USAGE_CACHE; k++)
                usage_forget(&ms->usage[k]);
        ms->timer = sd_event_source_disable_unref(ms->timer);
        pagemover_done(&ms->mover);
        ms->head = ms->tail = NULL;
        ms->n_queued = 0;
}
