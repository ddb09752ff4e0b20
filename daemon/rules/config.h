/* SPDX-License-Identifier: MIT */
/* The Config object: rules and settings as pinnerd.conf gave them, and the
 * diagnostics a load produced. A Config is immutable once loaded; reload
 * builds a new one and swaps. Loading is conf.h's. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/cpuset.h"
#include "lib/ere.h"
#include "rules/cpuspec.h"
#include "kernel/schedpolicy.h"
#include "lib/util.h"

#define CONF_MAX_RULES 4096
#define CONF_MAX_VALUE 4096 /* bytes in one value */
#define CONF_MAX_NAME 64    /* bytes in a rule name */

typedef enum DriftAction { DRIFT_REAPPLY, DRIFT_LOG, DRIFT_IGNORE } DriftAction;

/* spread = no | yes | rule | index (pinnerd.conf(5)). */
typedef enum SpreadMode {
        SPREAD_NO,    /* the whole effective set */
        SPREAD_YES,   /* one CPU per thread, per process, distinct cores before siblings */
        SPREAD_RULE,  /* the same, across every thread the rule manages on the host */
        SPREAD_INDEX, /* the Nth CPU of the effective set, N from the thread name */
} SpreadMode;

/* What a rule is about: exactly one kind (pinnerd.conf(5)). */
typedef enum RuleKind {
        RULE_TASKS,      /* processes and their threads: the match keys */
        RULE_KTHREADS,   /* kernel threads: kthreads = yes */
        RULE_IRQS,       /* IRQs: irqs = */
        RULE_WORKQUEUES, /* unbound workqueues: workqueues = yes */
} RuleKind;

/* memory = keep | follow | interleave (pinnerd.conf(5)): what happens to a
 * process's pages once the threads the rule manages are confined to the
 * CPUs of some NUMA nodes. */
typedef enum MemoryMode {
        MEMORY_KEEP,       /* pages stay where they are (the default) */
        MEMORY_FOLLOW,     /* pages on other nodes move to those nodes */
        MEMORY_INTERLEAVE, /* pages are spread over those nodes */
} MemoryMode;

/* Facts about a task that some rule needs; the scanner reads only these. */
enum {
        FACT_EXE = 1u << 0,
        FACT_CMDLINE = 1u << 1,
        FACT_UID = 1u << 2,
        FACT_CGROUP = 1u << 3, /* cgroup or unit */
        FACT_PARENT = 1u << 4,
};

typedef struct Rule {
        char *name;
        unsigned index; /* definition order, 0-based */
        char *file;
        unsigned line; /* line of the [rule:NAME] header */
        /* Match keys: each list is OR; lists present are ANDed. */
        StrVec comm, exe, cgroup, unit, parent;
        StrVec cmdline_src;
        Ere **cmdline; /* cmdline_src.n compiled (lib/ere.h: linear-time matching) */
        uid_t *users;
        size_t n_users;
        StrVec user_src; /* as written, for explain */
        bool kthreads;
        StrVec threads; /* thread-name filter; empty = every thread */
        /* irqs = globs on an IRQ's action names or its number, the items of
         * comma-separated lists; an item "!GLOB" excludes (not_irqs). */
        StrVec irqs, not_irqs;
        bool workqueues; /* workqueues = yes */
        RuleKind kind;   /* resolved from the keys above */
        /* Negated values, `key = !value`, stored without the '!': a task
         * (or thread) matching any of them is not matched (each is AND NOT).
         * A key with only negated values means "anything but these". A key
         * counts as given (for "at least one match key") either way. */
        StrVec not_comm, not_exe, not_cgroup, not_unit, not_parent, not_threads;
        StrVec not_cmdline_src;
        Ere **not_cmdline; /* not_cmdline_src.n compiled */
        uid_t *not_users;
        size_t n_not_users;
        StrVec not_user_src;
        /* Actions. */
        CpuSpec cpus; /* with avoid: the CPUs to keep the thread off */
        bool avoid;   /* avoid = CPUSET: original mask minus cpus, never widened */
        /* irqs rules: follow = RULE instead of cpus/avoid: the CPUs the
         * threads of that task rule are on now. */
        char *follow;
        unsigned follow_line;
        SpreadMode spread;
        bool has_policy; /* policy (with rtprio / nice) is set with the mask */
        SchedPolicy policy;
        bool isolated_allow; /* resolved: rule's value, else [pinnerd] isolated */
        int priority;
        /* What to do when something else changes a mask this rule set:
         * resolved, the rule's own `drift` key, else [pinnerd] drift. */
        DriftAction drift;
        MemoryMode memory;
        /* guarantee = exec: execs of the files the exe values name wait until
         * the rule is applied (core/guarantee.c). Needs positive exe values
         * with a literal directory (rules/execmark.h), no threads filter. */
        bool guarantee_exec;
} Rule;

