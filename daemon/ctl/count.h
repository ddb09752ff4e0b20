/* SPDX-License-Identifier: MIT */
/* The counting job under status and metrics (count.c). */
#pragma once

#include "core/manager-internal.h"
#include "ctl/ctlserver.h"

/* Renders the answer once counted: per_rule[i] pinned threads for rule i of
 * the configuration then, total managed threads the peer may see. */
typedef int (*CountRender)(Manager *m, bool json, CtlReply *reply, const size_t *per_rule, size_t total);
/* Take the entries now and count them in slices (reply->step); render
 * answers at the end. 0 or -ENOMEM. */
int count_job_start(Manager *m, const CtlRequest *req, CtlReply *reply, CountRender render);
