/* SPDX-License-Identifier: MIT */
/* The [rule:NAME] key table (conf-rule-keys.c). */
#pragma once

#include "rules/conf-loader.h"

/* One key=value line of the rule r: twice given, empty, '!' where it may
 * not be, or the key's own parser's verdict. */
void conf_rule_key(Loader *l, Rule *r, RuleKey k, const char *value);
/* The key's name as written in pinnerd.conf. */
const char *conf_rule_key_name(RuleKey k);
/* At the rule's end (kthreads known): literal task names longer than the
 * kernel keeps, which can never match, are warnings. */
void conf_rule_keys_check_names(Loader *l, const Rule *r);
