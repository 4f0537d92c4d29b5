#!/usr/bin/env bash
# Host-side check of the built DLL and import library:
#  - exactly the 12 Restart Manager exports, undecorated, nothing else;
#  - imports only from Windows system DLLs (no libgcc, libwinpthread, CRT DLLs);
#  - a version resource naming this project;
#  - the import library carries the decorated x86 symbols (_RmStartSession@12).
# Usage: check-exports.sh rstrtmgr.dll librstrtmgr.a <toolchain-prefix>
set -euo pipefail
dll=$1 implib=$2 tp=$3
fail=0
expected="RmAddFilter RmCancelCurrentTask RmEndSession RmGetFilterList RmGetList RmJoinSession RmRegisterResources RmRemoveFilter RmReserveHeap RmRestart RmShutdown RmStartSession"

exports=$("$tp-objdump" -p "$dll" | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | awk '/\[/{print $NF}' | grep -v Table | sort | xargs)
if [ "$exports" != "$expected" ]; then
  echo "FAIL: exports are: $exports"; echo "      expected:    $expected"; fail=1
else
  echo "ok: exactly the 12 exports, undecorated"
fi

allowed="KERNEL32.dll ADVAPI32.dll USER32.dll bcrypt.dll ntdll.dll VERSION.dll"
for imp in $("$tp-objdump" -p "$dll" | awk '/DLL Name:/{print $3}'); do
  case " $allowed " in
    *" $imp "*) echo "ok: imports $imp" ;;
    *) echo "FAIL: imports non-system DLL $imp"; fail=1 ;;
  esac
done

if strings -el "$dll" | grep -q 'rstrtmgr clean-room'; then
  echo "ok: version resource names the project"
else
  echo "FAIL: no project version resource"; fail=1
fi

if [ "$tp" = i686-w64-mingw32 ]; then
  implib_syms=$("$tp-nm" "$implib")
  for sym in _RmStartSession@12 _RmRegisterResources@28 _RmGetList@20 _RmAddFilter@20 _RmShutdown@12 \
             _RmRestart@12 _RmJoinSession@8 _RmGetFilterList@16 _RmRemoveFilter@16 _RmEndSession@4 \
             _RmCancelCurrentTask@4 _RmReserveHeap@4; do
    grep -q " T $sym\$" <<<"$implib_syms" || { echo "FAIL: import library lacks $sym"; fail=1; }
  done
  [ "$fail" = 0 ] && echo "ok: import library has the stdcall-decorated symbols"
fi
exit $fail
