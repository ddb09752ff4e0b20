/* SPDX-License-Identifier: MIT */
/* The control verbs on the daemon's side: a CtlHandler (ctlserver.h) whose
 * userdata is the Manager. main.c wires it to the control server. */
#pragma once

#include "ctl/ctlserver.h"

/* Answers one request: status, list, explain, reload, rescan, metrics. */
int ctl_verbs_handle(void *manager, const CtlRequest *req, CtlReply *reply);
