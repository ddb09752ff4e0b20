/* SPDX-License-Identifier: MIT */
#include "core/guarantee.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kernel/fanotify.h"
#include "kernel/schedpolicy.h"
#include "lib/util.h"
#include "rules/execmark.h"
#include "rules/plan.h"

#ifndef FAN_OPEN_EXEC_PERM
#define FAN_OPEN_EXEC_PERM 0x00040000
#endif

/* Above the proc connector (SD_EVENT_PRIORITY_IMPORTANT) and everything
 * else: an exec waits on this source. */
#define GUARANTEE_PRIORITY (SD_EVENT_PRIORITY_IMPORTANT - 100)
/* Events per read: the buffer holds exactly this many plain events, so
 * every event read is one we parse and answer. */
#define BATCH_MAX 64
/* Reads per dispatch before the loop gets a turn (it comes back at once:
 * the source is level-triggered and has the highest priority). */
#define READS_MAX 16

void guarantee_init(Guarantee *g) {
        struct stat st;

        *g = (Guarantee){.fan_fd = -1, .dirs = {.fd = -1}};
        /* Marked, our own binary would have every restart of pinnerd wait
         * for the pinnerd it replaces. */
        if (stat("/proc/self/exe", &st) == 0) {
                g->self_dev = st.st_dev;
                g->self_ino = st.st_ino;
        }
}

const char *guarantee_state(const Guarantee *g) {
        if (!g->wanted)
                return "off";
        return g->fan_fd >= 0 ? "exec" : "unavailable";
}

static int file_cmp(const void *a, const void *b) {
        const GuaranteeFile *x = a, *y = b;
        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        return (x->ino > y->ino) - (x->ino < y->ino);
}

static const GuaranteeFile *find_file(const Guarantee *g, dev_t dev, ino_t ino) {
        GuaranteeFile key = {.dev = dev, .ino = ino};
        return g->n_files ? bsearch(&key, g->files, g->n_files, sizeof key, file_cmp) : NULL;
}

bool guarantee_marks(const Guarantee *g, const char *path, const Rule *rule) {
        struct stat st;
        if (g->fan_fd < 0 || !path || stat(path, &st) < 0)
                return false;
        const GuaranteeFile *f = find_file(g, st.st_dev, st.st_ino);
        return f && g->rules[f->slot].rule == rule;
}

/* ---- the pin: between an event and its answer ------------------------------ */

typedef struct Held {
        pid_t tid;
        unsigned slot;
        size_t file; /* index into Guarantee.files */
        AffinityResult res, policy_res;
        int err, policy_err;
        SchedPolicy prev_policy;
        unsigned long *prev, *set; /* kernel masks, Guarantee scratch */
} Held;

/* Set the rule on the held task: nothing but syscalls on it. Returns false
 * when nothing was tried (the mask could not even be read). */
static bool pin_held(Guarantee *g, const GuaranteeRule *gr, pid_t tid, Held *h) {
        const Affinity *a = &g->rc->aff;
        size_t words = a->bytes / sizeof(unsigned long);

        h->res = h->policy_res = AFF_UNCHANGED;
        h->err = h->policy_err = 0;
        if (affinity_held_get(a, tid, h->prev) < 0)
                return false;
        if (gr->kmask)
                memcpy(h->set, gr->kmask, a->bytes);
        else {
                /* avoid: what it has minus the avoided CPUs, ∩ online; it
                 * never gains a CPU. */
                _cleanup_(cpuset_freep) CpuSet *want = NULL;
                if (cpuset_from_kernel(h->prev, a->bytes, &want) < 0)
                        return false;
                cpuset_andnot(want, gr->set);
                cpuset_and(want, g->rc->host->online);
                if (cpuset_empty(want))
                        return false;
                cpuset_to_kernel(want, h->set, a->bytes);
        }
        if (memcmp(h->prev, h->set, words * sizeof(unsigned long)) != 0)
                h->res = affinity_held_set(a, tid, h->set, &h->err);
        if (gr->rule->has_policy && (h->res == AFF_SET || h->res == AFF_UNCHANGED || h->res == AFF_DRY_RUN))
                h->policy_res = policy_held_set(a, tid, &gr->rule->policy, &h->prev_policy, &h->policy_err);
        return true;
}

