# shellcheck shell=bash
# Sourced by the benchmarks that compare this tree with another revision
# (bench/compare.sh, bench/privsep.sh).
#
# ref_build KIND COMMIT TARGET...: builds TARGETs (make goals such as
# build/cordon-dp) of COMMIT once, in a plain export (git archive: no
# worktree to register or prune) under $ROOT/.cache/KIND/COMMIT, and
# prints that folder.  A lock keeps two runs from building the same
# commit at once; a build that fails prints its log's tail and returns 1.
ref_build() {
	local kind=$1 commit=$2 t missing=0
	local dir="$ROOT/.cache/$kind/$commit"
	shift 2
	mkdir -p "$ROOT/.cache/$kind"
	exec 9>"$dir.lock"
	flock 9
	for t in "$@"; do
		[ -x "$dir/$t" ] || missing=1
	done
	if [ $missing = 1 ]; then
		echo "== building $commit in $dir" >&2
		rm -rf "$dir"
		mkdir -p "$dir"
		git -C "$ROOT" archive "$commit" | tar -x -C "$dir"
		if ! make -C "$dir" -j2 "$@" >"$dir.log" 2>&1; then
			tail -n 20 "$dir.log" >&2
			exec 9>&-
			return 1
		fi
	fi
	exec 9>&-
	echo "$dir"
}
