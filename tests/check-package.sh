#!/usr/bin/env bash
# Test of the installed package and the release archive of one architecture:
#   1. `cmake --install` into a staging folder: exactly the expected files (no test,
#      no helper);
#   2. the tree is moved elsewhere (relocatable: nothing may point back);
#   3. tests/consumer is configured with find_package(rstrtmgr CONFIG) against the
#      moved tree and built; separately main.c is compiled with the mingw compiler
#      and `PKG_CONFIG_LIBDIR=<tree>/lib/pkgconfig pkg-config --cflags --libs rstrtmgr`;
#   4. (RUN=yes) both programs run under Wine (tools/wine-run) against the installed
#      DLL copied beside them: a session, and proof that it is our DLL;
#   5. cpack makes rstrtmgr-<version>-<win64|win32>.zip, whose file list is the
#      same layout under one top folder.
#
#   check-package.sh SOURCE_DIR BUILD_DIR TOOLCHAIN_FILE CC ARCH VERSION RUN
set -uo pipefail
src=$1 build=$2 toolchain=$3 cc=$4 arch=$5 version=$6 run=$7
work="$build/package-test"
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
show() { sed 's/^/#   /' "$1"; }

if [ "$arch" = x64 ]; then sysname=win64; else sysname=win32; fi
expected="bin/rmtool.exe
bin/rstrtmgr.dll
include/restartmanager.h
lib/cmake/rstrtmgr/rstrtmgr-config-version.cmake
lib/cmake/rstrtmgr/rstrtmgr-config.cmake
lib/librstrtmgr.a
lib/pkgconfig/rstrtmgr.pc
lib/rstrtmgr.def
share/doc/rstrtmgr/LICENSE
share/doc/rstrtmgr/README.md
share/doc/rstrtmgr/rmtool.md"

rm -rf "$work"
mkdir -p "$work"

# ---- 1. cmake --install -----------------------------------------------------------------
if cmake --install "$build" --prefix "$work/staging" >"$work/install.log" 2>&1; then
  ok "cmake --install"
else
  show "$work/install.log"; bad "cmake --install"; exit 1
fi
actual=$(cd "$work/staging" && find . -type f -o -type l | sed 's|^\./||' | LC_ALL=C sort)
if [ "$actual" = "$expected" ]; then ok "installed files are exactly the expected layout"
else bad "installed files differ from the layout:"; diff <(echo "$expected") <(echo "$actual") | sed 's/^/#   /'
fi
check "the installed DLL is the built one" cmp -s "$work/staging/bin/rstrtmgr.dll" "$build/rstrtmgr.dll"
check "the installed import library is ours (dlltool's, from the .def)" cmp -s "$work/staging/lib/librstrtmgr.a" "$build/librstrtmgr.a"

# ---- 2. moved elsewhere -------------------------------------------------------------------
mv "$work/staging" "$work/moved"
tree="$work/moved"
check "no installed text file names the staging folder" \
  bash -c "! grep -rIl -- '$work/staging' '$tree'"

# ---- 3a. CMake find_package ---------------------------------------------------------------
if cmake -S "$src/tests/consumer" -B "$work/consumer-cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
     -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_PREFIX_PATH="$tree" >"$work/consumer-cmake.log" 2>&1 &&
   cmake --build "$work/consumer-cmake" >>"$work/consumer-cmake.log" 2>&1; then
  ok "the consumer builds with find_package(rstrtmgr CONFIG) from the moved tree"
else
  show "$work/consumer-cmake.log"; bad "the consumer does not build with find_package"
fi
check "  it found the package in the moved tree" \
  grep -q "rstrtmgr_DIR:PATH=$tree/lib/cmake/rstrtmgr" "$work/consumer-cmake/CMakeCache.txt"
check "  and copied the installed DLL beside it" cmp -s "$work/consumer-cmake/rstrtmgr.dll" "$tree/bin/rstrtmgr.dll"

