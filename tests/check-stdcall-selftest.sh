#!/usr/bin/env bash
# Proves that check-stdcall.sh can fail: it must reject
#   1. the real DLL checked against a .def whose @N is wrong for one export;
#   2. a DLL whose export is cdecl (plain `ret`) where the .def says @4;
#   3. a DLL whose stdcall export pops 4 bytes where the .def says @8;
# and accept, in the same mutated DLL, the export that is right (so a check that
# fails everything does not pass this test either).
# Usage: check-stdcall-selftest.sh DLL DEF [TOOLCHAIN_PREFIX]
set -uo pipefail
dll=$1 def=$2 tp=${3:-i686-w64-mingw32}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
check="$here/check-stdcall.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect_reject WHAT EXPORT OUTPUT-FILE STATUS: the check must fail, naming EXPORT.
expect_reject() {
  if [ "$4" != 0 ] && grep -q "^FAIL: $2 " "$3"; then
    echo "ok: $1: rejected"
    awk -v n="$2" '/^(ok|FAIL):/ { on = ($0 ~ "^FAIL: " n " ") } on { print "    " $0 }' "$3"
  else
    echo "FAIL: $1: not rejected (status $4)"; sed 's/^/    /' "$3"; fail=1
  fi
}

# 1. A wrong @N for RmStartSession (really 12 bytes: three arguments).
sed 's/RmStartSession@12/RmStartSession@16/' "$def" >"$tmp/wrong.def"
grep -q 'RmStartSession@16' "$tmp/wrong.def" || { echo "FAIL: mutation 1 did not apply"; exit 1; }
"$check" "$dll" "$tmp/wrong.def" "$tp" >"$tmp/1.out" 2>&1
expect_reject "RmStartSession checked against @16" RmStartSession "$tmp/1.out" $?
grep -q '^ok: RmEndSession ' "$tmp/1.out" || { echo "FAIL: the other exports were not accepted"; fail=1; }

# 2 and 3. A small DLL with one export of each kind and one right one.
cat >"$tmp/mut.c" <<'C'
unsigned long __cdecl RmEndSession(unsigned long h) { return h ? 0 : 6; }
unsigned long __stdcall RmJoinSession(unsigned long *h) { return h ? 0 : 87; }
unsigned long __stdcall RmCancelCurrentTask(unsigned long h) { return h ? 0 : 6; }
C
printf 'LIBRARY "mut.dll"\nEXPORTS\n    RmEndSession\n    RmJoinSession@4\n    RmCancelCurrentTask@4\n' >"$tmp/mut-build.def"
printf 'EXPORTS\n    RmEndSession@4\n    RmJoinSession@8\n    RmCancelCurrentTask@4\n' >"$tmp/mut-check.def"
if ! "$tp-gcc" -O2 -shared -nostdlib -Wl,--kill-at -Wl,--entry,0 -o "$tmp/mut.dll" "$tmp/mut.c" "$tmp/mut-build.def" 2>"$tmp/cc.log"; then
  echo "FAIL: the mutated DLL could not be built"; cat "$tmp/cc.log"; exit 1
fi
"$check" "$tmp/mut.dll" "$tmp/mut-check.def" "$tp" >"$tmp/2.out" 2>&1
st=$?
expect_reject "cdecl RmEndSession where the .def says @4" RmEndSession "$tmp/2.out" $st
expect_reject "RmJoinSession popping 4 bytes where the .def says @8" RmJoinSession "$tmp/2.out" $st
if grep -q '^ok: RmCancelCurrentTask pops 4 bytes' "$tmp/2.out"; then
  echo "ok: the right export of the mutated DLL is accepted"
else
  echo "FAIL: the right export of the mutated DLL was not accepted"; sed 's/^/    /' "$tmp/2.out"; fail=1
fi
exit $fail
