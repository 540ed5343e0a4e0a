#!/bin/sh
# make lint / make format.
#   tools/lint.sh             the format check, then cppcheck
#   tools/lint.sh --format    the format check only
#   tools/lint.sh --cppcheck  cppcheck only
#   tools/lint.sh --apply     rewrite the C files as clang-format writes
#                             them (make format)
# The format check runs clang-format (the repo's .clang-format) over every
# C file of the layers and the tests; it reformats nothing.  cppcheck runs
# over the same files with the suppressions of tools/cppcheck/, each one
# justified there.  Exits 1 on a finding, 2 on bad usage or a missing tool.
set -eu

cd "$(dirname "$0")/.."
DIRS="core wire config dataplane control tests/unit tests/tools tests/fuzz"

usage() {
	echo "usage: tools/lint.sh [--format | --cppcheck | --apply]" >&2
	exit 2
}

case ${1:-} in
"") what="format cppcheck" ;;
--format) what=format ;;
--cppcheck) what=cppcheck ;;
--apply) what=apply ;;
*) usage ;;
esac
[ $# -le 1 ] || usage

need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "lint.sh: $1 not installed (make deps)" >&2
		exit 2
	fi
}

# The C sources and headers, tracked or new (ignored files left out).
lint_files() {
	# shellcheck disable=SC2086
	git ls-files --cached --others --exclude-standard -- $DIRS |
	    grep -E '\.[ch]$' | sort -u | while read -r f; do
		[ -f "$f" ] && echo "$f"
	done
}

# Every place clang-format would change, then one line per file.
lint_format() {
	out=$(mktemp "${TMPDIR:-/tmp}/cordon-lint.XXXXXX")
	frc=0
	lint_files | xargs clang-format --style=file --dry-run \
	    -Werror >"$out" 2>&1 || frc=$?
	grep -E ': error: ' "$out" | grep -v 'code should be clang-formatted' ||
	    true
	bad=$(grep -E ': error: code should be clang-formatted' "$out" |
	    cut -d: -f1 | sort | uniq -c |
	    awk '{ print "clang-format: " $2 ": " $1 " place(s) differ" }')
	rm -f "$out"
	nbad=$(printf '%s' "$bad" | grep -c . || true)
	[ -z "$bad" ] || echo "$bad"
	echo "clang-format: $nbad of $(lint_files | wc -l) file(s) not" \
	    "formatted (make format rewrites them)"
	# A crash or a bad .clang-format fails too, even with no place named.
	[ "$frc" -eq 0 ] || [ "$nbad" -gt 0 ] ||
	    echo "clang-format: failed (exit $frc)"
	[ "$nbad" -eq 0 ] && [ "$frc" -eq 0 ]
}

# cppcheck's warning, performance and portability checks with its POSIX
# knowledge (descriptors, functions and their arguments); the jansson
# iteration macros come from tools/cppcheck/jansson.cfg since system
# headers are not read.
lint_cppcheck() {
	# shellcheck disable=SC2046
	if cppcheck --quiet --enable=warning,performance,portability \
	    --error-exitcode=1 --inline-suppr -I. -j2 --library=posix \
	    --library=tools/cppcheck/jansson.cfg \
	    --suppressions-list=tools/cppcheck/suppressions.txt \
	    --template='{file}:{line}: {severity}: {message} [{id}]' \
	    $(lint_files | grep -E '\.c$') 2>&1; then
		echo "cppcheck: clean"
	else
		echo "cppcheck: findings above"
		return 1
	fi
}

need git
rc=0
for w in $what; do
	case $w in
	format)
		need clang-format
		lint_format || rc=1
		;;
	cppcheck)
		need cppcheck
		lint_cppcheck || rc=1
		;;
	apply)
		need clang-format
		lint_files | xargs clang-format --style=file -i
		;;
	esac
done
exit "$rc"
