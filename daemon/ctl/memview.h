/* SPDX-License-Identifier: MIT */
/* A process's memory locality for `list` and `explain`: the share of its
 * resident pages (numa_maps) that is on the nodes of its CPUs, and what the
 * memory step (core/memory.c) did about it. "Its CPUs" are those pinnerd
 * keeps its managed threads on, or, for a process pinnerd manages no thread
 * of, the mask its leader has now. Reading numa_maps is a walk of the
 * process's page tables in the kernel: once per process per request. */
#pragma once

#include <stdbool.h>

#include "core/manager-internal.h"
#include "ctl/peer.h"
#include "kernel/numa.h"
#include "lib/output.h"

typedef struct MemView {
        int error;       /* 0, or why there is no figure: -EACCES (withheld), -ESRCH, ... */
        NumaUsage usage; /* where its resident memory is */
        CpuSet *nodes;   /* the nodes of its CPUs */
        int permille;    /* the share on them, -1 when nothing is resident or no figure */
} MemView;

/* peer: the asking peer (a non-root peer sees the figure only for processes
 * it could read numa_maps of itself). numa_maps is read a piece per call
 * (memory_usage): 1 while the read goes on (*ret is not set: call again in
 * a later slice), 0 when *ret is set. */
int memview_read(Manager *m, const PeerView *peer, pid_t pid, MemView *ret);
void memview_done(MemView *v);

/* For list: "97%", "-" (no resident memory), "withheld", "?". */
void memview_short(const MemView *v, char *buf, size_t size);
/* For explain: the "memory:" lines (text) or the "memory" object (JSON),
 * with what the memory step knows of the process. */
void memview_explain_text(Manager *m, const MemView *v, pid_t pid, OutBuf *o);
void memview_explain_json(Manager *m, const MemView *v, pid_t pid, JsonWriter *w);
