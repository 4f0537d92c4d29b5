#!/usr/bin/env bash
# Test of tools/wine-install on a scratch Wine prefix made here (under the build
# directory, never the suite's prefix or ~/.wine), one prefix for every case:
#   - before: a program away from our DLL (in C:\probe, loading "rstrtmgr.dll" by
#     name as installers do) gets Wine's builtin;
#   - prefixes that do not exist or are not prefixes, a missing DLL, a DLL of the
#     wrong architecture or not ours: refused, nothing changed (hashes, timestamps,
#     the override);
#   - install: the program gets ours (its version resource, and a real session),
#     with the standard search, with LOAD_LIBRARY_SEARCH_SYSTEM32 (NSIS 3, Go) and
#     by its full System32 path;
#     --status says so;
#   - a second install is harmless, and uninstall still restores the originals;
#   - uninstall: Wine's builtin again, the files byte for byte with their
#     timestamps, the override as it was (absent, or a value of the user's);
#   - the user.reg path (RM_WINE_INSTALL_REGISTRY=file) with Wine stopped, and its
#     refusal while a wineserver serves the prefix;
#   - a 32-bit prefix (made by hand: this machine may not run 32-bit Wine): the x86
#     DLL goes to system32, user.reg carries the override, uninstall restores both.
# The programs run WITHOUT the WINEDLLOVERRIDES=rstrtmgr=n that tools/wine-run sets.
#
#   check-wine-install.sh SOURCE_DIR BUILD_DIR X86_DLL
# X86_DLL: our x86 rstrtmgr.dll if built (build/x86); otherwise a stand-in carrying
# our version resource is made here (a 64-bit prefix needs one for syswow64).
set -uo pipefail
src=$1 build=$2 dll32=${3:-}
# shellcheck source=tools/platform.sh
. "$src/tools/platform.sh"
install="$src/tools/wine-install"
scratch="$build/wine-install-test"
pfx="$scratch/prefix"
dll64="$build/rstrtmgr.dll"
fails=0

unset WINEDLLOVERRIDES RM_WINE_INSTALL_REGISTRY
export WINEDEBUG=-all

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

stop_wine() { WINEPREFIX=$pfx "$RM_WINESERVER" -k >/dev/null 2>&1; WINEPREFIX=$pfx "$RM_WINESERVER" -w >/dev/null 2>&1; }
# Wine's background processes inherit the standard handles of whoever starts them:
# every Wine call here reads /dev/null and writes files, never ctest's pipes.
start_wine() {
  WINEPREFIX=$pfx setsid "$RM_WINESERVER" -p </dev/null >/dev/null 2>&1 &
  WINEPREFIX=$pfx WINELOADER=$RM_WINE64 timeout -k 5 120 "$RM_WINE64" cmd /c exit </dev/null >/dev/null 2>&1
}
cleanup() { stop_wine; }
trap cleanup EXIT

# ---- the scratch prefix ---------------------------------------------------------------
[ -d "$pfx" ] && stop_wine
rm -rf "$scratch"
mkdir -p "$scratch"
echo "# creating the scratch prefix $pfx"
t0=$(date +%s)
if ! WINEPREFIX=$pfx WINEDLLOVERRIDES="mscoree,mshtml=" WINELOADER=$RM_WINE64 \
     timeout -k 5 300 "$RM_WINE64" wineboot -i </dev/null >"$scratch/wineboot.log" 2>&1; then
  cat "$scratch/wineboot.log"; echo "FAIL: wineboot -i"; exit 1
fi
stop_wine
start_wine
echo "# prefix ready in $(($(date +%s) - t0)) s"
mkdir -p "$pfx/drive_c/probe"
cp "$build/rmprobe.exe" "$pfx/drive_c/probe/rmprobe.exe"
sys32="$pfx/drive_c/windows/system32/rstrtmgr.dll"
wow64="$pfx/drive_c/windows/syswow64/rstrtmgr.dll"

