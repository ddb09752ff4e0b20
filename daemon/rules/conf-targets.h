/* SPDX-License-Identifier: MIT */
/* The keys of rules that target IRQs (irqs, follow) and unbound workqueues
 * (workqueues), and the checks that a rule targets exactly one kind of
 * thing: processes and their threads, kernel threads, IRQs or workqueues.
 * Called by conf-rule-keys.c, conf-sections.c and conf-keys.c, on the Loader. */
#pragma once

#include "rules/conf-loader.h"

/* irqs = ITEM[, ITEM...]: each item a glob on an IRQ's action names or its
 * number, "!ITEM" excluding. The value comes whole (a '!' is per item). */
void conf_key_irqs(Loader *l, Rule *r, const char *value);
void conf_key_workqueues(Loader *l, Rule *r, const char *value);
/* follow = RULE: a rule name; that it names a task rule is checked when
 * every file is read (conf_targets_finish), since it may come later. */
void conf_key_follow(Loader *l, Rule *r, const char *value);

/* At the end of a rule section: set r->kind from its keys, and report
 * kinds mixed in one rule and keys that do not apply to its kind. For an
 * irqs rule also that it has exactly one of cpus, avoid and follow (the
 * caller checks cpus/avoid for the other kinds). n: the rule's name, quoted. */
void conf_targets_end_rule(Loader *l, Rule *r, const char *n);

/* After the last file: every follow names a rule about tasks or kernel
 * threads (file:line of the follow line otherwise). */
void conf_targets_finish(Loader *l);
