#!/bin/bash
# Bash completion for pinnerctl (conf/pinnerctl.bash-completion): verbs and
# options as `pinnerctl --help` lists them (a verb's own options only with
# it), pids for explain and list, threads for --thread, the daemon's rules
# for --rule, files for check and --socket, and the installed file is found
# by bash-completion's loader.
. "$HERE/lib.sh"
REPO=$(cd "$HERE/../.." && pwd)
COMP=$REPO/conf/pinnerctl.bash-completion
[ -x "$PINNERCTL" ] || fail "no $PINNERCTL"

# comp WORD...: what TAB offers after the words (the last one is being completed),
# sorted and space-joined, from a fresh bash that sourced only the completion file.
comp() {
        PATH=$BUILD:$PATH bash --norc --noprofile -c '
                source "$1"; shift
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
                COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                _pinnerctl pinnerctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
                printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"' comp "$COMP" "$@"
}

bash --norc -c "source '$COMP'; complete -p pinnerctl" >"$T/spec" 2>&1 || fail "complete -p pinnerctl: $(cat "$T/spec")"
expect_eq "$(cat "$T/spec")" "complete -F _pinnerctl pinnerctl" "the file registers _pinnerctl for pinnerctl"
expect_eq "$(comp pinnerctl re)" "reload rescan" "pinnerctl re<TAB>"
# Every verb in the help, nothing else.
verbs=$("$PINNERCTL" --help | sed -n '/^Verbs:/,/^$/s/^  \([a-z][a-z]*\).*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')
[ -n "$verbs" ] || fail "no verbs in pinnerctl --help"
expect_eq "$(comp pinnerctl '')" "$verbs" "pinnerctl <TAB> lists every verb"
expect_eq "$(comp pinnerctl --j)" "--json" "pinnerctl --j<TAB>"
expect_eq "$(comp pinnerctl --socket /x/control st)" "status" "a verb after --socket PATH"
expect_eq "$(comp pinnerctl status --js)" "--json" "an option after the verb"
expect_eq "$(comp pinnerctl status '')" "" "status takes no argument"
comp pinnerctl -- | grep -qw -- --config-dir || fail "--<TAB> lacks --config-dir: $(comp pinnerctl --)"
# A verb's own options only with that verb; --json with every verb (each has it).
expect_eq "$(comp pinnerctl list --)" "$(printf '%s\n' --help --json --rule --socket --version | sort | tr '\n' ' ' | sed 's/ $//')" \
        "list --<TAB>: the common options and --rule"
expect_eq "$(comp pinnerctl explain 1 --t)" "--thread" "explain PID --t<TAB>"
expect_eq "$(comp pinnerctl check --c)" "--config-dir" "check --c<TAB>"
expect_eq "$(comp pinnerctl status --c)" "" "status takes no --config-dir"
for v in $verbs; do
        comp pinnerctl "$v" --j | grep -qx -- --json || fail "$v --j<TAB> does not offer --json (every verb takes it)"
done
ok "options from pinnerctl --help, per verb"

# explain PID: live pids, one argument only.
sleep 60 &
sp=$!
cleanup_add "kill $sp"
comp pinnerctl explain "" | tr ' ' '\n' | grep -qx "$sp" || fail "explain <TAB> does not offer pid $sp"
comp pinnerctl explain "$sp" | tr ' ' '\n' | grep -qx "$sp" || fail "explain $sp<TAB> does not offer $sp"
comp pinnerctl explain x | grep -q . && fail "explain x<TAB> offers $(comp pinnerctl explain x)"
expect_eq "$(comp pinnerctl explain 1 '')" "" "explain takes one PID"
comp pinnerctl list "" | tr ' ' '\n' | grep -qx "$sp" || fail "list <TAB> does not offer pid $sp"
# --thread: the threads of the process named before it.
expect_eq "$(comp pinnerctl explain "$sp" --thread '')" "$sp" "explain $sp --thread <TAB>: its one thread"
ok "explain and list complete live pids, --thread the process's threads"

