#!/usr/bin/env bash
# Build native/kemu-netexec (static) if the source is newer than the binary.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/native/kemu-netexec.c"
out="$root/native/build/kemu-netexec"

if [[ -x "$out" && ! "$src" -nt "$out" ]]; then
	echo "kemu-netexec: up to date"
	exit 0
fi

mkdir -p "$(dirname "$out")"
# Build to a temp file and rename, so a failed or interrupted build never
# leaves a truncated binary that looks up to date.
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
${CC:-gcc} -O2 -static -Wall -Wextra -o "$tmp" "$src"
mv -f "$tmp" "$out"
echo "kemu-netexec: built $out"