/* After the answers: the table and the journal. */
static void record_held(Guarantee *g, const Held *h) {
        const GuaranteeRule *gr = &g->rules[h->slot];
        const Affinity *a = &g->rc->aff;
        _cleanup_(cpuset_freep) CpuSet *prev = NULL, *set = NULL;
        const char *path = g->files[h->file].path, *base = strrchr(path, '/');
        char comm[16];

        /* What the kernel names the task after this exec: the file's name,
         * cut to 15 bytes. */
        snprintf(comm, sizeof comm, "%s", base ? base + 1 : path);
        if (cpuset_from_kernel(h->prev, a->bytes, &prev) < 0 ||
            cpuset_from_kernel(h->set, a->bytes, &set) < 0)
                return;
        reconcile_held_exec(g->rc, h->tid, gr->rule, comm, prev, set, h->res, h->err, &h->prev_policy,
                            h->policy_res, h->policy_err);
}

/* CPU time this thread has used (CLOCK_THREAD_CPUTIME_ID), in µs: the
 * deadline counts our own work, not time spent preempted (a daemon at nice
 * 19 beside CPU hogs waits a whole slice between two syscalls, and skipping
 * the pin then would only lose the guarantee, not speed up the exec). */
static uint64_t cpu_usec(void) {
        struct timespec ts;
        if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static int service(Guarantee *g) {
        unsigned char buf[BATCH_MAX * sizeof(struct fanotify_event_metadata)]
                __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
        Held held[BATCH_MAX];
        /* The rules were built for the config in force; during a reload's
         * rescan (which answers events between processes) the new one is in
         * place before guarantee_update has seen it: answer without pins
         * rather than touch the old config's freed rules. */
        bool current = g->config == g->rc->config;
        size_t words = g->scratch && current ? g->rc->aff.bytes / sizeof(unsigned long) : 0;

        for (int reads = 0; reads < READS_MAX && g->fan_fd >= 0; reads++) {
                FanEvent ev[BATCH_MAX];
                size_t used, n_held = 0;
                ssize_t len = read(g->fan_fd, buf, sizeof buf);
                if (len < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                if (len == 0)
                        return 0;
                uint64_t t_read = now_usec(), cpu_read = cpu_usec();
                int n = fan_parse_events(buf, (size_t) len, ev, BATCH_MAX, &used);
                if (n < 0 || used != (size_t) len)
                        g->stats.bad_events++;
                for (int i = 0; i < n; i++) {
                        if (ev[i].fd < 0)
                                continue; /* a queue overflow: the kernel allowed those execs itself */
                        if (ev[i].mask & FAN_OPEN_EXEC_PERM) {
                                struct stat st;
                                const GuaranteeFile *f = NULL;
                                Held *h = &held[n_held];
                                if (cpu_usec() - cpu_read > GUARANTEE_DEADLINE_USEC)
                                        g->stats.late++;
                                else if (!current || fstat(ev[i].fd, &st) < 0 ||
                                         !(f = find_file(g, st.st_dev, st.st_ino)))
                                        g->stats.unknown++;
                                else if (words > 0) {
                                        *h = (Held){.tid = ev[i].tid,
                                                    .slot = f->slot,
                                                    .file = (size_t) (f - g->files)};
                                        h->prev = g->scratch + 2 * n_held * words;
                                        h->set = h->prev + words;
                                        if (pin_held(g, &g->rules[f->slot], ev[i].tid, h))
                                                n_held++;
                                        else
                                                g->stats.failed++;
                                }
                        }
                        /* Always allowed: pinnerd never denies an exec. */
                        (void) fan_allow(g->fan_fd, ev[i].fd);
                        close(ev[i].fd);
                        g->stats.held++;
                        uint64_t took = now_usec() - t_read;
                        g->stats.total_usec += took;
                        if (took > g->stats.max_usec)
                                g->stats.max_usec = took;
                }
                /* Only now, with every exec of the batch on its way: the
                 * table, the state file and the journal. */
                for (size_t k = 0; k < n_held; k++) {
                        if (held[k].res == AFF_SET || held[k].res == AFF_UNCHANGED ||
                            held[k].res == AFF_DRY_RUN)
                                g->stats.pinned++;
                        else
                                g->stats.failed++;
                        record_held(g, &held[k]);
                }
        }
        return 0;
}

static int on_fan(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) service(userdata);
        return 0;
}

void guarantee_service(Guarantee *g) {
        if (g->fan_fd >= 0)
                (void) service(g);
}

/* ---- marks ------------------------------------------------------------------- */

static void rules_done(Guarantee *g) {
        g->config = NULL;
        for (size_t i = 0; i < g->n_rules; i++) {
                cpuset_free(g->rules[i].set);
                free(g->rules[i].kmask);
        }
        free(g->rules);
        g->rules = NULL;
        g->n_rules = 0;
}

static void files_free(GuaranteeFile *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i].path);
        free(v);
}

