#!/usr/bin/env bash
# The conformance runner (tests/conformance.cmake) really swaps the DLL under test:
# against a copy of our DLL it passes and the programs report that copy; against
# the system's rstrtmgr.dll, which under Wine is the builtin stub, test_00 reports
# Wine's builtin and the run fails.
#   check-conformance.sh SOURCE_DIR BUILD_DIR OUR_DLL [CMAKE]
set -uo pipefail
src=$1 build=$2 dll=$3 cmake=${4:-cmake}
fail() { echo "FAIL: $*"; exit 1; }

out=$("$cmake" -D BUILD="$build" -D DLL="$dll" -D ONLY="test_00_which_dll;test_filters" \
      -P "$src/tests/conformance.cmake" 2>&1); rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "the run against a copy of our DLL failed (status $rc)"
grep -q "conformance: test_00_which_dll passed" <<<"$out" || fail "test_00 did not pass against our copy"
grep -qi 'conformance\\rstrtmgr.dll' <<<"$out" || fail "test_00 did not report the copy beside the programs"
grep -q "conformance: test_filters passed" <<<"$out" || fail "test_filters did not pass against our copy"

out=$("$cmake" -D BUILD="$build" -D DLL=system -D ONLY=test_00_which_dll \
      -P "$src/tests/conformance.cmake" 2>&1); rc=$?
echo "$out"
[ $rc -ne 0 ] || fail "the run against Wine's builtin stub passed: the runner does not swap the DLL"
grep -q "Wine's builtin" <<<"$out" || fail "test_00 did not report Wine's builtin"
grep -q "conformance: test_00_which_dll FAILED" <<<"$out" || fail "test_00 did not fail against the stub"
echo "check-conformance: the runner swaps the DLL under test (ours passes, the stub fails)"