if [ -z "$dll32" ] || [ ! -f "$dll32" ]; then
  echo "# no x86 build of ours: making a stand-in x86 DLL with our version resource"
  mkdir -p "$scratch/x86"
  printf 'int __stdcall DllMain(void *h, unsigned r, void *p) { (void)h; (void)r; (void)p; return 1; }\n' >"$scratch/x86/main.c"
  if ! { i686-w64-mingw32-windres -I"$src/src" "$src/src/version.rc" -O coff -o "$scratch/x86/version.o" &&
         i686-w64-mingw32-gcc -shared -nostdlib -Wl,--entry,_DllMain@12 -o "$scratch/x86/rstrtmgr.dll" \
           "$scratch/x86/main.c" "$scratch/x86/version.o"; }; then
    echo "FAIL: could not make the x86 stand-in"; exit 1
  fi
  dll32="$scratch/x86/rstrtmgr.dll"
fi
echo "# DLLs: $dll64 and $dll32"

# probe [ARGS]: runs rmprobe in C:\probe, away from our DLL; sets probe_rc, probe_out.
probe() {
  WINEPREFIX=$pfx WINELOADER=$RM_WINE64 timeout -k 5 120 "$RM_WINE64" "$pfx/drive_c/probe/rmprobe.exe" "$@" \
    </dev/null >"$scratch/probe.out" 2>&1
  probe_rc=$?
  probe_out=$(tr -d '\r' <"$scratch/probe.out" | paste -sd '|')
  echo "#   rmprobe $*: $probe_out (exit $probe_rc)"
}
expect_ours() {
  probe "$@"
  [ "$probe_rc" = 0 ] && [[ $probe_out == "ours "*'C:\windows\system32\rstrtmgr.dll'* ]]
}
expect_builtin() { probe "$@"; [ "$probe_rc" = 1 ] && [[ $probe_out == builtin* ]]; }

# override: prints the value of HKCU\Software\Wine\DllOverrides rstrtmgr, or <none>.
override() {
  if WINEPREFIX=$pfx WINELOADER=$RM_WINE64 timeout -k 5 120 "$RM_WINE64" reg query \
       'HKCU\Software\Wine\DllOverrides' /v rstrtmgr </dev/null >"$scratch/reg.out" 2>&1; then
    tr -d '\r' <"$scratch/reg.out" | sed -n 's/^ *rstrtmgr *REG_SZ *//Ip'
  else
    echo "<none>"
  fi
}
set_override() {
  WINEPREFIX=$pfx WINELOADER=$RM_WINE64 timeout -k 5 120 "$RM_WINE64" reg add \
    'HKCU\Software\Wine\DllOverrides' /v rstrtmgr /d "$1" /f </dev/null >/dev/null 2>&1
}

# file_id FILE: hash, size and modification time, or "absent".
file_id() { if [ -e "$1" ]; then echo "$(sha256sum <"$1" | cut -c1-64) $(stat -c '%s %Y' "$1")"; else echo absent; fi; }
# snapshot: what an install may change in the prefix.
snapshot() {
  echo "system32 $(file_id "$sys32")"
  echo "syswow64 $(file_id "$wow64")"
  echo "record $(ls -A "$pfx/.rstrtmgr-install" 2>/dev/null | tr '\n' ' ')"
  echo "override $(override)"
}
# tree_id DIR: every file and folder below DIR with its time, and every file's hash.
tree_id() { (cd "$1" && find . -printf '%p %s %T@\n' | sort && find . -type f -exec sha256sum {} + | sort); }
# content_id DIR: every file below DIR with its hash (folders' and user.reg's times
# change with any edit).
content_id() { (cd "$1" && find . -type f -exec sha256sum {} + | sort); }

# wi ARGS: runs tools/wine-install, output in $scratch/wi.out; sets wi_rc.
wi() {
  "$install" "$@" >"$scratch/wi.out" 2>&1 </dev/null
  wi_rc=$?
  sed 's/^/#   /' "$scratch/wi.out"
}
refused() {   # refused PATTERN: the last wine-install refused with that message
  [ "$wi_rc" = 1 ] && grep -q "refused: .*$1" "$scratch/wi.out" && grep -q "nothing changed" "$scratch/wi.out"
}

