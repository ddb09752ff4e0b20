/* SPDX-License-Identifier: MIT */
/* `explain PID`: for each thread, which rule matched and why (or why none
 * did), and the mask at each step; the same decision the loop takes
 * (decide.h), never a copy of it. */
#pragma once

#include "core/manager-internal.h"
#include "ctl/ctlserver.h"

int verb_explain(Manager *m, const CtlRequest *req, CtlReply *reply);
