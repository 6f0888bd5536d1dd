#!/usr/bin/env bash
# Build kemu's small static helpers in native/ when their source is newer than the binary:
#   kemu-netexec  the default pod server (agnhost netexec endpoints)
#   kemu-sandbox  sets up a pod sandbox, then execs its holder (catatonit -P)
#   kemu-ipip     userspace IPIP datapath (tunl0 on TUN + raw IPPROTO_IPIP) for kernels without ipip
#   kemu-watchdog waits for the supervisor to exit, then execs a new one in place
#   kemu-pidwatch holds pidfds and link-event sockets for the supervisor, one line per event
#   kemu-spawner  starts short host commands for the CLI and the supervisor (cheaper than a Node fork)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$root/native/build"
for name in kemu-netexec kemu-sandbox kemu-ipip kemu-watchdog kemu-pidwatch kemu-spawner; do
	src="$root/native/$name.c"
	out="$root/native/build/$name"
	if [[ -x "$out" && ! "$src" -nt "$out" ]]; then
		echo "$name: up to date"
		continue
	fi
	# Build to a temp file and rename, so a failed or interrupted build never
	# leaves a truncated binary that looks up to date.
	tmp="$out.tmp.$$"
	trap 'rm -f "$tmp"' EXIT
	${CC:-gcc} -O2 -static -Wall -Wextra -o "$tmp" "$src"
	mv -f "$tmp" "$out"
	echo "$name: built $out"
done
