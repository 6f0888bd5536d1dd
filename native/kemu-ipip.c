/*
 * kemu-ipip: userspace stand-in for the kernel's tunl0 (IPIP, "any/any" NBMA mode) on
 * kernels without the ipip module. One process per node network namespace:
 *   TUN tunl0 -> inner IPv4 packet -> raw IPPROTO_IPIP socket (+ outer header) -> underlay
 *   underlay -> raw socket (whole outer packet) -> strip outer header -> TUN tunl0
 * The outer destination is the gateway of the route that sent the packet into tunl0
 * ("10.244.2.0/26 via 192.168.50.12 dev tunl0 onlink"); the TUN loses it, see nexthop().
 * Speed: the TUN has TSO4/CSUM offload (IFF_VNET_HDR), so the kernel hands over 64 KB TCP
 * super-packets, cut here into MSS-sized segments (software GSO) and sent with one
 * sendmmsg; received in-order segments are merged back (software GRO) and written with
 * one writev. On the wire every packet is an ordinary <= MTU IPIP packet.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define VNET      sizeof(struct virtio_net_hdr)   /* 10 bytes in front of every TUN packet */
#define MAXPKT    65535
#define ARENA     (512 * 1024)   /* TUN reads pending in one sendmmsg */
#define MAXMSG    512            /* outer packets per sendmmsg */
#define MAXHDR    120            /* inner IP + TCP header of one segment */
#define RBATCH    64             /* packets per recvmmsg, 64 KB slot each */
#define NH_SLOTS  1024
#define NH_TTL_MS 1000

static int tun, raw, nlq, nln, tun_ifindex, offload = 1;
static uint32_t local_ip, now_ms, gen = 1, nlseq;
static uint16_t ip_id;

static void die(const char *what) { fprintf(stderr, "kemu-ipip: %s: %s\n", what, strerror(errno)); exit(1); }
static void on_signal(int sig) { (void)sig; _exit(0); }

/* ---- Internet checksum (little-endian host) ---- */
static uint64_t csum_add(uint64_t s, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t w[8];
	for (; n >= 32; b += 32, n -= 32) {   /* written so that gcc vectorizes it: 3x faster */
		memcpy(w, b, 32);
		for (int i = 0; i < 8; i++) s += w[i];
	}
	for (; n >= 4; b += 4, n -= 4) memcpy(w, b, 4), s += w[0];
	if (n >= 2) { uint16_t h; memcpy(&h, b, 2); s += h; b += 2; n -= 2; }
	return n ? s + *b : s;   /* odd last byte: high half of a network-order word */
}

static uint16_t fold(uint64_t s)
{
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint64_t pseudo(const struct iphdr *ip, size_t l4len)
{
	return (uint64_t)ip->saddr + ip->daddr + htons(ip->protocol) + htons((uint16_t)l4len);
}

static void ip_csum(struct iphdr *ip) { ip->check = 0; ip->check = ~fold(csum_add(0, ip, ip->ihl * 4)); }

/* ---- next hop: RTM_GETROUTE for the inner destination, cached per destination ----
 * Entries live NH_TTL_MS and are all dropped (generation bump) on any route or rule
 * notification, so a BIRD update takes effect at once. The TTL still matters: the kernel
 * drops routes silently when a link goes down. Negative answers are cached too, so
 * traffic without a route costs one netlink query per destination per second. */
static struct { uint32_t dst, gw, exp, gen; } nh[NH_SLOTS];

static uint32_t rt_lookup(uint32_t dst)
{
	struct { struct nlmsghdr n; struct rtmsg r; struct rtattr a; uint32_t dst; } req = {
		.n = { sizeof req, RTM_GETROUTE, NLM_F_REQUEST, ++nlseq, 0 },
		.r = { .rtm_family = AF_INET, .rtm_dst_len = 32 },
		.a = { RTA_LENGTH(4), RTA_DST }, .dst = dst };
	char buf[4096] __attribute__((aligned(4)));
	ssize_t len;
	if (send(nlq, &req, sizeof req, 0) < 0) return 0;
	while ((len = recv(nlq, buf, sizeof buf, MSG_DONTWAIT)) > 0) {   /* answered inside send() */
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != nlseq) continue;
			if (h->nlmsg_type != RTM_NEWROUTE) return 0;   /* NLMSG_ERROR: no route */
			struct rtmsg *r = NLMSG_DATA(h);
			int alen = RTM_PAYLOAD(h), oif = 0;
			uint32_t gw = dst;   /* no gateway: kernel NBMA ipip sends to the inner destination */
			for (struct rtattr *a = RTM_RTA(r); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				if (a->rta_type == RTA_OIF) memcpy(&oif, RTA_DATA(a), 4);
				if (a->rta_type == RTA_GATEWAY) memcpy(&gw, RTA_DATA(a), 4);
			}
			return r->rtm_type == RTN_UNICAST && oif == tun_ifindex ? gw : 0;
		}
	}
	return 0;
}

