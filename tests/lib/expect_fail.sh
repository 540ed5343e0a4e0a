#!/bin/sh
# expect_fail.sh TEXT CMD...: passes when CMD fails and its output says TEXT.
text=$1
shift
out=$("$@" 2>&1)
rc=$?
echo "$out"
[ $rc -ne 0 ] || { echo "expected failure, got exit 0"; exit 1; }
echo "$out" | grep -qF -- "$text" || { echo "missing \"$text\""; exit 1; }
