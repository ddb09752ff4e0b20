#!/bin/sh
# tests/lint/layers.sh REPO_DIR — the house rules of daemon/ (`make layers`).
#
# 1. Every arrow points down: a file in daemon/LAYER/ includes only headers of
#    its own layer and the layers before it in  lib kernel rules core ctl
#    (daemon/main.c, on top, may include any).
# 2. No circle: with a module being X.c and its X.h (X-internal.h belongs to
#    X too), the graph "module A includes a header of module B" has no loop
#    (tsort finds one).
# 3. The insides stay inside: core/manager-internal.h is read by core/manager.c
#    and the control verbs only; rules/conf-loader.h by the config loader's
#    own files only.
# Prints every breach and exits 1, or one line and 0.
set -eu
top=$(cd "${1:-.}" && pwd)
cd "$top/daemon"
layers="lib kernel rules core ctl"
rank() { # LAYER -> 0..4, or 9 for main
	i=0
	for l in $layers; do
		[ "$l" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
	echo 9
}
bad=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
module() { # path of a .c or .h -> its module (path without extension and -internal)
	echo "$1" | sed -e 's/\.[ch]$//' -e 's/-internal$//'
}
for f in main.c */*.c */*.h; do
	case $f in
	*/*) layer=${f%%/*} ;;
	*) layer=main ;;
	esac
	r=$(rank "$layer")
	from=$(module "$f")
	echo "$from $from" >>"$edges"
	for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		case $inc in
		*/*) ;;
		*)
			echo "layers: $f includes \"$inc\" without its folder"
			bad=1
			continue
			;;
		esac
		il=${inc%%/*}
		ir=$(rank "$il")
		if [ "$ir" = 9 ]; then
			echo "layers: $f includes \"$inc\", not in a layer folder"
			bad=1
		elif [ "$ir" -gt "$r" ]; then
			echo "layers: $f ($layer) includes \"$inc\" ($il): an arrow up"
			bad=1
		fi
		to=$(module "$inc")
		[ "$to" = "$from" ] || echo "$from $to" >>"$edges"
		case $inc in
		core/manager-internal.h)
			case $f in core/manager.c | ctl/*) ;; *)
				echo "layers: $f includes core/manager-internal.h (the manager's and the control verbs' only)"
				bad=1
				;;
			esac
			;;
		rules/conf-loader.h)
			case $f in rules/conf*) ;; *)
				echo "layers: $f includes rules/conf-loader.h (the config loader's own)"
				bad=1
				;;
			esac
			;;
		esac
	done
done
if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
	echo "layers: a circle among modules:"
	sed 's/^/  /' "$edges.err"
	bad=1
fi
rm -f "$edges.err"
[ "$bad" = 0 ] || exit 1
echo "layers: $(ls */*.c main.c | wc -l) files in $(echo $layers | wc -w) layers, every include points down, no circle"
