#!/usr/bin/env bash
# Self-test of native/build/kemu-ipip (the userspace tunl0) in throwaway namespaces:
#
#   kn-ipip-pa (pod 10.244.1.5) -- kn-ipip-a (node 10.200.0.1, tunl0) == underlay veth ==
#   kn-ipip-b (node 10.200.0.2, tunl0) -- kn-ipip-pb (pod 10.244.2.7)
#
# Pods are wired Calico-style (/32 address, default via 169.254.1.1, proxy_arp on the host
# side); cross-node routes are "via <node> dev tunl0 onlink" as BIRD programs them.
# Needs root, iproute2, ping, curl, python3 (installs iperf3/tcpdump with apt-get if missing). Builds nothing
# (run scripts/build-native.sh or the gcc line first). Exit 0 only if every check passed.
# Env: IPERF_SECONDS (default 5), KEMU_IPIP_ARGS (extra flags, e.g. --no-offload).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/native/build/kemu-ipip"
secs="${IPERF_SECONDS:-5}"
A=kn-ipip-a B=kn-ipip-b PA=kn-ipip-pa PB=kn-ipip-pb
tmp="$(mktemp -d /tmp/kn-ipip.XXXXXX)"
pass=0 fail=0 summary=()

cleanup() {
	local ns pid
	for ns in $PA $PB $A $B; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	done
	sleep 0.2
	for ns in $PA $PB $A $B; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); summary+=("PASS  $1"); echo "PASS  $1"; }
