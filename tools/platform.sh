# platform.sh - sourced by the project's scripts (setup-deps, check, demo, bench,
# wine-prefix, wine-run): what this machine can run, and how to start a Windows
# program under Wine without ever going through a loader that cannot start.
#
# Why: some of the project's machines cannot execute 32-bit x86 code at all (the
# kernel has no IA-32 emulation: every i386 ELF, Wine's 32-bit loader
# /usr/lib/wine/wine and /lib/ld-linux.so.2 included, fails with "Exec format error").
# Debian's /usr/bin/wine wrapper always starts the 32-bit loader when wine32 is
# installed, so on such a machine even 64-bit programs fail through it. Here:
#   - 64-bit programs and Wine's own tools (wineboot, reg, cmd, winecfg) always run
#     through the 64-bit loader, /usr/lib/wine/wine64;
#   - 32-bit programs run through the 32-bit loader, only where the probe says the
#     machine can execute 32-bit code.
# Nothing here assumes which kind of machine this is: rm_host_runs_x86 finds out.

RM_WINE64=${RM_WINE64:-/usr/lib/wine/wine64}
RM_WINE32=${RM_WINE32:-/usr/lib/wine/wine}
RM_WINESERVER=${RM_WINESERVER:-wineserver}
RM_X86_NOT_RUN="this machine cannot execute 32-bit code"

# rm_host_runs_x86: succeeds when this machine executes 32-bit x86 programs at native
# speed. The probe is a 96-byte i386 ELF written here (no i386 package needed) whose
# only code is exit(42) through int 0x80; any other outcome (Exec format error, a
# crash, a kernel without the 32-bit system-call entry) means no. An emulator
# registered through binfmt_misc (qemu-user: about a minute per Wine process) is also
# a no: the probe must answer within 5 seconds. The answer is cached in the
# environment (RM_HOST_X86=yes|no) for child scripts; set it yourself to override.
rm_host_runs_x86() {
  if [ -z "${RM_HOST_X86:-}" ]; then
    local dir probe rc
    dir=$(mktemp -d "${RM_PROBE_DIR:-${TMPDIR:-/tmp}}/rm-probe.XXXXXX") || return 1
    probe="$dir/probe-i386"
    # ELF header (52 bytes), one PT_LOAD program header (32 bytes) mapping the file
    # at 0x08048000, then: mov ebx,42; mov eax,1 (exit); int 0x80.
    printf '%b' \
      '\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00' \
      '\x02\x00\x03\x00\x01\x00\x00\x00\x54\x80\x04\x08\x34\x00\x00\x00' \
      '\x00\x00\x00\x00\x00\x00\x00\x00\x34\x00\x20\x00\x01\x00\x00\x00' \
      '\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x80\x04\x08' \
      '\x00\x80\x04\x08\x60\x00\x00\x00\x60\x00\x00\x00\x05\x00\x00\x00' \
      '\x00\x10\x00\x00\xbb\x2a\x00\x00\x00\xb8\x01\x00\x00\x00\xcd\x80' >"$probe"
    chmod +x "$probe"
    timeout -k 1 5 "$probe" </dev/null >/dev/null 2>&1
    rc=$?
    rm -rf "$dir"
    if [ "$rc" = 42 ]; then RM_HOST_X86=yes; else RM_HOST_X86=no; fi
    export RM_HOST_X86
  fi
  [ "$RM_HOST_X86" = yes ]
}

# rm_pe_arch FILE: prints x64 or x86 for a PE image (its COFF machine field), or
# nothing for anything else (a missing file, a Wine built-in name such as "cmd").
rm_pe_arch() {
  local f=$1 off machine
  [ -f "$f" ] || return 0
  [ "$(head -c 2 "$f" 2>/dev/null)" = MZ ] || return 0
  off=$(od -An -tu4 -j60 -N4 "$f" 2>/dev/null | tr -d ' ')
  [ -n "$off" ] || return 0
  [ "$(od -An -c -j"$off" -N4 "$f" 2>/dev/null | tr -d ' ')" = 'PE\0\0' ] || return 0
  machine=$(od -An -tx2 -j$((off + 4)) -N2 "$f" 2>/dev/null | tr -d ' ')
  case $machine in
    8664) echo x64 ;;
    014c) echo x86 ;;
  esac
}

# rm_wine PROGRAM [ARGS...]: runs PROGRAM under Wine with the loader that can start
# it (see the top of this file). PROGRAM may be a Unix path to an .exe or a program
# Wine finds itself (cmd, reg, wineboot, winecfg). A 32-bit program on a machine that
# cannot run 32-bit code is not started: it says why and returns 126.
rm_wine() {
  local arch
  arch=$(rm_pe_arch "$1")
  if [ "$arch" = x86 ]; then
    if ! rm_host_runs_x86; then
      echo "rm_wine: $1 is a 32-bit program and $RM_X86_NOT_RUN" >&2
      return 126
    fi
    if [ ! -x "$RM_WINE32" ]; then
      echo "rm_wine: $1 is a 32-bit program and 32-bit Wine ($RM_WINE32) is not installed" >&2
      return 126
    fi
    env -u WINELOADER "$RM_WINE32" "$@"
  else
    # WINELOADER lets Wine start further processes (children of this one) with the
    # right loader: the 64-bit one as named, the 32-bit one as its name without "64".
    WINELOADER="$RM_WINE64" "$RM_WINE64" "$@"
  fi
}