static uint32_t nexthop(uint32_t dst)
{
	unsigned i = (dst * 2654435761u) >> 22;   /* 10-bit hash: NH_SLOTS */
	if (nh[i].dst != dst || nh[i].gen != gen || (int32_t)(nh[i].exp - now_ms) <= 0) {
		nh[i].dst = dst, nh[i].gen = gen, nh[i].exp = now_ms + NH_TTL_MS;
		nh[i].gw = rt_lookup(dst);
	}
	return nh[i].gw;
}

/* ---- TUN -> underlay ---- */
static uint8_t *arena, hbuf[MAXMSG][20 + MAXHDR];
static struct iovec tiov[MAXMSG][2];
static struct sockaddr_in tdst[MAXMSG];
static struct mmsghdr tmsg[MAXMSG];
static int nmsg;

static void flush_tx(void)
{
	for (int i = 0; i < nmsg;) {
		int r = sendmmsg(raw, tmsg + i, nmsg - i, 0);
		if (r > 0) i += r;
		else if (errno == EAGAIN) {   /* socket buffer full: wait a little, then drop the rest */
			struct pollfd p = { raw, POLLOUT, 0 };
			if (poll(&p, 1, 10) <= 0) break;
		} else if (errno != EINTR) i++;   /* EMSGSIZE, EHOSTUNREACH, ...: drop that packet */
	}
	nmsg = 0;
}

/* Queue one outer packet; the caller writes hlen bytes of inner headers at the returned pointer. */
static uint8_t *queue(const struct iphdr *in, uint32_t gw, size_t hlen, const void *data, size_t dlen)
{
	if (nmsg == MAXMSG) flush_tx();
	/* As kernel tunl0 (ttl inherit, nopmtudisc): TTL and DF copied from the inner header,
	 * ECN copied (CE becomes ECT(0)), and a non-zero IP ID (for a DF packet the raw socket
	 * would send 0). With IP_HDRINCL the kernel fills in tot_len and the checksum. */
	if (!++ip_id) ip_id = 1;
	*(struct iphdr *)hbuf[nmsg] = (struct iphdr){ .version = 4, .ihl = 5, .ttl = in->ttl,
		.protocol = IPPROTO_IPIP, .id = htons(ip_id), .tos = (in->tos & 3) == 3 ? 2 : (in->tos & 3),
		.frag_off = in->frag_off & htons(IP_DF), .saddr = local_ip, .daddr = gw };
	tdst[nmsg] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = gw };
	tiov[nmsg][0] = (struct iovec){ hbuf[nmsg], 20 + hlen };
	tiov[nmsg][1] = (struct iovec){ (void *)data, dlen };
	tmsg[nmsg].msg_hdr = (struct msghdr){ .msg_name = &tdst[nmsg], .msg_namelen = sizeof tdst[0],
		.msg_iov = tiov[nmsg], .msg_iovlen = 2 };
	return hbuf[nmsg++] + 20;
}