# ---- before ------------------------------------------------------------------------------
echo "# before: Wine's own"
check "before install, a program away from our DLL gets Wine's builtin" expect_builtin
original=$(snapshot)
echo "$original" | sed 's/^/#   /'
check "no override value before" [ "$(override)" = "<none>" ]

# ---- refusals -----------------------------------------------------------------------------
echo "# refusals"
wi --prefix "$scratch/missing"
check "a prefix that does not exist is refused" refused "does not exist"
check "  and is not created" [ ! -e "$scratch/missing" ]
WINEPREFIX="$scratch/missing" "$install" >"$scratch/wi.out" 2>&1 </dev/null; wi_rc=$?
check "the default prefix (\$WINEPREFIX) is used, and refused when missing" refused "missing does not exist"

mkdir -p "$scratch/notprefix/drive_c/windows/system32"
echo "x" >"$scratch/notprefix/drive_c/windows/system32/rstrtmgr.dll"
before=$(tree_id "$scratch/notprefix")
wi --prefix "$scratch/notprefix"
check "a folder without system.reg is refused" refused "not a Wine prefix"
check "  and left as it was" [ "$before" = "$(tree_id "$scratch/notprefix")" ]
rm -rf "$scratch/notprefix/drive_c"; touch "$scratch/notprefix/system.reg"
before=$(tree_id "$scratch/notprefix")
wi --prefix "$scratch/notprefix" --uninstall
check "a folder without drive_c is refused (uninstall too)" refused "not a Wine prefix"
check "  and left as it was" [ "$before" = "$(tree_id "$scratch/notprefix")" ]

wi --prefix "$pfx" --dll32 "$scratch/no-such.dll"
check "a missing x86 DLL is refused" refused "no-such.dll is missing"
check "  nothing changed in the prefix" [ "$original" = "$(snapshot)" ]
wi --prefix "$pfx" --dll64 "$scratch/no-such.dll"
check "a missing x64 DLL is refused" refused "no-such.dll is missing"
wi --prefix "$pfx" --dll64 "$dll32"
check "an x86 DLL for system32 of a 64-bit prefix is refused" refused "is x86"
cp "$sys32" "$scratch/wine-builtin.dll"
wi --prefix "$pfx" --dll64 "$scratch/wine-builtin.dll"
check "a DLL that is not ours is refused" refused "not this project's"
check "  nothing changed in the prefix" [ "$original" = "$(snapshot)" ]

# ---- install --------------------------------------------------------------------------------
echo "# install"
WINEPREFIX=$pfx "$install" --dll64 "$dll64" --dll32 "$dll32" >"$scratch/wi.out" 2>&1 </dev/null; wi_rc=$?
sed 's/^/#   /' "$scratch/wi.out"
check "install into \$WINEPREFIX succeeds" [ "$wi_rc" = 0 ]
check "a program in another folder loading rstrtmgr.dll by name gets ours" expect_ours
check "with LOAD_LIBRARY_SEARCH_SYSTEM32 too (NSIS 3, Go)" expect_ours --system32
check "and by its full System32 path" expect_ours --fullpath
probe --session
check "  and it works (a session with a key, ended once)" [ "$probe_rc" = 0 ]
check "system32 holds our x64 DLL" cmp -s "$sys32" "$dll64"
check "syswow64 holds our x86 DLL" cmp -s "$wow64" "$dll32"
check "the override is native,builtin" [ "$(override)" = "native,builtin" ]
wi --prefix "$pfx" --status
check "--status names ours for 64-bit programs" grep -q '^64-bit programs load: C:\\windows\\system32\\rstrtmgr.dll: ours, version [0-9]' "$scratch/wi.out"
check "--status names ours for 32-bit programs" grep -q '^32-bit programs load: C:\\windows\\syswow64\\rstrtmgr.dll: ours, version' "$scratch/wi.out"
if rm_host_runs_x86 && [ -x "$RM_WINE32" ] && [ -f "$src/build/x86/rmprobe.exe" ] && [ "$dll32" = "$src/build/x86/rstrtmgr.dll" ]; then
  cp "$src/build/x86/rmprobe.exe" "$pfx/drive_c/probe/rmprobe32.exe"
  WINEPREFIX=$pfx timeout -k 5 120 "$RM_WINE32" "$pfx/drive_c/probe/rmprobe32.exe" </dev/null >"$scratch/probe.out" 2>&1
  # The file is syswow64's (the only x86 copy), but a 32-bit process sees it through
  # the file system redirection: Wine names its modules by their System32 path.
  check "a 32-bit program gets ours from syswow64" grep -qiE '^ours .*\\(syswow64|system32)\\rstrtmgr\.dll' "$scratch/probe.out"
