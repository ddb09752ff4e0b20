/* SPDX-License-Identifier: MIT */
/* `cpus [CPUS] [--sample SECONDS]`: one row per CPU (cpus.c); `audit CPUS
 * [--sample SECONDS]`: what besides the owners can run there (audit.c).
 * Both walk the census of cpuscan.h. pinnerctl passes --sample as an
 * argument "sample=SECONDS". */
#pragma once

#include "core/manager-internal.h"
#include "ctl/ctlserver.h"

int verb_cpus(Manager *m, const CtlRequest *req, CtlReply *reply);
int verb_audit(Manager *m, const CtlRequest *req, CtlReply *reply);
