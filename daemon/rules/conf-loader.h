/* SPDX-License-Identifier: MIT */
/* The Loader: what the config loader's layers share; only they include this.
 *
 * The layers, each calling only those below it:
 *   conf.c        the Config object and the public API
 *   conf-load.c   files and drop-in directories: ownership, mode, size
 *   conf-ini.c    syntax: one physical line at a time through libinih,
 *                 section headers, lines inih cannot take
 *   conf-keys.c   each key to its section's table; the [pinnerd] keys
 *   conf-rule-keys.c  the [rule:NAME] key table and its parsers
 *   conf-values.c the value parsers both sections share
 *   conf-sections.c  a section's start and end: a rule's checks
 *   conf-targets.c  the keys of rules about IRQs and workqueues, and the
 *                 check that a rule targets one kind of thing
 *   conf-loader.c the Loader they share and its diagnostics
 * The Loader collects every problem before a Config is built, so a bad file
 * never yields a half-applied configuration. */
#pragma once

#include "rules/config.h"

/* Bounds on what a config may make us allocate or print. */
#define CONF_MAX_LINE (4 * CONF_MAX_VALUE) /* longer lines are refused whole */
#define CONF_QUOTE_MAX 80                  /* bytes of offending text quoted */

/* Rule keys, in table order (conf-rule-keys.c); key_line is indexed by them.
 * The match keys come first, K_COMM..K_PARENT. */
typedef enum RuleKey {
        K_COMM,
        K_EXE,
        K_CMDLINE,
        K_USER,
        K_CGROUP,
        K_UNIT,
        K_PARENT,
        K_KTHREADS,
        K_THREADS,
        K_CPUS,
        K_SPREAD,
        K_ISOLATED,
        K_PRIORITY,
        K_POLICY,
        K_RTPRIO,
        K_NICE,
        K_DRIFT,
        K_AVOID,
        K_IRQS,       /* conf-targets.c */
        K_WORKQUEUES, /* conf-targets.c */
        K_FOLLOW,     /* conf-targets.c */
        K_MEMORY,
        K_GUARANTEE,
        _K_MAX,
} RuleKey;

typedef enum SettingKey {
        S_ISOLATED,
        S_RESTORE,
        S_RESTORE_AT_STOP,
        S_RESCAN,
        S_VERIFY,
        S_DRIFT,
        _S_MAX
} SettingKey;

/* What a rule says about settings [pinnerd] also has: resolved only when
 * every file is read, since [pinnerd] may come later. -1: not given. */
typedef struct RuleOwn {
        signed char isolated; /* 0 exclude, 1 allow */
        signed char drift;    /* a DriftAction */
        unsigned cpus_line;   /* the line of its cpus (or avoid) key */
} RuleOwn;

typedef enum Section { SEC_NONE, SEC_SETTINGS, SEC_RULE, SEC_IGNORED } Section;

typedef struct Loader {
        ConfDiags *diags;
        const CpuSet *possible;
        const struct Host *host; /* NULL: no check of cpus terms against a host */
        bool oom;
        bool stop; /* too many errors: stop reading */

        Settings settings;
        Rule *rules;
        RuleOwn *rule_own; /* per rule */
        size_t n_rules, cap_rules;
        bool too_many_reported;
        StrVec files;
        /* Where restore-at-stop was last set, for the check against restore. */
        const char *restore_at_stop_file;
        unsigned restore_at_stop_line;

        /* The file being read. */
        const char *file;
        const char *pos, *end;
        unsigned line;
        bool expect_handler; /* the line handed to inih must reach the handler */
        size_t file_errors;
        unsigned setting_line[_S_MAX]; /* first line of each setting in this file */
        char *linebuf;

        /* The section being read. */
        Section sec;
        Rule *rule; /* into rules, or &scratch for a rule that is checked, not kept */
        Rule scratch;
        bool rule_kept;
        unsigned key_line[_K_MAX];
        RuleOwn own;
        /* Task-name globs of this rule, judged at its end, when it is known
         * whether they name kernel threads (whose names are longer). */
        struct TaskNameGlob {
                RuleKey key;
                size_t idx; /* in the key's StrVec, or its negated one */
                unsigned line;
                bool negated;
        } * names;
        size_t n_names, cap_names;
} Loader;

/* conf-loader.c: the Loader, diagnostics and rules. */
void loader_init(Loader *l, ConfDiags *diags, const CpuSet *possible, const struct Host *host);
/* The line buffer every file is read through. -ENOMEM. */
int loader_alloc(Loader *l);
void loader_done(Loader *l);
/* A quoted piece of text for a message (conf_escape, CONF_QUOTE_MAX bytes);
 * "" on ENOMEM (the message still names file:line). Freed by the caller. */
char *conf_quote(const char *s);
/* Record a problem at l->file:line; counts errors, bounds their number. */
void conf_diag(Loader *l, bool warning, unsigned line, const char *fmt, ...) _printf_(4, 5);
#define ERR(l, ...) conf_diag((l), false, (l)->line, __VA_ARGS__)
#define WARN(l, ...) conf_diag((l), true, (l)->line, __VA_ARGS__)
/* The file being read from now on: l->file (kept in l->files). -ENOMEM. */
int conf_push_file(Loader *l, const char *name);
/* Put the diagnostics in the order a reader meets them: file by file as
 * they were read, line by line within a file (checks made at the end of a
 * rule or of the load come back to their line); a final "giving up" stays
 * last. */
void conf_diags_sort(Loader *l);