/* Software GSO: cut a TCP super-packet into mss-sized segments exactly as the kernel would. */
static void segment(uint8_t *p, size_t len, size_t mss, uint32_t gw)
{
	struct iphdr *ip = (struct iphdr *)p;
	size_t ihl = ip->ihl * 4, hl = ihl + ((struct tcphdr *)(p + ihl))->doff * 4;
	if (ip->protocol != IPPROTO_TCP || len < ihl + 20 || hl > MAXHDR || hl > len || !mss) return;
	uint32_t seq = ntohl(((struct tcphdr *)(p + ihl))->seq);
	for (size_t off = hl, i = 0; off < len; off += mss, i++) {
		size_t sl = len - off < mss ? len - off : mss;
		uint8_t *h = queue(ip, gw, hl, p + off, sl);
		struct iphdr *sip = memcpy(h, p, hl);
		struct tcphdr *st = (struct tcphdr *)(h + ihl);
		sip->tot_len = htons(hl + sl);
		sip->id = htons(ntohs(ip->id) + i);
		ip_csum(sip);
		st->seq = htonl(seq + (off - hl));
		if (off + sl < len) h[ihl + 13] &= ~(TH_FIN | TH_PUSH);   /* TCP flags byte */
		if (i) h[ihl + 13] &= ~0x80;   /* CWR only on the first segment */
		st->check = 0;
		st->check = ~fold(csum_add(csum_add(pseudo(sip, hl - ihl + sl), st, hl - ihl), p + off, sl));
	}
}

static void tun_packet(uint8_t *b, size_t n)
{
	struct virtio_net_hdr *vh = (struct virtio_net_hdr *)b;
	uint8_t *p = b + VNET;
	size_t len = n - VNET, cs = vh->csum_start, at = cs + vh->csum_offset;
	struct iphdr *ip = (struct iphdr *)p;
	uint32_t gw;
	if (n < VNET + 20 || ip->version != 4 || ip->ihl < 5 || ip->ihl * 4u > len) return;   /* IPv4 only */
	if (!(gw = nexthop(ip->daddr))) return;
	if ((vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_TCPV4) {
		segment(p, len, vh->gso_size, gw);
		return;
	}
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) return;
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {   /* checksum offload: finish it here */
		if (cs >= len || at + 2 > len) return;
		uint16_t c = ~fold(csum_add(0, p + cs, len - cs));
		if (c == 0 && ip->protocol == IPPROTO_UDP) c = 0xffff;
		memcpy(p + at, &c, 2);
	}
	queue(ip, gw, 0, p, len);
}

static void from_tun(void)
{
	size_t off = 0;
	for (int reads = 0; reads < 1024; reads++) {
		if (off + 16 + VNET + MAXPKT > ARENA) flush_tx(), off = 0;
		uint8_t *b = arena + off + 6;   /* puts the IP header on a 16-byte boundary */
		ssize_t n = read(tun, b, VNET + MAXPKT);
		if (n < 0 && errno == EAGAIN) break;
		if (n < 0 && errno != EINTR) die("read tun");
		if (n > 0) tun_packet(b, n), off += (6 + n + 15) & ~(size_t)15;
	}
	flush_tx();
}

/* ---- underlay -> TUN ---- */
static uint8_t *rbuf;   /* RBATCH slots of 64 KB; only touched pages count in RSS */
static struct iovec riov[RBATCH], giov[RBATCH + 2];
static struct mmsghdr rmsg[RBATCH];
static struct virtio_net_hdr vnone, vgso;
static struct { uint8_t *p; size_t hl, seg, len; uint32_t next; int n, psh; } g;   /* super-packet in the making */

static void gro_flush(void)
{
	if (g.n > 1) {   /* a GSO packet: the kernel segments it again if it has to */
		struct iphdr *ip = (struct iphdr *)g.p;
		struct tcphdr *th = (struct tcphdr *)(g.p + 20);
		ip->tot_len = htons(g.hl + g.len);
		ip_csum(ip);
		th->psh |= g.psh;
		th->check = fold(pseudo(ip, g.hl - 20 + g.len));   /* CHECKSUM_PARTIAL: pseudo-header sum only */
		vgso = (struct virtio_net_hdr){ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, g.hl, g.seg, 20, 16 };
	}
	giov[0] = (struct iovec){ g.n > 1 ? &vgso : &vnone, VNET };
	if (g.n) writev(tun, giov, g.n + 1);   /* failure (EIO: tunl0 down) = drop; a gone device shows in poll */
	g.n = 0;
}