else
  echo "# 32-bit program not run: $RM_X86_NOT_RUN, or no x86 build (the syswow64 file is checked above)"
fi

echo "# a second install"
after_first=$(snapshot)
wi --prefix "$pfx" --dll64 "$dll64" --dll32 "$dll32"
check "a second install succeeds" [ "$wi_rc" = 0 ]
check "  and changes nothing" [ "$after_first" = "$(snapshot)" ]
check "  the record still holds Wine's file" cmp -s "$pfx/.rstrtmgr-install/system32.dll" "$scratch/wine-builtin.dll"
check "  programs still get ours" expect_ours

# ---- uninstall ------------------------------------------------------------------------------
echo "# uninstall"
wi --prefix "$pfx" --uninstall
check "uninstall succeeds" [ "$wi_rc" = 0 ]
check "a program away from our DLL gets Wine's builtin again" expect_builtin
check "  with LOAD_LIBRARY_SEARCH_SYSTEM32 too" expect_builtin --system32
check "  and by its full System32 path" expect_builtin --fullpath
check "files, record and override exactly as before install" [ "$original" = "$(snapshot)" ]
wi --prefix "$pfx" --status
check "--status names Wine's builtin" grep -q "^64-bit programs load: Wine's builtin" "$scratch/wi.out"
wi --prefix "$pfx" --uninstall
check "a second uninstall has nothing to do" [ "$wi_rc" = 0 ]
check "  and changes nothing" [ "$original" = "$(snapshot)" ]

echo "# an override of the user's is kept and restored"
set_override builtin
with_user=$(snapshot)
wi --prefix "$pfx" --dll64 "$dll64" --dll32 "$dll32"
check "install over a user's \"builtin\" override" expect_ours
wi --prefix "$pfx" --dll64 "$dll64" --dll32 "$dll32"
wi --prefix "$pfx" --uninstall
check "uninstall puts \"builtin\" back" [ "$(override)" = builtin ]
check "  and everything else" [ "$with_user" = "$(snapshot)" ]

# ---- user.reg edited as a file ------------------------------------------------------------
echo "# the user.reg path (Wine stopped)"
stop_wine
env RM_WINE_INSTALL_REGISTRY=file "$install" --prefix "$pfx" --dll64 "$dll64" --dll32 "$dll32" >"$scratch/wi.out" 2>&1 </dev/null
wi_rc=$?; sed 's/^/#   /' "$scratch/wi.out"
check "install with Wine stopped, editing user.reg" [ "$wi_rc" = 0 ]
check "  user.reg carries the override" grep -qx '"rstrtmgr"="native,builtin"' "$pfx/user.reg"
start_wine
check "  Wine reads it: programs get ours" expect_ours
running=$(snapshot)
env RM_WINE_INSTALL_REGISTRY=file "$install" --prefix "$pfx" --uninstall >"$scratch/wi.out" 2>&1 </dev/null; wi_rc=$?
sed 's/^/#   /' "$scratch/wi.out"
check "editing user.reg while a wineserver serves the prefix is refused" refused "wineserver serves"
check "  nothing changed" [ "$running" = "$(snapshot)" ]
stop_wine
env RM_WINE_INSTALL_REGISTRY=file "$install" --prefix "$pfx" --uninstall >"$scratch/wi.out" 2>&1 </dev/null; wi_rc=$?
check "uninstall with Wine stopped, editing user.reg" [ "$wi_rc" = 0 ]
check "  user.reg has the user's value back" grep -qx '"rstrtmgr"="builtin"' "$pfx/user.reg"
start_wine
check "  and everything is as before" [ "$with_user" = "$(snapshot)" ]
check "  programs get Wine's builtin" expect_builtin

