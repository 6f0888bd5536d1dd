#!/usr/bin/env bash
# Install everything kemu needs on a fresh Debian 12 / Ubuntu 22.04+ machine, build it, and put `kemu`
# on PATH. Idempotent: a second run only checks. Run as root (sudo).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '==> %s\n' "$*"; }

if [[ $(id -u) -ne 0 ]]; then
	echo "setup.sh must run as root: sudo $0" >&2
	exit 1
fi

# Debian packages: the kernel tools kemu drives, the pod holder, the C toolchain for the pod server,
# and the clients the demo and tests use.
packages=(iproute2 iptables ipset conntrack nfacct catatonit bird2 nginx openssl util-linux procps curl iputils-ping iputils-arping socat iperf3 tcpdump wrk python3 build-essential ca-certificates)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	say "installing Debian packages: ${missing[*]}"
	apt-get update -qq
	# Packages with a service (nginx, bird2) must not start it in the host's namespace while installing.
	guard=""
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		guard=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod +x "$guard"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	if [[ -n $guard ]]; then rm -f "$guard"; fi
fi
# kemu runs BIRD and nginx inside lab namespaces only; the packages' own services would run in the host's.
for svc in bird nginx; do
	if command -v systemctl >/dev/null && systemctl is-enabled "$svc" >/dev/null 2>&1; then
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	fi
done
if command -v update-rc.d >/dev/null && [[ -e /etc/init.d/nginx ]] && ! command -v systemctl >/dev/null; then
	update-rc.d nginx disable >/dev/null 2>&1 || true
fi

# Node.js >= 20 (Debian 12 and Ubuntu 22.04/24.04 ship older ones; NodeSource carries 20).
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if (($(node_major) < 20)); then
	say "installing Node.js 20"
	candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ {print $2}' | cut -d. -f1 | sed 's/^[0-9]*://')
	if [[ "${candidate:-0}" =~ ^[0-9]+$ ]] && ((candidate >= 20)); then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
	else
		curl -fsSL https://deb.nodesource.com/setup_20.x | bash - >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
	fi
fi

# npm dependencies, only when the lock file changed since the last install.
stamp=node_modules/.kemu-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
	say "installing npm dependencies"
	npm ci --no-audit --no-fund --loglevel=error
	echo "$want" >"$stamp"
fi

say "building"
npm run --silent build
bash scripts/build-native.sh >/dev/null

ln -sfn "$root/bin/kemu.js" /usr/local/bin/kemu
say "kemu is ready: $(command -v kemu)"