static void set_problem(Guarantee *g, char *why) {
        if (!why)
                return;
        free(g->mark_problem);
        g->mark_problem = why;
}

/* Each guarantee rule's mask as the event handler needs it. */
static int build_rules(Guarantee *g) {
        const Config *c = g->rc->config;
        const Host *h = g->rc->host;

        rules_done(g);
        g->rules = calloc(c->n_rules ? c->n_rules : 1, sizeof *g->rules);
        if (!g->rules)
                return -ENOMEM;
        g->config = c;
        /* The masks of one batch's held tasks: before and as set. Without
         * it, events are answered without pins. */
        if (!g->scratch)
                g->scratch = malloc(2 * BATCH_MAX * g->rc->aff.bytes);
        for (size_t i = 0; i < c->n_rules; i++) {
                const Rule *r = &c->rules[i];
                GuaranteeRule *gr = &g->rules[g->n_rules];
                if (!r->guarantee_exec)
                        continue;
                int e = plan_resolve_cpus(h, &r->cpus, &gr->set);
                if (e < 0)
                        return e;
                gr->rule = r;
                g->n_rules++;
                if (r->avoid)
                        continue;
                cpuset_and(gr->set, h->online);
                if (!r->isolated_allow)
                        cpuset_andnot(gr->set, h->isolated);
                if (cpuset_empty(gr->set)) {
                        /* Nothing to set: execs pass untouched, the exec
                         * event says why (skipped). */
                        continue;
                }
                gr->kmask = calloc(1, g->rc->aff.bytes);
                if (!gr->kmask)
                        return -ENOMEM;
                cpuset_to_kernel(gr->set, gr->kmask, g->rc->aff.bytes);
        }
        return 0;
}

static unsigned rule_slot(const Guarantee *g, const Rule *r) {
        for (unsigned i = 0; i < g->n_rules; i++)
                if (g->rules[i].rule == r)
                        return i;
        return UINT_MAX;
}

/* Watch dir, or the nearest directory above it that exists (so the
 * directory appearing later is seen too). */
static void watch_dir(Guarantee *g, const char *dir) {
        _cleanup_(freep) char *d = strdup(dir);
        if (!d)
                return;
        for (;;) {
                int e = dirwatch_add(&g->dirs, d);
                if (e == 0)
                        return;
                char *slash = strrchr(d, '/');
                if ((e != -ENOENT && e != -ENOTDIR) || !slash || slash == d) {
                        set_problem(g, xasprintf("cannot watch %s: %s", d, strerror(-e)));
                        return;
                }
                *slash = '\0';
        }
}