# The package refuses a project of the other architecture (its version file checks
# the pointer size).
if [ "$arch" = x64 ]; then other=i686-w64-mingw32; else other=x86_64-w64-mingw32; fi
cat >"$work/other-toolchain.cmake" <<EOF
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_C_COMPILER $other-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/$other)
EOF
if command -v "$other-gcc" >/dev/null; then
  if cmake -S "$src/tests/consumer" -B "$work/consumer-other" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$work/other-toolchain.cmake" \
       -DCMAKE_PREFIX_PATH="$tree" >"$work/consumer-other.log" 2>&1; then
    bad "a project of the other architecture accepted this package"
  else
    check "a project of the other architecture does not take this package" grep -q "considered but not accepted" "$work/consumer-other.log"
  fi
fi

# ---- 3b. pkg-config ---------------------------------------------------------------------------
mkdir -p "$work/consumer-pc"
if flags=$(PKG_CONFIG_LIBDIR="$tree/lib/pkgconfig" pkg-config --cflags --libs rstrtmgr 2>"$work/pc.err"); then
  ok "pkg-config --cflags --libs rstrtmgr: $flags"
else
  show "$work/pc.err"; bad "pkg-config does not find rstrtmgr"
fi
check "  version $version" [ "$(PKG_CONFIG_LIBDIR="$tree/lib/pkgconfig" pkg-config --modversion rstrtmgr)" = "$version" ]
# shellcheck disable=SC2086 # the flags are words
if "$cc" -O2 -Wall -Werror -o "$work/consumer-pc/rmconsumer.exe" "$src/tests/consumer/main.c" $flags -lversion \
     >"$work/consumer-pc.log" 2>&1; then
  ok "the consumer builds with pkg-config's flags"
else
  show "$work/consumer-pc.log"; bad "the consumer does not build with pkg-config's flags"
fi
cp "$tree/bin/rstrtmgr.dll" "$work/consumer-pc/"
imports=$("${cc%-gcc}-objdump" -p "$work/consumer-pc/rmconsumer.exe" 2>/dev/null | sed -n 's/^[[:space:]]*DLL Name: //p' | tr 'A-Z' 'a-z')
check "  it imports rstrtmgr.dll" grep -qx rstrtmgr.dll <<<"$imports"

# ---- 4. run under Wine ---------------------------------------------------------------------------
if [ "$run" = yes ]; then
  for exe in "$work/consumer-cmake/rmconsumer.exe" "$work/consumer-pc/rmconsumer.exe"; do
    "$src/tools/wine-run" "$exe" >"$work/run.log" 2>&1
    rc=$?
    show "$work/run.log"
    check "$(basename "$(dirname "$exe")") runs against the installed DLL, ours" \
      bash -c "[ $rc = 0 ] && grep -q '^rmconsumer: ours $version ' '$work/run.log'"
  done
else
  echo "# the consumers are built, not run (RUN=$run: this lane runs no Wine program here)"
fi

# ---- 5. cpack ---------------------------------------------------------------------------------------
zip="$work/cpack/rstrtmgr-$version-$sysname.zip"
if (cd "$build" && cpack -G ZIP -B "$work/cpack") >"$work/cpack.log" 2>&1 && [ -f "$zip" ]; then
  ok "cpack made $(basename "$zip")"
else
  show "$work/cpack.log"; bad "cpack did not make rstrtmgr-$version-$sysname.zip"
fi
if [ -f "$zip" ]; then
  top="rstrtmgr-$version-$sysname"
  listed=$(cmake -E tar tf "$zip" | grep -v '/$' | LC_ALL=C sort)
  want=$(sed "s|^|$top/|" <<<"$expected")
  if [ "$listed" = "$want" ]; then ok "the zip holds exactly the layout, under $top/"
  else bad "the zip's file list differs:"; diff <(echo "$want") <(echo "$listed") | sed 's/^/#   /'
  fi
  mkdir -p "$work/unzipped"
  (cd "$work/unzipped" && cmake -E tar xf "$zip")
  check "  its DLL is the built one" cmp -s "$work/unzipped/$top/bin/rstrtmgr.dll" "$build/rstrtmgr.dll"
fi

if [ "$fails" = 0 ]; then echo "package: all checks passed"; exit 0; fi
echo "package: $fails check(s) FAILED (see $work)"
exit 1
