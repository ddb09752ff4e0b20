/* SPDX-License-Identifier: MIT */
/* list (list.c). */
#pragma once

#include "core/manager-internal.h"
#include "ctl/ctlserver.h"

int verb_list(Manager *m, const CtlRequest *req, CtlReply *reply);
