#!/bin/sh
# The layering checked on what the compiler and the archiver produced,
# where tools/layers.sh reads the text: an include the text check cannot
# see (a macro naming the header, a comment or a line break between
# #include and its operand, a path climbing out of the file's folder)
# still shows in the dependency file (-MMD) as the header the compiler
# read, and a weak reference (__attribute__((weak))) links whatever the
# programs happen to pull in, where a whole-archive link (the .ok link)
# lets it resolve to nothing.  Prints every offence; exits 1 if any.
#   tools/layers_built.sh LAYER "SEES" ARCHIVE DEPFILE...
set -u

layer=$1 sees=$2 lib=$3
shift 3
root=$(pwd -P)
bad=0

# Every header of DEPFILE's object, resolved (links followed), inside
# the tree: its folder must be one LAYER sees; a private header only
# from its own folder.
for d in "$@"; do
	[ -f "$d" ] || continue
	# The object's rule, up to the first phony header rule (-MP):
	# the source first, then the headers.
	deps=$(sed -e '1s/^[^:]*://' -e '/^[^ ].*:$/,$d' -e 's/\\$//' "$d" |
	    tr ' ' '\n' | sed '/^$/d')
	src=$(echo "$deps" | head -n 1)
	for h in $deps; do
		p=$(realpath -m "$h")
		case $p in
		"$root"/*) p=${p#"$root"/} ;;
		*) continue ;; # the system's and DPDK's
		esac
		[ "$p" = "$src" ] && continue
		case " $sees " in
		*" ${p%%/*} "*) ;;
		*) echo "$src: reads $p: $layer may include only $sees"
		   bad=1 ;;
		esac
		case $p in
		*_int.h | *_impl.h)
			[ "${p%/*}" = "${src%/*}" ] || {
				echo "$src: reads $p: private to ${p%/*}/"
				bad=1
			} ;;
		esac
	done
done

# Weak undefined references: none of ours has a reason to exist.
weak=$(nm -A "$lib" 2>/dev/null | awk '$(NF-1) == "w" || $(NF-1) == "v"')
if [ -n "$weak" ]; then
	echo "$weak" | sed "s/\$/: a weak reference escapes the layer link/"
	bad=1
fi
exit $bad
