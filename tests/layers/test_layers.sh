#!/bin/sh
# The layering is enforced by the build (docs/architecture.md, "Layers"):
# in a scratch copy of the tree (the objects of BUILD copied along, so
# only what changes is compiled), a file that includes or calls against
# the grain must make `make` fail, and the untouched copy must build.
# TAP on stdout.  Needs `make all` done in BUILD (default build).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
SCRATCH=$(mktemp -d /tmp/cordon-layers.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT INT TERM
n=0
fail=0

# Sources as they are (times kept), the build's objects and archives;
# the include folders are made afresh, pointing into the copy.
cd "$ROOT" || exit 1
cp -a Makefile core wire config dataplane control tools "$SCRATCH/"
mkdir -p "$SCRATCH/build"
cp -a "$BUILD/obj" "$BUILD/lib" "$SCRATCH/build/"
cd "$SCRATCH" || exit 1
MK="make -s BUILD=build"

result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fail=1
		sed 's/^/# /' "$SCRATCH/out" | tail -n 15
	fi
}

# Passes when `make TARGET` fails saying TEXT.
make_fails() {
	target=$1 text=$2 name=$3
	if $MK "$target" >"$SCRATCH/out" 2>&1; then
		echo "# make $target succeeded" >>"$SCRATCH/out"
		result 1 "$name"
		return
	fi
	grep -qF -- "$text" "$SCRATCH/out"
	result $? "$name"
}

# FILE written from stdin, then `make` must fail with
# TEXT at TARGET; the file is removed again.
against() {
	file=$1 target=$2 text=$3 name=$4
	mkdir -p "$(dirname "$file")"
	cat >"$file"
	make_fails "$target" "$text" "$name"
	rm -f "$file"
	rm -rf "build/obj/$(dirname "$file")"
	rm -f build/lib/*.a
}

$MK layers >"$SCRATCH/out" 2>&1
result $? "the untouched tree passes every layer check"

# FILE includes HEADER: its object must not compile.
includes() {
	printf '#include "%s"\nint zz_inc(void) { return 0; }\n' "$2" \
	    >"$SCRATCH/src"
	against "$1" "build/obj/${1%.c}.o" "$2: No such file" "$3" <"$SCRATCH/src"
}

# FILE calls SYMBOL, declared by hand so only the link can see it: the
# whole-archive link of LAYER must fail.
calls() {
	printf 'void %s(void *);\nvoid zz_sym(void) { %s((void *)0); }\n' \
	    "$3" "$3" >"$SCRATCH/src"
	against "$1" "build/layers/$2.ok" "undefined reference to \`$3'" \
	    "$4" <"$SCRATCH/src"
}

includes core/zz/zz_inc.c control/dpc/dpc.h \
    "core including control does not compile"
includes dataplane/zz/zz_inc.c control/store/store.h \
    "dataplane including control does not compile"
includes control/zz/zz_inc.c dataplane/dp/dp.h \
    "control including dataplane does not compile"
includes config/zz/zz_inc.c control/store/store.h \
    "config including control does not compile"

# The same include in a header no file compiles: the text check sees it.
echo '#include "control/dpc/dpc.h"' >"$SCRATCH/src"
against core/zz/zz.h build/layers/includes.ok "core may include only core" \
    "a header of core including control fails make" <"$SCRATCH/src"
echo '#include "core/geo/geo_impl.h"' >"$SCRATCH/src"
against control/zz/zz_impl.c build/layers/includes.ok \
    "private to core/geo/" \
    "another folder including core/geo's private header fails make" \
    <"$SCRATCH/src"
echo '#include "../../core/geo/geo.h"' >"$SCRATCH/src"
against core/zz/zz_up.c build/layers/includes.ok "no \"../\" in includes" \
    "an include climbing out with ../ fails make" <"$SCRATCH/src"

# Includes the text check cannot read: the compiler's dependency file
# names the header it read.
printf '#define H "../../control/dpc/dpc.h"\n#include H\nint zz_m(void);\n' \
    >"$SCRATCH/src"
against core/zz/zz_mac.c build/layers/core.ok "core may include only core" \
    "a macro include against the grain fails make" <"$SCRATCH/src"
printf '#include /**/ "../../control/dpc/dpc.h"\nint zz_c(void);\n' \
    >"$SCRATCH/src"
against core/zz/zz_cmt.c build/layers/core.ok "core may include only core" \
    "an include with a comment before its path fails make" <"$SCRATCH/src"
printf '#include "../geo/geo_impl.h"\nint zz_p(void);\n' >"$SCRATCH/src"
against core/zz/zz_priv.c build/layers/core.ok "private to core/geo/" \
    "a private header read from another folder fails make" <"$SCRATCH/src"

# A weak reference links to nothing in the whole-archive link.
printf 'void store_close(void *) __attribute__((weak));\n%s\n' \
    'void zz_w(void) { if (store_close) store_close((void *)0); }' \
    >"$SCRATCH/src"
against core/zz/zz_weak.c build/layers/core.ok "a weak reference escapes" \
    "a weak reference into control fails make" <"$SCRATCH/src"

calls core/zz/zz_sym.c core store_close \
    "core calling into control fails the link"
calls dataplane/zz/zz_sym.c dataplane store_close \
    "dataplane calling into control fails the link"
calls control/zz/zz_sym.c control dp_state_free \
    "control calling into dataplane fails the link"
calls wire/zz_sym.c wire conf_load \
    "wire calling into config fails the link"
calls config/zz/zz_sym.c config dp_state_free \
    "config calling into dataplane fails the link"

echo "1..$n"
exit $fail