# --rule: the rules of the daemon on --socket.
if [ "$(id -u)" = 0 ]; then
        write_conf "[rule:r40-alpha]
comm = nothing40a
cpus = 0
[rule:r40-beta]
comm = nothing40b
cpus = 0"
        start_daemon
        expect_eq "$(comp pinnerctl --socket "$SOCK" list --rule r40)" "r40-alpha r40-beta" "list --rule <TAB>: the daemon's rules"
        stop_daemon
        ok "--rule completes the running daemon's rule names"
else
        echo "note: not root; --rule against a daemon not checked"
fi

# explain irq:N, cpus/audit CPU numbers, --sample and a verb after its value.
if [ -d /proc/irq ] && ls /proc/irq | grep -q '^[0-9]'; then
        first=$(ls /proc/irq | grep '^[0-9]' | sort -n | head -n 1)
        comp pinnerctl explain irq: | tr ' ' '\n' | grep -qx "irq:$first" ||
                fail "explain irq:<TAB> lacks irq:$first: $(comp pinnerctl explain irq:)"
fi
comp pinnerctl explain "" | tr ' ' '\n' | grep -qx "irq:" || fail "explain <TAB> does not offer irq:"
expect_eq "$(comp pinnerctl audit '' | tr ' ' '\n' | grep -c '^[0-9]')" "$(ls -d /sys/devices/system/cpu/cpu[0-9]* | wc -l)" \
        "audit <TAB> offers every CPU"
comp pinnerctl cpus "" | tr ' ' '\n' | grep -qx all || fail "cpus <TAB> does not offer all"
expect_eq "$(comp pinnerctl audit 1 '')" "" "audit takes one CPU list"
expect_eq "$(comp pinnerctl --sample 6)" "60" "--sample 6<TAB>"
expect_eq "$(comp pinnerctl --sample 5 au)" "audit" "a verb after --sample SECONDS"
ok "explain irq:N, cpus and audit CPUs, --sample"

# Files, including hostile names: spaces, a quote, a glob character.
mkdir -p "$T/f"
touch "$T/f/a b.conf" "$T/f/it's.conf" "$T/f/x*.conf"
out=$(PATH=$BUILD:$PATH bash --norc --noprofile -c '
        source "$1"; COMP_WORDS=(pinnerctl check "$2/f/"); COMP_CWORD=2; _pinnerctl
        printf "[%s]\n" "${COMPREPLY[@]}" | sort' comp "$COMP" "$T")
expect_eq "$out" "$(printf '[%s]\n' "$T/f/a b.conf" "$T/f/it's.conf" "$T/f/x*.conf" | sort)" "check FILE completes hostile file names whole"
expect_eq "$(comp pinnerctl --config-dir "$T/")" "$T/d $T/f" "--config-dir completes directories"

# Installed where bash-completion's loader finds it.
make -C "$REPO" --no-print-directory install-files DESTDIR="$T/stage" PREFIX=/usr BUILD="$BUILD" >"$T/install.log" 2>&1 ||
        fail "make install-files: $(tail -n 20 "$T/install.log")"
[ -f "$T/stage/usr/share/bash-completion/completions/pinnerctl" ] || fail "make install put no completion at /usr/share/bash-completion/completions/pinnerctl"
if [ -r /usr/share/bash-completion/bash_completion ]; then
        out=$(XDG_DATA_DIRS=$T/stage/usr/share bash --norc --noprofile -c '
                source /usr/share/bash-completion/bash_completion
                if declare -F _comp_load >/dev/null; then _comp_load pinnerctl; else __load_completion pinnerctl; fi
                complete -p pinnerctl' 2>&1)
        expect_eq "$out" "complete -F _pinnerctl pinnerctl" "bash-completion's loader finds the installed file"
else
        echo "note: bash-completion not installed; loader not checked"
fi
exit 0