/* Software GRO: append p to the super-packet if it is the next in-order segment of the same
 * flow with the same headers (what kernel GRO requires), else flush and maybe start anew.
 * Checksums are verified first, so the merged packet can be marked "partial". */
static void to_tun(uint8_t *p, size_t n)
{
	struct iphdr *ip = (struct iphdr *)p;
	struct tcphdr *th = (struct tcphdr *)(p + 20);
	size_t hl = 20 + th->doff * 4, pl = n - hl;
	int cand = offload && n >= 40 && ip->ihl == 5 && ip->protocol == IPPROTO_TCP && th->doff >= 5 &&
		ntohs(ip->tot_len) == n && ip->frag_off == htons(IP_DF) && hl < n &&
		(p[33] & ~TH_PUSH) == TH_ACK && fold(csum_add(pseudo(ip, n - 20), th, n - 20)) == 0xffff;
	if (cand && g.n && g.hl == hl && ntohl(th->seq) == g.next && pl <= g.seg && g.len + pl <= MAXPKT - hl &&
	    !memcmp(g.p, p, 2) && g.p[8] == p[8] && !memcmp(g.p + 12, p + 12, 8) &&   /* tos, ttl, addrs */
	    !memcmp(g.p + 20, p + 20, 4) && !memcmp(g.p + 28, p + 28, 5) &&           /* ports, ack, doff */
	    !memcmp(g.p + 34, p + 34, 2) && !memcmp(g.p + 38, p + 38, hl - 38)) {     /* window, urg, options */
		giov[++g.n] = (struct iovec){ p + hl, pl };
		g.len += pl, g.next += pl, g.psh = th->psh;
		if (pl < g.seg || th->psh) gro_flush();
		return;
	}
	gro_flush();
	giov[1] = (struct iovec){ p, n };
	g.p = p, g.n = 1, g.hl = hl, g.seg = g.len = pl, g.next = ntohl(th->seq) + pl, g.psh = 0;
	if (!cand || th->psh) gro_flush();
}

static void from_raw(void)
{
	for (int round = 0; round < 16; round++) {
		int n = recvmmsg(raw, rmsg, RBATCH, MSG_DONTWAIT, NULL), e;
		socklen_t l = sizeof e;
		if (n < 0 && errno == EAGAIN) return;
		if (n < 0) { getsockopt(raw, SOL_SOCKET, SO_ERROR, &e, &l); continue; }   /* ICMP error (G3): clear, go on */
		for (int i = 0; i < n; i++) {
			uint8_t *o = riov[i].iov_base, *p = o + (o[0] & 15) * 4;
			size_t len = rmsg[i].msg_len, ol = (o[0] & 15) * 4;
			if ((rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) || ol < 20 || len < ol + 20 || (p[0] >> 4) != 4) continue;
			if ((o[1] & 3) == 3 || ((o[1] & 3) == 1 && (p[1] & 3) == 2)) {   /* ECN decap as the kernel: */
				if ((p[1] & 3) == 0) continue;   /* CE on a not-ECT inner packet: drop */
				p[1] = (p[1] & ~3) | (o[1] & 3);   /* else copy CE (or ECT(1)) inwards */
				ip_csum((struct iphdr *)p);
			}
			to_tun(p, len - ol);
		}
		gro_flush();
		if (n < RBATCH) return;
	}
}

/* ---- setup ---- */
static void ifreq_io(int fd, const char *dev, unsigned long req, struct ifreq *ifr, const char *what)
{
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", dev);
	if (ioctl(fd, req, ifr) < 0) die(what);
}

static int nl_socket(unsigned groups)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("netlink socket");
	return fd;
}

static void usage(void) { fprintf(stderr, "usage: kemu-ipip --dev NAME --local NODE_IPV4 --mtu N [--no-offload]\n"); exit(2); }

