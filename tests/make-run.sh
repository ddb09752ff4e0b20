#!/bin/bash
# make-run.sh BUILD — what `sudo make run` runs: pinnerd in the foreground on
# the checkout's conf/pinnerd.conf and conf/pinnerd.d/*.conf, decisions on this
# terminal, until Ctrl-C (which puts back every mask it changed).
#
# pinnerd refuses configuration files that are not root's or that others can
# write, and every directory above them (as sshd does): a checkout owned by an
# ordinary user can never pass, and must not. So pinnerd reads a root-owned
# copy in /tmp/pinnerd-run.XXXXXX, and this script keeps that copy in step
# with the checkout: every 0.2 s it compares each file (cmp) and replaces a
# changed one atomically (a new file renamed over the old), adds new drop-ins
# and removes deleted ones. `pinnerctl reload` then reads the edit. The check
# in pinnerd stays as strict as ever; the one copying is the administrator who
# ran `sudo make run` on their own checkout. pinnerd runs in the copy's
# directory and is given the same relative names, conf/pinnerd.conf and
# conf/pinnerd.d, so its messages name the files as you edit them.
#
# Knobs (environment): PINNERD_SOCKET (default /run/pinnerd/control),
# PINNERD_LOG_TARGET (default stderr: this terminal; journal or auto),
# RUN_ARGS (more pinnerd options, e.g. --dry-run or --log-level debug).
set -u
shown=${1:?usage: make-run.sh BUILD}
build=$(cd "$shown" && pwd) || exit 1
sock=${PINNERD_SOCKET:-/run/pinnerd/control}
target=${PINNERD_LOG_TARGET:-stderr}
src=conf/pinnerd.conf
srcdir=conf/pinnerd.d
interval=0.2

say() { printf 'make run: %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { say "pinnerd pins other users' threads and reads only root's files: run sudo make run"; exit 1; }
[ -f "$src" ] || { say "no $src here (run make run at the top of the checkout)"; exit 1; }

stage=$(mktemp -d /tmp/pinnerd-run.XXXXXX) || exit 1
watcher= banner=
cleanup() {
	[ -n "$watcher" ] && kill "$watcher" 2>/dev/null
	[ -n "$banner" ] && kill "$banner" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$stage"
}
trap cleanup EXIT
# Handled, not ignored: pinnerd (exec'd from here) gets SIGINT as it is sent.
trap 'true' INT TERM
chmod 0755 "$stage"
mkdir -m 0755 "$stage/conf" "$stage/conf/pinnerd.d"

# put SRC DEST: DEST becomes a root-owned 0644 copy of SRC, in one rename.
put() {
	install -m 0644 -o root -g root "$1" "$stage/.new" && mv -f "$stage/.new" "$stage/$2"
}

# One pass; prints what changed. A source missing for a moment (an editor
# saving by rename) keeps its last copy.
sync_once() {
	local f name
	if [ -f "$src" ] && ! cmp -s "$src" "$stage/$src"; then
		put "$src" "$src" && [ "${1:-}" != quiet ] && say "staged $src"
	fi
	for f in "$srcdir"/*.conf; do
		[ -f "$f" ] || continue
		name=${f##*/}
		case $name in .*) continue ;; esac
		if ! cmp -s "$f" "$stage/$srcdir/$name"; then
			put "$f" "$srcdir/$name" && [ "${1:-}" != quiet ] && say "staged $f"
		fi
	done
	for f in "$stage/$srcdir"/*.conf; do
		[ -f "$f" ] || continue
		name=${f##*/}
		if [ ! -e "$srcdir/$name" ]; then
			rm -f "$f" && say "removed $srcdir/$name from the staged copy"
		fi
	done
}

sync_once quiet
say "pinnerd on $src and $srcdir/*.conf, read from a root-owned copy in $stage"
say "that follows your edits within ${interval} s (pinnerd refuses files others can write)"
say "control socket $sock; in another terminal:"
say "    sudo $shown/pinnerctl --socket $sock status     (also list, explain PID, metrics)"
say "    sudo $shown/pinnerctl --socket $sock reload     (after editing $src)"
say "Ctrl-C stops pinnerd and puts back every mask it changed"

# In the background, so SIGINT (ignored there) reaches only pinnerd.
(
	while sleep "$interval"; do sync_once; done
) &
watcher=$!
# The rules, once pinnerd answers.
(
	for _ in $(seq 100); do
		if out=$("$build/pinnerctl" --socket "$sock" status 2>/dev/null); then
			printf '%s\n' "$out" | sed -n '/^rules (/,$p' | sed 's/^/make run: /'
			exit 0
		fi
		sleep 0.1
	done
) &
banner=$!

# In the copy's directory, by the checkout's relative names (see above).
cd "$stage" || exit 1
# shellcheck disable=SC2086 # RUN_ARGS is a list of options
"$build/pinnerd" --config "$src" --config-dir "$srcdir" --socket "$sock" --log-target "$target" ${RUN_ARGS:-}
