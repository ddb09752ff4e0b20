/* SPDX-License-Identifier: MIT */
/* status and metrics (status.c). */
#pragma once

#include "core/manager-internal.h"
#include "ctl/ctlserver.h"

int verb_status(Manager *m, const CtlRequest *req, CtlReply *reply);
int verb_metrics(Manager *m, const CtlRequest *req, CtlReply *reply);