# ---- a 32-bit prefix (by hand) ---------------------------------------------------------------
echo "# a 32-bit prefix (made by hand; the file layout and user.reg are what is checked)"
p32="$scratch/prefix32"
mkdir -p "$p32/drive_c/windows/system32"
printf 'WINE REGISTRY Version 2\n;; All keys relative to \\\\Machine\n\n#arch=win32\n' >"$p32/system.reg"
printf 'WINE REGISTRY Version 2\n;; All keys relative to \\\\User\\\\S-1-5-21-0-0-0-1000\n\n#arch=win32\n\n[Software\\\\Wine\\\\DllOverrides] 1700000000\n#time=1da1d1d1d1d1d1d\n"*d3d9"="native"\n\n[Software\\\\Wine\\\\Drivers] 1700000000\n"Graphics"="null"\n' >"$p32/user.reg"
cp -p "$scratch/wine-builtin.dll" "$p32/drive_c/windows/system32/rstrtmgr.dll"
touch -d '2020-01-02 03:04:05' "$p32/drive_c/windows/system32/rstrtmgr.dll"
before32=$(content_id "$p32")
dll32_before=$(file_id "$p32/drive_c/windows/system32/rstrtmgr.dll")
mode32=()
if rm_host_runs_x86; then mode32=(env RM_WINE_INSTALL_REGISTRY=file); fi   # never start Wine in a fake prefix
"${mode32[@]}" "$install" --prefix "$p32" --dll64 "$scratch/no-such.dll" --dll32 "$dll64" >"$scratch/wi.out" 2>&1 </dev/null; wi_rc=$?
check "a 32-bit prefix refuses an x64 DLL" refused "is x64"
"${mode32[@]}" "$install" --prefix "$p32" --dll64 "$scratch/no-such.dll" --dll32 "$dll32" >"$scratch/wi.out" 2>&1 </dev/null; wi_rc=$?
sed 's/^/#   /' "$scratch/wi.out"
check "install into a 32-bit prefix (no x64 DLL needed)" [ "$wi_rc" = 0 ]
check "  system32 holds our x86 DLL" cmp -s "$p32/drive_c/windows/system32/rstrtmgr.dll" "$dll32"
check "  no syswow64 made" [ ! -e "$p32/drive_c/windows/syswow64" ]
check "  user.reg carries the override in its section" \
  awk '/^\[Software\\\\Wine\\\\DllOverrides\]/{s=1;next} /^\[/{s=0} s&&/^"rstrtmgr"="native,builtin"$/{f=1} END{exit !f}' "$p32/user.reg"
"${mode32[@]}" "$install" --prefix "$p32" --status >"$scratch/wi.out" 2>&1 </dev/null
sed 's/^/#   /' "$scratch/wi.out"
check "  --status: 32-bit programs get ours from system32" grep -q '^32-bit programs load: C:\\windows\\system32\\rstrtmgr.dll: ours' "$scratch/wi.out"
"${mode32[@]}" "$install" --prefix "$p32" --uninstall >"$scratch/wi.out" 2>&1 </dev/null; wi_rc=$?
check "uninstall from the 32-bit prefix" [ "$wi_rc" = 0 ]
check "  every file as it was, user.reg too" [ "$before32" = "$(content_id "$p32")" ]
check "  Wine's file with its timestamp" [ "$dll32_before" = "$(file_id "$p32/drive_c/windows/system32/rstrtmgr.dll")" ]

stop_wine
if [ "$fails" = 0 ]; then
  rm -rf "$scratch"   # about 700 MB
  echo "wine-install: all checks passed"
  exit 0
fi
echo "wine-install: $fails check(s) FAILED (scratch prefix kept in $scratch)"
exit 1