typedef struct Settings {
        bool isolated_allow; /* [pinnerd] isolated = allow */
        bool restore;        /* default yes */
        /* [pinnerd] restore-at-stop, default yes: with restore, also put
         * originals back when pinnerd stops (no: only on reload, for threads
         * no rule applies to any more). Meaningful only with restore; given
         * with restore = no it is a config error. Restore at stop iff
         * restore && restore_at_stop. */
        bool restore_at_stop;
        unsigned rescan;   /* seconds, 0 = only after lost events */
        unsigned verify;   /* seconds, 0 = off; default 60 */
        DriftAction drift; /* default reapply */
} Settings;

typedef struct Config {
        Settings settings;
        Rule *rules; /* definition order */
        size_t n_rules;
        const Rule **by_priority; /* priority desc, then index asc */
        StrVec files;             /* files read, in order */
        unsigned facts;           /* FACT_* some rule needs */
        bool memory;              /* some rule's memory is not keep */
} Config;

typedef struct ConfDiag {
        char *file;
        unsigned line; /* 0 when the problem is the file itself */
        bool warning;
        char *message; /* includes the offending text */
        size_t order;  /* where its file comes in the order files are read */
} ConfDiag;

/* A load's diagnostics, sorted by file (in the order they were read) and
 * line, and the files it read (also when it failed), so a checker can say
 * exactly what it looked at. */
typedef struct ConfDiags {
        ConfDiag *v;
        size_t n, cap;
        size_t n_errors;
        StrVec files;
} ConfDiags;

typedef struct ConfLoadOptions {
        const char *main_path;   /* e.g. /etc/pinnerd.conf */
        const char *dir;         /* e.g. /etc/pinnerd.d, NULL = none */
        const CpuSet *possible;  /* CPUs past these warn; NULL = no check */
        const struct Host *host; /* cpus terms with no CPU on it warn; NULL = no check */
        bool check_owner;        /* refuse files not root-owned or g/o-writable */
        bool owner_warn;         /* with !check_owner: report those as warnings
                                  * (`check` run by an ordinary user on a draft) */
} ConfLoadOptions;

void config_free(Config *c);
static inline void config_freep(Config **c) {
        config_free(*c);
}
void conf_diags_done(ConfDiags *d);
/* "file:line: message" ("file: message" when line is 0); warnings read
 * "file:line: warning: message", as compilers print them. Printable ASCII
 * only: the file name and every quoted text are already escaped
 * (conf_escape), so show it as it is. malloc'd. */
char *conf_diag_format(const ConfDiag *d);
/* The same without the word "warning: ", for a logger whose records carry
 * their severity themselves ("pinnerd: warning: FILE:LINE: ..."). */
char *conf_diag_format_bare(const ConfDiag *d);

const Rule *config_find_rule(const Config *c, const char *name);
/* "tasks", "kernel threads", "IRQs", "workqueues". */
const char *rule_kind_name(RuleKind k);
/* Does the config have a rule of kind k? */
bool config_has_kind(const Config *c, RuleKind k);
/* An irqs rule whose items include "*" (every IRQ, save its exclusions). */
bool rule_irqs_all(const Rule *r);
/* What a rule acts on, for people and JSON: "threads" or "kernel-threads". */
const char *rule_target(const Rule *r);
/* A spread mode as the config writes it: "no", "yes", "rule", "index". */
const char *spread_mode_name(SpreadMode s);
/* What a rule does, in one line that cannot be mistaken for another kind of
 * rule: "cpus 2-5, spread index", "avoid 2-5" (a shield: the thread's own
 * CPUs minus these), "kernel threads: cpus housekeeping", with ", policy
 * fifo:1" and ", isolated allowed" where they apply. Values are the config's
 * text, escaped (conf_escape). malloc'd, NULL on ENOMEM. */
char *rule_describe(const Rule *r);
/* The FACT_* bits r's match keys (positive or negated) need. */
unsigned rule_facts(const Rule *r);
/* "keep", "follow", "interleave". */
const char *memory_mode_name(MemoryMode m);
/* Two rules with the same name ask for the same thing (keys and actions). */
bool rule_equal(const Rule *a, const Rule *b);

/* Escape a string from a config file or /proc for a message: backslash,
 * single quote and bytes outside printable ASCII become \\, \', \n, \t or
 * \xNN; at most max input bytes are shown, then "...". malloc'd, NULL on
 * ENOMEM. */
char *conf_escape(const char *s, size_t max);
/* Free what a rule holds (the loader's rules and a Config's). */
void conf_rule_done(Rule *r);