int main(int argc, char **argv)
{
	const char *dev = NULL, *local = NULL;
	long mtu = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = argv[i + 1];   /* argv[argc] is NULL */
		if (!strcmp(a, "--no-offload")) { offload = 0; continue; }
		if (!v) usage();
		if (!strcmp(a, "--dev")) dev = v;
		else if (!strcmp(a, "--local")) local = v;
		else if (!strcmp(a, "--mtu")) mtu = strtol(v, NULL, 10);
		else usage();
		i++;
	}
	if (!dev || strlen(dev) >= IFNAMSIZ || !local || inet_pton(AF_INET, local, &local_ip) != 1 ||
	    mtu < 68 || mtu > MAXPKT - 20)
		usage();
	ip_id = getpid() * 7919u;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	/* tunl0: create (or attach to a persistent one), mtu, txqueuelen, up */
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) die("socket");
	if ((tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) die("open /dev/net/tun");
	ifreq_io(tun, dev, TUNSETIFF, &ifr, "TUNSETIFF (create/attach tun device)");
	if (ioctl(tun, TUNSETOFFLOAD, offload ? TUN_F_CSUM | TUN_F_TSO4 : 0) < 0) die("TUNSETOFFLOAD");
	ifr.ifr_mtu = mtu;
	ifreq_io(s, dev, SIOCSIFMTU, &ifr, "set mtu");
	ifr.ifr_qlen = 1000;   /* a full TUN ring drops (no backpressure); default is 500 */
	ifreq_io(s, dev, SIOCSIFTXQLEN, &ifr, "set txqueuelen");
	ifreq_io(s, dev, SIOCGIFFLAGS, &ifr, "get flags");
	ifr.ifr_flags |= IFF_UP;
	ifreq_io(s, dev, SIOCSIFFLAGS, &ifr, "bring device up");
	ifreq_io(s, dev, SIOCGIFINDEX, &ifr, "get ifindex");
	tun_ifindex = ifr.ifr_ifindex;
	close(s);

	/* One unconnected raw socket for all peers: a connected one gets ICMP errors (G3). */
	int one = 1, bufsz = 4 << 20;
	if ((raw = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_IPIP)) < 0) die("raw IPIP socket");
	if (setsockopt(raw, IPPROTO_IP, IP_HDRINCL, &one, sizeof one) < 0) die("IP_HDRINCL");
	setsockopt(raw, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof bufsz);
	setsockopt(raw, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof bufsz);
	nlq = nl_socket(0);
	nln = nl_socket(RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_RULE);
	arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rbuf = mmap(NULL, RBATCH * 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED || rbuf == MAP_FAILED) die("mmap");
	for (int i = 0; i < RBATCH; i++) {
		riov[i] = (struct iovec){ rbuf + (size_t)i * 65536, 65536 };
		rmsg[i].msg_hdr = (struct msghdr){ .msg_iov = &riov[i], .msg_iovlen = 1 };
	}

	/* kemu starts these from a launcher: KEMU_READY_TAG says which one is ready. */
	const char *tag = getenv("KEMU_READY_TAG");
	if (tag && *tag)
		printf("ready %.40s\n", tag), fflush(stdout);
	else
		printf("ready\n"), fflush(stdout);
	int nul = open("/dev/null", O_WRONLY);
	if (nul >= 0) dup2(nul, 1), close(nul);

	struct pollfd pf[3] = { { tun, POLLIN, 0 }, { raw, POLLIN, 0 }, { nln, POLLIN, 0 } };
	char nbuf[8192];
	for (;;) {
		if (poll(pf, 3, -1) < 0 && errno != EINTR) die("poll");
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
		now_ms = ts.tv_sec * 1000u + ts.tv_nsec / 1000000;
		if (pf[2].revents)   /* route/rule change (or ENOBUFS: some lost): forget all next hops */
			while (recv(nln, nbuf, sizeof nbuf, MSG_DONTWAIT) > 0 || errno == ENOBUFS) gen++;
		if (pf[1].revents) from_raw();   /* POLLERR too: from_raw clears SO_ERROR */
		if (pf[0].revents & (POLLERR | POLLHUP | POLLNVAL)) errno = ENODEV, die("tun device gone");
		if (pf[0].revents & POLLIN) from_tun();
	}
}
