/* SPDX-License-Identifier: MIT */
/* pinnerd.conf keys: every key=value line to its section's table (the
 * [rule:NAME] keys are conf-rule-keys.c's), the [pinnerd] table and its
 * parsers, an unknown key with what was probably meant, and the checks
 * across files after the last one. */
#include "rules/conf-keys.h"

#include <stdlib.h>
#include <string.h>

#include "lib/suggest.h"
#include "rules/conf-rule-keys.h"
#include "rules/conf-targets.h"
#include "rules/conf-values.h"

/* ---- [pinnerd] ---- */

typedef void (*SettingParser)(Loader *l, Settings *s, const char *key, const char *value);

static void set_isolated(Loader *l, Settings *s, const char *key, const char *value) {
        (void) conf_value_isolated(l, value, &s->isolated_allow);
}

static void set_restore(Loader *l, Settings *s, const char *key, const char *value) {
        (void) conf_value_bool(l, key, value, &s->restore);
}

static void set_rescan(Loader *l, Settings *s, const char *key, const char *value) {
        (void) conf_value_seconds(l, key, value, &s->rescan);
}

static void set_verify(Loader *l, Settings *s, const char *key, const char *value) {
        (void) conf_value_seconds(l, key, value, &s->verify);
}

static void set_restore_at_stop(Loader *l, Settings *s, const char *key, const char *value) {
        if (conf_value_bool(l, key, value, &s->restore_at_stop) == 0) {
                l->restore_at_stop_file = l->file;
                l->restore_at_stop_line = l->line;
        }
}

static void set_drift(Loader *l, Settings *s, const char *key, const char *value) {
        (void) conf_value_drift(l, value, &s->drift);
}

void conf_keys_finish(Loader *l) {
        conf_targets_finish(l);
        /* Without restore nothing is put back, at stop or ever: a
         * restore-at-stop line then says something the daemon would not do. */
        if (l->restore_at_stop_file && !l->settings.restore) {
                l->file = l->restore_at_stop_file;
                conf_diag(l, false, l->restore_at_stop_line,
                          "restore-at-stop needs restore = yes (restore = no restores nothing, at stop or on "
                          "reload)");
                l->file = NULL;
        }
}

static const struct {
        const char *name;
        SettingParser parse;
} setting_keys[_S_MAX] = {
        [S_ISOLATED] = {"isolated", set_isolated},
        [S_RESTORE] = {"restore", set_restore},
        [S_RESTORE_AT_STOP] = {"restore-at-stop", set_restore_at_stop},
        [S_RESCAN] = {"rescan", set_rescan},
        [S_VERIFY] = {"verify", set_verify},
        [S_DRIFT] = {"drift", set_drift},
};

/* An unknown key, with what was probably meant: the closest name of the
 * section's key table, or a hint that it belongs in the other section. The
 * tables are the only list of keys, so a key added there is suggested too. */
static void unknown_key(Loader *l, const char *key, bool in_rule) {
        const char *rule_names[_K_MAX], *setting_names[_S_MAX], *hint;
        _cleanup_(freep) char *k = conf_quote(key);
        _cleanup_(freep) char *sec = in_rule ? xasprintf("[rule:%s]", l->rule->name) : strdup("[pinnerd]");
        _cleanup_(freep) char *q = conf_quote(sec ? sec : "");

        for (unsigned i = 0; i < _K_MAX; i++)
                rule_names[i] = conf_rule_key_name((RuleKey) i);
        for (unsigned i = 0; i < _S_MAX; i++)
                setting_names[i] = setting_keys[i].name;
        /* A key of the other section: say where it goes. */
        for (unsigned i = 0; i < (in_rule ? _S_MAX : _K_MAX); i++)
                if (strcmp(in_rule ? setting_names[i] : rule_names[i], key) == 0) {
                        ERR(l, "unknown key '%s' in %s: '%s' is a %s key", k, q, k,
                            in_rule ? "[pinnerd]" : "[rule:NAME]");
                        return;
                }
        hint = in_rule ? suggest_word(key, rule_names, _K_MAX) : suggest_word(key, setting_names, _S_MAX);
        if (hint)
                ERR(l, "unknown key '%s' in %s (did you mean '%s'?)", k, q, hint);
        else
                ERR(l, "unknown key '%s' in %s", k, q);
}

static void setting_key(Loader *l, const char *key, const char *value) {
        unsigned i;

        for (i = 0; i < _S_MAX; i++)
                if (strcmp(key, setting_keys[i].name) == 0)
                        break;
        if (i == _S_MAX) {
                unknown_key(l, key, false);
                return;
        }
        if (l->setting_line[i] != 0) {
                _cleanup_(freep) char *v = conf_quote(value);
                ERR(l, "'%s' given twice in [pinnerd] (first on line %u): '%s'", key, l->setting_line[i], v);
                return;
        }
        l->setting_line[i] = l->line;
        setting_keys[i].parse(l, &l->settings, key, value);
}

/* Every key=value line lands here, from inih or from the long-line path. */
void conf_keys_handle(Loader *l, const char *key, const char *value) {
        size_t vlen = strlen(value);

        if (l->sec == SEC_IGNORED)
                return; /* the section header was already reported */
        if (vlen > CONF_MAX_VALUE) {
                _cleanup_(freep) char *k = conf_quote(key);
                ERR(l, "value of '%s' too long (%zu bytes; at most %d)", k, vlen, CONF_MAX_VALUE);
                /* The key was given: no "has no match key" / "no cpus" on top. */
                for (unsigned i = 0; l->sec == SEC_RULE && i < _K_MAX; i++)
                        if (strcmp(key, conf_rule_key_name((RuleKey) i)) == 0 && l->key_line[i] == 0)
                                l->key_line[i] = l->line;
                return;
        }
        if (key[0] == '\0') {
                _cleanup_(freep) char *v = conf_quote(value);
                ERR(l, "missing key name before '= %s'", v);
                return;
        }
        if (l->sec == SEC_NONE) {
                _cleanup_(freep) char *k = conf_quote(key);
                ERR(l, "key '%s' outside of any section ([pinnerd] or [rule:NAME])", k);
                return;
        }
        if (l->sec == SEC_SETTINGS) {
                setting_key(l, key, value);
                return;
        }
        for (unsigned k = 0; k < _K_MAX; k++)
                if (strcmp(key, conf_rule_key_name((RuleKey) k)) == 0) {
                        conf_rule_key(l, l->rule, (RuleKey) k, value);
                        return;
                }
        unknown_key(l, key, true);
}