/* The files of one exe value that a guarantee rule holds, into *v. */
static void collect(Guarantee *g, const char *pattern, GuaranteeFile **v, size_t *n, size_t *cap) {
        const Config *c = g->rc->config;
        _cleanup_(freep) char *dir = NULL;
        const char *name;
        DIR *d;
        struct dirent *de;

        if (execmark_split(pattern, &dir, &name) < 0)
                return; /* refused by the loader already */
        watch_dir(g, dir);
        d = opendir(dir);
        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_(freep) char *path = NULL;
                char real[PATH_MAX];
                struct stat st;
                if (fnmatch(name, de->d_name, 0) != 0)
                        continue;
                path = xasprintf("%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", de->d_name);
                if (!path || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                /* exe matches the resolved path: a symlink (or a path
                 * through one, /bin on a merged-/usr host) never matches
                 * the rule as it is written, so its target is not marked. */
                if (!realpath(path, real) || strcmp(real, path) != 0) {
                        g->n_skipped++;
                        continue;
                }
                if (st.st_dev == g->self_dev && st.st_ino == g->self_ino) {
                        g->n_skipped++;
                        continue;
                }
                const Rule *r = execmark_rule_for(c, path);
                unsigned slot = r ? rule_slot(g, r) : UINT_MAX;
                if (slot == UINT_MAX)
                        continue;
                bool dup = false;
                for (size_t k = 0; k < *n && !dup; k++)
                        dup = (*v)[k].dev == st.st_dev && (*v)[k].ino == st.st_ino;
                if (dup)
                        continue;
                if (*n >= GUARANTEE_MAX_FILES) {
                        g->n_skipped++;
                        continue;
                }
                if (*n == *cap) {
                        size_t nc = *cap ? *cap * 2 : 16;
                        GuaranteeFile *nv = realloc(*v, nc * sizeof **v);
                        if (!nv)
                                break;
                        *v = nv;
                        *cap = nc;
                }
                (*v)[(*n)++] = (GuaranteeFile){st.st_dev, st.st_ino, slot, TAKE_PTR(path)};
        }
        closedir(d);
}

/* Mark what the rules name now, unmark what they no longer name. A file
 * replaced since (a package upgrade renamed a new file over the path) is a
 * new inode: marked here; the old inode's mark goes with the inode. */
static void mark_files(Guarantee *g, bool rewatch) {
        GuaranteeFile *v = NULL;
        size_t n = 0, cap = 0, n_new = 0;

        if (rewatch)
                dirwatch_clear(&g->dirs);
        g->n_skipped = 0;
        for (size_t i = 0; i < g->n_rules; i++)
                for (size_t k = 0; k < g->rules[i].rule->exe.n; k++)
                        collect(g, g->rules[i].rule->exe.v[k], &v, &n, &cap);
        if (n > 0)
                qsort(v, n, sizeof *v, file_cmp);
        for (size_t i = 0; i < n; i++) {
                if (find_file(g, v[i].dev, v[i].ino))
                        continue;
                int e = fan_mark_exec(g->fan_fd, v[i].path);
                if (e < 0)
                        set_problem(g, xasprintf("cannot mark %s: %s", v[i].path, strerror(-e)));
                else
                        n_new++;
        }
        for (size_t i = 0; i < g->n_files; i++) {
                struct stat st;
                GuaranteeFile key = g->files[i];
                if (n && bsearch(&key, v, n, sizeof key, file_cmp))
                        continue;
                if (stat(key.path, &st) == 0 && st.st_dev == key.dev && st.st_ino == key.ino)
                        (void) fan_unmark_exec(g->fan_fd, key.path);
        }
        files_free(g->files, g->n_files);
        g->files = v;
        g->n_files = n;
        if (n_new > 0)
                log_msg(g->log, LOG_INFO,
                        "guarantee = exec: %zu files marked (%zu new), %zu directories watched", n, n_new,
                        g->dirs.n_wds);
}

