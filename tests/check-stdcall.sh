#!/usr/bin/env bash
# Host-side ABI check of an x86 DLL, without running it: every exported function
# must clean its own arguments off the stack exactly as the .def's @N decoration
# (the __stdcall argument size) says. A caller compiled against the header pushes N
# bytes and expects the callee to pop them; a cdecl export (plain `ret`) or a wrong
# size corrupts the caller's stack only on 32-bit Windows, which some machines of the
# project cannot run.
#
# How: for each name in the .def, find its entry point in the DLL's export table
# (never by symbol name: the table is what callers use), disassemble the DLL, and
# follow the function's control flow from that entry: straight-line code,
# conditional jumps (both ways) and direct jumps (also into .cold parts and sibling
# calls, whose own return pops the caller's arguments). Every `ret` reached must be
# `ret $N` (plain `ret` when N is 0); an indirect jump or no return at all fails too,
# since nothing could be proved.
#
# Usage: check-stdcall.sh DLL DEF [TOOLCHAIN_PREFIX]   (default i686-w64-mingw32)
# Exit status 0 when every export matches, 1 otherwise (each mismatch is printed).
set -euo pipefail
dll=$1 def=$2 tp=${3:-i686-w64-mingw32}
objdump="$tp-objdump"

headers=$("$objdump" -p "$dll")
base=$(awk '$1 == "ImageBase" { print $2; exit }' <<<"$headers")
[ -n "$base" ] || { echo "FAIL: no ImageBase in $dll"; exit 1; }

# name -> entry RVA, from the export address table and the name table (the table
# lists ordinals as 0-based indexes into the address table).
declare -A rva_of_index entry
while read -r idx rva; do rva_of_index[$idx]=$rva; done < <(
  sed -n '/^Export Address Table -- Ordinal Base/,/^$/p' <<<"$headers" |
    sed -n 's/^\s*\[\s*\([0-9]*\)\].* \([0-9a-f]*\) Export RVA$/\1 \2/p')
while read -r idx name; do
  [ -n "${rva_of_index[$idx]:-}" ] && entry[$name]=$(printf '%x' $((0x$base + 0x${rva_of_index[$idx]})))
done < <(sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/p' <<<"$headers" |
           sed -n 's/^\s*\[\s*\([0-9]*\)\] \(.*\)$/\1 \2/p')

disasm=$(mktemp)
trap 'rm -f "$disasm"' EXIT
"$objdump" -d --no-show-raw-insn "$dll" >"$disasm"

# follow ENTRY: prints one line per finding: "ret N" (decimal), "indirect ADDR INSN",
# "lost ADDR" (a jump target that is not an instruction).
follow() {
  awk -v start="$1" '
    function hex(s,   i, c, v) { v = 0; s = tolower(s)
      for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
      return v }
    /^ *[0-9a-f]+:\t/ {
      a = $1; sub(/:$/, "", a); sub(/^0+/, "", a)
      line = $0; sub(/^ *[0-9a-f]+:\t/, "", line)
      insn[a] = line
      if (prev != "") next_of[prev] = a
      prev = a; next
    }
    { prev = "" }   # a label or a section break: no fall-through across it
    END {
      sub(/^0+/, "", start)
      todo[++n] = start
      while (n > 0) {
        a = todo[n--]
        while (a != "" && !(a in seen)) {
          seen[a] = 1
          if (!(a in insn)) { print "lost " a; break }
          split(insn[a], f, /[ \t]+/); op = f[1]
          if (op ~ /^ret/) {
            print "ret " (f[2] ~ /^\$0x/ ? hex(substr(f[2], 4)) : 0); break
          }
          if (op ~ /^(ud2|int3|hlt)$/) break
          if (op ~ /^j/ || op ~ /^loop/) {
            if (f[2] ~ /^\*/) { print "indirect " a " " insn[a]; break }
            t = f[2]; sub(/^0+/, "", t)
            todo[++n] = t
            if (op == "jmp") break
          }
          a = (a in next_of) ? next_of[a] : ""
        }
      }
    }' "$disasm"
}

fail=0
checked=0
while read -r decorated; do
  name=${decorated%@*}
  want=${decorated##*@}
  [ "$name" != "$decorated" ] || { echo "FAIL: $decorated has no @N in $def"; fail=1; continue; }
  if [ -z "${entry[$name]:-}" ]; then echo "FAIL: $name is not exported by $dll"; fail=1; continue; fi
  findings=$(follow "${entry[$name]}")
  bad=$(awk -v want="$want" '$1 != "ret" || $2 != want' <<<"$findings")
  rets=$(grep -c '^ret ' <<<"$findings" || true)
  if [ -n "$bad" ] || [ "$rets" = 0 ]; then
    echo "FAIL: $name should pop $want bytes (ret \$$want):"
    [ "$rets" = 0 ] && echo "      no return instruction reached from 0x${entry[$name]}"
    # shellcheck disable=SC2001
    [ -n "$bad" ] && sed 's/^/      found: /' <<<"$bad"
    fail=1
  else
    echo "ok: $name pops $want bytes ($rets return(s), all ret \$$want)"
  fi
  checked=$((checked + 1))
done < <(sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*@[0-9]*\).*/\1/p' "$def")
[ "$checked" -gt 0 ] || { echo "FAIL: no decorated export in $def"; fail=1; }
exit $fail
