#!/usr/bin/env bash
# Set everything up, bring up topologies/quickstart.yaml and show real answers from its pods.
# The lab keeps running afterwards; the last lines say how to look around and how to remove it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"

kemu up topologies/quickstart.yaml
echo
kemu get pods -o wide --lab quickstart
echo

client_ip=$(kemu get pods -o json --lab quickstart | node -e '
  const l = JSON.parse(require("fs").readFileSync(0, "utf8"));
  console.log(l.items.find((p) => p.metadata.name === "client").status.podIP)')
kemu get pods -o json --lab quickstart | node -e '
  const l = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const p of l.items) if (p.metadata.name !== "client") console.log(p.metadata.name, p.status.podIP, p.spec.nodeName)' |
	while read -r name ip node; do
		host=$(kemu exec --lab quickstart client -- curl -sS -m 5 "http://$ip:8080/hostname")
		seen=$(kemu exec --lab quickstart client -- curl -sS -m 5 "http://$ip:8080/clientip")
		printf 'client (%s) → %-24s on %s: /hostname = %s, /clientip = %s\n' "$client_ip" "$ip:8080" "$node" "$host" "$seen"
	done

cat <<'MSG'

The lab is still running. Look around:
  sudo kemu get nodes -o wide --lab quickstart
  sudo kemu exec client -- ip route                  # a pod: /32 on eth0, default via 169.254.1.1
  sudo kemu exec node/node-1 -- ip route             # a node: cali… routes, blackhole for its block
  sudo ip netns list | grep kemu-quickstart          # every namespace, usable with ip netns exec
Drive it like a cluster:
  sudo kemu scale deployment web --replicas 5        # the scheduler spreads them; kemu get pods -o wide
  sudo kemu delete pod <a web pod>                   # its ReplicaSet replaces it
  sudo kemu describe deployment web
Tear it down:
  sudo kemu down quickstart
MSG