static int on_dirs(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Guarantee *g = userdata;
        if (dirwatch_drain(&g->dirs) > 0 && g->fan_fd >= 0) {
                g->stats.remarks++;
                mark_files(g, false);
        }
        return 0;
}

static int open_group(Guarantee *g) {
        _cleanup_(freep) char *why = NULL;
        int r, fd = fan_open(&why);

        if (fd < 0) {
                free(g->error);
                g->error = TAKE_PTR(why);
                return fd;
        }
        g->fan_fd = fd;
        r = dirwatch_open(&g->dirs);
        if (r >= 0)
                r = sd_event_add_io(g->event, &g->fan_src, g->fan_fd, EPOLLIN, on_fan, g);
        if (r >= 0)
                r = sd_event_source_set_priority(g->fan_src, GUARANTEE_PRIORITY);
        if (r >= 0)
                r = sd_event_add_io(g->event, &g->dir_src, g->dirs.fd, EPOLLIN, on_dirs, g);
        if (r < 0) {
                guarantee_stop(g);
                g->error = xasprintf("cannot watch the fanotify group: %s", strerror(-r));
                return r;
        }
        return 0;
}

void guarantee_prepare(Guarantee *g, sd_event *e, Reconciler *rc) {
        g->event = e;
        g->rc = rc;
        g->log = rc->log;
        if (g->fan_fd >= 0 || open_group(g) < 0)
                return;
        /* The group is all CAP_SYS_ADMIN is for: marks on a group made with
         * it need no privilege, so later reloads can still add rules. */
        int r = fan_drop_admin();
        if (r < 0)
                log_msg(g->log, LOG_DEBUG, "guarantee = exec: cannot drop CAP_SYS_ADMIN: %s", strerror(-r));
}

void guarantee_update(Guarantee *g, sd_event *e, Reconciler *rc) {
        g->event = e;
        g->rc = rc;
        g->log = rc->log;
        g->wanted = execmark_wanted(rc->config);
        if (!g->wanted) {
                if (g->fan_fd >= 0 && g->n_files > 0)
                        (void) fan_unmark_all(g->fan_fd);
                files_free(g->files, g->n_files);
                g->files = NULL;
                g->n_files = 0;
                dirwatch_clear(&g->dirs);
                rules_done(g);
                return;
        }
        if (g->fan_fd < 0) {
                if (!g->warned)
                        log_msg(g->log, LOG_WARNING,
                                "guarantee = exec is not in force: %s; those rules pin from the exec event "
                                "instead",
                                g->error ? g->error : "no fanotify group");
                g->warned = true;
                return;
        }
        free(g->mark_problem);
        g->mark_problem = NULL;
        if (build_rules(g) < 0) {
                log_msg(g->log, LOG_ERR, "guarantee = exec: out of memory; marks unchanged");
                return;
        }
        mark_files(g, true);
        if (g->mark_problem)
                log_msg(g->log, LOG_WARNING, "guarantee = exec: %s", g->mark_problem);
}

void guarantee_stop(Guarantee *g) {
        /* First of all: with the group gone the kernel allows every exec
         * still waiting, and none waits again. */
        g->fan_src = sd_event_source_disable_unref(g->fan_src);
        if (g->fan_fd >= 0)
                close(g->fan_fd);
        g->fan_fd = -1;
        g->dir_src = sd_event_source_disable_unref(g->dir_src);
        dirwatch_close(&g->dirs);
        files_free(g->files, g->n_files);
        g->files = NULL;
        g->n_files = 0;
        rules_done(g);
        free(g->scratch);
        g->scratch = NULL;
        free(g->error);
        g->error = NULL;
        free(g->mark_problem);
        g->mark_problem = NULL;
}