bad() { fail=$((fail + 1)); summary+=("FAIL  $1"); echo "FAIL  $1" >&2; }
die() { echo "ipip-selftest: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root"
[[ -x "$bin" ]] || die "$bin missing: build it first (scripts/build-native.sh)"
if ! command -v iperf3 >/dev/null || ! command -v tcpdump >/dev/null; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 tcpdump >/dev/null ||
		die "iperf3/tcpdump missing and apt-get install failed"
fi
for t in ip ping curl python3 tcpdump iperf3; do command -v "$t" >/dev/null || die "$t missing"; done
cleanup   # leftovers from an interrupted run
mkdir -p "$tmp"

set -e
for ns in $A $B $PA $PB; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add ula netns $A type veth peer name ulb netns $B
# node <ns> <underlay dev> <node ip> <other node ip> <pod ns> <pod ip>
node() {
	local ns=$1 ul=$2 nip=$3 gw=$4 pns=$5 pip=$6
	ip -n "$ns" addr add "$nip/24" dev "$ul"
	ip -n "$ns" link set "$ul" up mtu 1500
	ip -n "$ns" route add default via "$gw" dev "$ul"   # proxy ARP of 169.254.1.1 needs a route (Calico §7.1)
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ip -n "$ns" link add cali0 type veth peer name eth0 netns "$pns"
	ip -n "$ns" link set cali0 address ee:ee:ee:ee:ee:ee up mtu 1480
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.cali0.proxy_arp=1 net.ipv4.neigh.cali0.proxy_delay=0 net.ipv4.conf.cali0.rp_filter=0
	ip -n "$ns" route add "$pip/32" dev cali0 scope link
	ip -n "$pns" link set eth0 up mtu 1480
	ip -n "$pns" addr add "$pip/32" dev eth0
	ip -n "$pns" route add 169.254.1.1 dev eth0 scope link
	ip -n "$pns" route add default via 169.254.1.1 dev eth0
}
node $A ula 10.200.0.1 10.200.0.2 $PA 10.244.1.5
node $B ulb 10.200.0.2 10.200.0.1 $PB 10.244.2.7
set +e

# start_tunnel <ns> <node ip>: start kemu-ipip, wait for its "ready" line; sets $tpid
start_tunnel() {
	local out="$tmp/ready.$1"
	rm -f "$out"   # a restart must not see the old "ready"
	ip netns exec "$1" "$bin" --dev tunl0 --local "$2" --mtu 1480 ${KEMU_IPIP_ARGS:-} >"$out" 2>"$tmp/err.$1" &
	tpid=$!
	for _ in $(seq 50); do
		grep -qx ready "$out" 2>/dev/null && return 0
		kill -0 $tpid 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/err.$1" >&2
	die "kemu-ipip in $1 did not print ready"
}
start_tunnel $A 10.200.0.1; pid_a=$tpid
start_tunnel $B 10.200.0.2; pid_b=$tpid
set -e
ip -n $A addr add 10.244.1.0/32 dev tunl0
ip -n $B addr add 10.244.2.0/32 dev tunl0
ip -n $A route add 10.244.2.0/24 via 10.200.0.2 dev tunl0 onlink
ip -n $B route add 10.244.1.0/24 via 10.200.0.1 dev tunl0 onlink
set +e
ip -n $A -d link show tunl0 | grep -q 'mtu 1480.*UP\|UP.*mtu 1480' && ok "tunl0 is up with mtu 1480" || bad "tunl0 not up / wrong mtu: $(ip -n $A -br link show tunl0)"

# (1) pod -> pod ping, plus node -> remote pod (source = tunl0 address)
r=$(ip netns exec $PA ping -c 5 -i 0.2 -W 2 10.244.2.7 | grep -o '[0-9]* received')
[[ $r == "5 received" ]] && ok "ping pod->pod 5/5" || bad "ping pod->pod: ${r:-0 received}/5"
r=$(ip netns exec $A ping -c 2 -i 0.2 -W 2 10.244.2.7 | grep -o '[0-9]* received')
[[ $r == "2 received" ]] && ok "ping node A->pod B (src tunl0 addr)" || bad "ping node A->pod B: ${r:-0 received}/2"

# (2) MTU: a 1400-byte payload fits the inner MTU 1480; 3000 bytes is fragmented by the pod
for size in 1400 3000; do
	ip netns exec $PA ping -c 2 -i 0.2 -W 2 -s $size 10.244.2.7 >/dev/null && ok "ping -s $size pod->pod" || bad "ping -s $size pod->pod"
done
r=$(ip netns exec $PA ping -c 1 -W 2 -M do -s 1472 10.244.2.7 2>&1)
grep -q 'mtu = 1480\|message too long' <<<"$r" && ok "ping -M do -s 1472: refused, mtu 1480" || bad "ping -M do -s 1472 not refused: $r"

# (2b) TCP: fetch a 1 MB file from python3 -m http.server in pod B (cwd=/ to dodge gotcha G8)
mkdir "$tmp/www"
head -c 1048576 /dev/urandom >"$tmp/www/blob.bin"
(cd / && exec ip netns exec $PB python3 -m http.server 8080 --bind 10.244.2.7 --directory "$tmp/www" >/dev/null 2>&1) &
for _ in $(seq 50); do ip netns exec $PB ss -Hltn 'sport = :8080' | grep -q . && break; sleep 0.1; done
ip netns exec $PA curl -sf --max-time 20 -o "$tmp/got.bin" http://10.244.2.7:8080/blob.bin
if cmp -s "$tmp/www/blob.bin" "$tmp/got.bin"; then ok "TCP: 1 MB over HTTP, content identical"; else bad "TCP: 1 MB over HTTP"; fi

# (3) on the wire: real IPIP between the node addresses, outer TTL/DF inherited from the inner packet
ip netns exec $B timeout 5 tcpdump -nni ulb -c 4 'ip proto 4' >"$tmp/dump" 2>"$tmp/dump.err" &
dpid=$!
ip netns exec $B timeout 5 tcpdump -vnni ulb -c 1 'ip proto 4 and src 10.200.0.1' >"$tmp/dumpv" 2>"$tmp/dumpv.err" &
vpid=$!
for _ in $(seq 30); do grep -q listening "$tmp/dump.err" && grep -q listening "$tmp/dumpv.err" && break; sleep 0.1; done
ip netns exec $PA ping -c 3 -i 0.2 -W 1 10.244.2.7 >/dev/null
wait $dpid $vpid
cat "$tmp/dump"
if grep -q 'IP 10.200.0.1 > 10.200.0.2: IP 10.244.1.5 > 10.244.2.7: ICMP echo request' "$tmp/dump" &&
   grep -q 'IP 10.200.0.2 > 10.200.0.1: IP 10.244.2.7 > 10.244.1.5: ICMP echo reply' "$tmp/dump"; then
	ok "tcpdump: IP 10.200.0.1 > 10.200.0.2: IP 10.244.1.5 > 10.244.2.7 (proto 4, both ways)"
else bad "tcpdump did not show the expected IPIP lines"; fi
tr -s ' \n' ' ' <"$tmp/dumpv"; echo
if grep -q 'ttl 63,.*flags \[DF\], proto IPIP (4)' "$tmp/dumpv"; then ok "outer header: proto IPIP, ttl 63 (inherited), DF"
else bad "outer header not as kernel tunl0 would build it"; fi

# (4) iperf3, one TCP stream pod A -> pod B
cpu() { awk '{print $14 + $15}' /proc/$1/stat; }
ip netns exec $PB iperf3 -s -1 -B 10.244.2.7 >/dev/null 2>&1 &
for _ in $(seq 50); do ip netns exec $PB ss -Hltn 'sport = :5201' | grep -q . && break; sleep 0.1; done
ca=$(cpu $pid_a) cb=$(cpu $pid_b)
(cd / && ip netns exec $PA iperf3 -c 10.244.2.7 -t "$secs" -J >"$tmp/iperf.json" 2>&1)
ca=$(( $(cpu $pid_a) - ca )) cb=$(( $(cpu $pid_b) - cb ))
read -r gbps retr < <(cd / && python3 -c 'import json,sys
e=json.load(open(sys.argv[1]))["end"]; print("%.2f %d" % (e["sum_received"]["bits_per_second"]/1e9, e["sum_sent"].get("retransmits",0)))' "$tmp/iperf.json" 2>/dev/null)
if [[ -n ${gbps:-} ]]; then
	hz=$(getconf CLK_TCK)
	ok "iperf3 1 stream ${secs}s: $gbps Gbit/s, $retr retransmits, tunnel CPU A $((ca * 100 / hz / secs))% B $((cb * 100 / hz / secs))%"
else bad "iperf3 failed: $(head -c 300 "$tmp/iperf.json")"; fi

# (5) memory
for p in $pid_a $pid_b; do
	if kill -0 $p 2>/dev/null; then
		ok "kemu-ipip pid $p alive: $(grep -h 'VmRSS\|VmHWM' /proc/$p/status | tr -s ' \t\n' ' ')"
	else bad "kemu-ipip pid $p died: $(cat "$tmp"/err.*)"; fi
done

# (6) a route change takes effect at once (RTM_NEWROUTE drops the cached next hop, TTL is 1 s)
ip -n $B addr add 10.200.0.22/24 dev ulb
ip netns exec $B timeout 5 tcpdump -nni ulb -c 2 'ip proto 4 and src 10.200.0.1' >"$tmp/dumpr" 2>"$tmp/dumpr.err" &
dpid=$!
for _ in $(seq 30); do grep -q listening "$tmp/dumpr.err" && break; sleep 0.1; done
ip netns exec $PA ping -c 1 -W 1 10.244.2.7 >/dev/null   # caches gw 10.200.0.2
ip -n $A route replace 10.244.2.0/24 via 10.200.0.22 dev tunl0 onlink
r=$(ip netns exec $PA ping -c 1 -W 1 10.244.2.7 | grep -o '[0-9]* received')
wait $dpid
if [[ $r == "1 received" ]] && grep -q '> 10.200.0.2: ' <(head -1 "$tmp/dumpr") && grep -q '> 10.200.0.22: ' <(sed -n 2p "$tmp/dumpr"); then
	ok "route change: next packet goes to the new gateway 10.200.0.22"
else bad "route change not picked up: $(tr '\n' ' ' <"$tmp/dumpr")"; fi
ip -n $A route replace 10.244.2.0/24 via 10.200.0.2 dev tunl0 onlink

# (7) gotcha G3: while B's tunnel is down, B answers A's IPIP with ICMP protocol-unreachable;
#     A must survive that and carry traffic again once B's tunnel is back
kill -TERM $pid_b; wait $pid_b
ip netns exec $PA ping -c 3 -i 0.2 -W 1 10.244.2.7 >/dev/null && bad "ping worked with B's tunnel down?"
start_tunnel $B 10.200.0.2; pid_b=$tpid
ip -n $B addr add 10.244.2.0/32 dev tunl0 && ip -n $B route add 10.244.1.0/24 via 10.200.0.1 dev tunl0 onlink
r=$(ip netns exec $PA ping -c 3 -i 0.2 -W 2 10.244.2.7 | grep -o '[0-9]* received')
[[ $r == "3 received" ]] && kill -0 $pid_a && ok "survives ICMP protocol-unreachable while the peer is down (G3)" || bad "after peer restart: ${r:-0 received}/3"

# (8) SIGTERM exits 0 promptly
kill -TERM $pid_a
for _ in $(seq 20); do kill -0 $pid_a 2>/dev/null || break; sleep 0.05; done
if ! kill -0 $pid_a 2>/dev/null; then wait $pid_a; rc=$?; [[ $rc -eq 0 ]] && ok "SIGTERM: exit 0 within 1 s" || bad "SIGTERM: exit code $rc"
else bad "SIGTERM: still running after 1 s"; fi

echo "---- summary: $pass passed, $fail failed"
printf '%s\n' "${summary[@]}"
[[ $fail -eq 0 && $pass -gt 0 ]]
