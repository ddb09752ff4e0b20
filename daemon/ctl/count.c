/* SPDX-License-Identifier: MIT */
/* The counting job under status and metrics: pinned threads per rule and
 * managed threads in all, counting only processes the peer may see, a
 * slice at a time; then the verb's own render. */
#include "ctl/count.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctlproto.h"
#include "ctl/peer.h"

/* Pinned threads per rule of the config and managed threads in all, counting
 * only processes the peer could see, for status and metrics. For a non-root
 * peer each process is looked at in its /proc (peer.h): with thousands of
 * managed processes under hidepid that took ~40 ms in one go, holding the
 * loop for every user's `status`. So the entries are taken at once (cheap)
 * and looked at a slice at a time, like list's rows; then the answer is
 * rendered. Entries name their rule by an interned string (reconciler.c),
 * which outlives any reload. */
typedef struct CountEntry {
        pid_t pid;
        const char *rule; /* NULL: not pinned by a rule now */
} CountEntry;

typedef struct CountJob {
        CountEntry *v;
        size_t n, next;
        PeerView peer;
        pid_t last_pid;
        bool last_visible;
        bool json;
        const char **names; /* the interned rule names, at the start */
        size_t n_names;
        size_t *per_name, total;
        CountRender render;
} CountJob;

static void count_job_free(void *p) {
        CountJob *j = p;
        if (!j)
                return;
        free(j->v);
        free(j->names);
        free(j->per_name);
        free(j);
}

static void count_job_freep(CountJob **j) {
        count_job_free(*j);
}

static int count_entry_cmp(const void *a, const void *b) {
        const CountEntry *x = a, *y = b;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

static int count_step(void *userdata, void *state, CtlReply *reply) {
        Manager *m = userdata;
        CountJob *j = state;
        uint64_t t0 = now_usec();

        while (j->next < j->n) {
                /* Before an entry is skipped too: looking costs the same. */
                if (j->next > 0 && (j->next & 7) == 0 && now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
                const CountEntry *e = &j->v[j->next++];
                if (e->pid != j->last_pid) {
                        j->last_pid = e->pid;
                        j->last_visible = peer_may_see(&j->peer, e->pid);
                }
                if (!j->last_visible)
                        continue;
                j->total++;
                if (e->rule)
                        for (size_t k = 0; k < j->n_names; k++)
                                if (j->names[k] == e->rule) {
                                        j->per_name[k]++;
                                        break;
                                }
        }
        /* The config now (a reload may have come between slices). */
        size_t n_rules = m->rc.config->n_rules;
        _cleanup_(freep) size_t *per_rule = calloc(n_rules ? n_rules : 1, sizeof(size_t));
        if (!per_rule)
                return -ENOMEM;
        for (size_t r = 0; r < n_rules; r++)
                for (size_t k = 0; k < j->n_names; k++)
                        if (strcmp(j->names[k], m->rc.config->rules[r].name) == 0)
                                per_rule[r] = j->per_name[k];
        return j->render(m, j->json, reply, per_rule, j->total);
}

int count_job_start(Manager *m, const CtlRequest *req, CtlReply *reply, CountRender render) {
        _cleanup_(count_job_freep) CountJob *j = calloc(1, sizeof *j);
        size_t i = 0;
        Thread *th;

        if (!j)
                return -ENOMEM;
        j->json = req->json;
        j->render = render;
        j->last_pid = -1;
        peer_view_init(&j->peer, m->rc.procfd, req->peer);
        j->n_names = m->rc.rule_names.n;
        j->names = calloc(j->n_names ? j->n_names : 1, sizeof(char *));
        j->per_name = calloc(j->n_names ? j->n_names : 1, sizeof(size_t));
        j->v = calloc(thread_table_size(m->rc.threads) + 1, sizeof(CountEntry));
        if (!j->names || !j->per_name || !j->v)
                return -ENOMEM;
        for (size_t k = 0; k < j->n_names; k++)
                j->names[k] = m->rc.rule_names.v[k];
        while ((th = thread_table_next(m->rc.threads, &i)))
                j->v[j->n++] = (CountEntry){th->pid, th->rule && th->applied ? th->rule : NULL};
        /* Root sees everything: no look per process, so no order needed. */
        if (!req->peer->root)
                qsort(j->v, j->n, sizeof *j->v, count_entry_cmp);
        reply->step = count_step;
        reply->step_free = count_job_free;
        reply->step_state = TAKE_PTR(j);
        return 0;
}
