/* SPDX-License-Identifier: MIT */
/* IRQs and workqueues in `status` and `explain irq:N` (irqview.c). */
#pragma once

#include <stddef.h>

#include "core/manager-internal.h"
#include "ctl/ctlserver.h"
#include "lib/output.h"

/* Lines for `status` (nothing when no rule is about IRQs or workqueues). */
void irqview_status_text(const Manager *m, OutBuf *o);
/* Members "irqs", "workqueues" and "irqbalance" of status --json. */
void irqview_status_json(const Manager *m, JsonWriter *w);
/* How many IRQs (or workqueue masks) an irqs (workqueues) rule holds now. */
size_t irqview_rule_count(const Manager *m, const Rule *r);
/* explain irq:N; arg is what follows "irq:". */
int irqview_explain(Manager *m, const CtlRequest *req, const char *arg, CtlReply *reply);
