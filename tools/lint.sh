#!/bin/sh
# make lint: clang-format (the repo's .clang-format) on the C files changed
# against the merge base with the upstream branch (or, without one, against
# HEAD, untracked files included), or on every C file with --all; then
# cppcheck on dataplane/ control/ config/.  Reformats nothing: it reports.
# Exits 1 if either finds something, 2 on bad usage or a missing tool.
set -eu

usage() {
	echo "usage: tools/lint.sh [--all]" >&2
	exit 2
}

all=0
case ${1:-} in
--all) all=1 ;;
"") ;;
*) usage ;;
esac
[ $# -le 1 ] || usage

cd "$(dirname "$0")/.."
for t in clang-format cppcheck git; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "lint.sh: $t not installed" >&2
		exit 2
	fi
done

# The base the branch started from; HEAD when there is no upstream.
lint_base() {
	git merge-base HEAD '@{upstream}' 2>/dev/null ||
	    git merge-base HEAD origin/main 2>/dev/null ||
	    git rev-parse --verify -q HEAD ||
	    true
}

# C sources and headers, one per line: all, or changed since the base.
lint_files() {
	if [ "$all" -eq 1 ]; then
		git ls-files --cached --others --exclude-standard -- \
		    '*.c' '*.h'
		return
	fi
	base=$(lint_base)
	if [ -n "$base" ]; then
		git diff --name-only --diff-filter=ACMR "$base" -- '*.c' '*.h'
	fi
	git ls-files --others --exclude-standard -- '*.c' '*.h'
}

rc=0
out=$(mktemp "${TMPDIR:-/tmp}/cordon-lint.XXXXXX")
trap 'rm -f "$out"' EXIT INT TERM
files=$(lint_files | sort -u)
nfiles=0
nbad=0
for f in $files; do
	[ -f "$f" ] || continue
	nfiles=$((nfiles + 1))
	if ! clang-format --style=file --dry-run -Werror "$f" 2>"$out"; then
		nbad=$((nbad + 1))
		n=$(grep -c ': error: code should be clang-formatted' "$out" ||
		    true)
		echo "clang-format: $f: $n place(s) differ"
	fi
done
echo "clang-format: $nbad of $nfiles file(s) not formatted" \
    "(see: clang-format --dry-run FILE)"
[ "$nbad" -eq 0 ] || rc=1

if ! cppcheck --quiet --enable=warning,performance,portability \
    --error-exitcode=1 --inline-suppr -I. --suppress=missingIncludeSystem \
    --template='{file}:{line}: {severity}: {message} [{id}]' \
    dataplane/ control/ config/ 2>&1; then
	echo "cppcheck: findings above"
	rc=1
else
	echo "cppcheck: clean"
fi
exit "$rc"
