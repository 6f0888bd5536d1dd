/*
 * kemu-sandbox: set up one pod sandbox, then become its holder.
 *
 *   kemu-sandbox [--join-netns NODE_NETNS_FILE] [--etc DIR] NETNS_FILE HOSTNAME TAG ERR_FILE -- HOLDER [ARGS...]   (ip -batch lines on stdin)
 *
 * --etc DIR (a lab with cluster DNS): the sandbox gets its own mount namespace, private, in which every
 * file DIR holds (resolv.conf, hosts) is bind-mounted over /etc/<name>, as the kubelet mounts the files it
 * writes into a pod's containers. The host's own /etc is never touched. The copied mounts of
 * /run/netns/NAME (other pods' and nodes' network namespaces) are detached in the new namespace so that it
 * keeps none of them alive. The mount namespace dies with the holder.
 *
 * --join-netns (a hostNetwork pod): instead of a new network namespace, enter NODE_NETNS_FILE's (setns)
 * and bind that on NETNS_FILE; ip_forward is the node's and is left alone. UTS and IPC are still new.
 *
 * In order: new network, UTS and IPC namespaces; the network namespace bind-mounted on NETNS_FILE
 * (what `ip netns add` does, so `ip netns exec` works); the hostname; net.ipv4.ip_forward=0; the pod
 * side of the network with one `ip -batch -` run inside. Then it reports `<pid> ok <TAG>` on stdout
 * (or `<pid> fail <TAG> <reason>`), puts stdio on /dev/null and execs HOLDER (catatonit -P) in place,
 * so the holder keeps this pid and these namespaces.
 *
 * One static exec instead of unshare + sh + ip: kemu starts hundreds of these and every exec costs.
 * The batch lines kemu plans for a pod (loopback up, the veth pair, the /32, two routes) are applied
 * here over rtnetlink; a batch with any other line is handed to `ip -batch -` unchanged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>

static const char *tag = "?";

static void fail(const char *what, const char *detail)
{
	dprintf(1, "%d fail %s %s: %s\n", getpid(), tag, what, detail);
	exit(1);
}

/* ---- rtnetlink: just the requests a pod's batch needs ---- */

struct nlreq {
	struct nlmsghdr n;
	char buf[1024];
};

static int nl = -1;
static char why[1400];

static struct rtattr *attr(struct nlmsghdr *n, int type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nest_end(struct nlmsghdr *n, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)n + NLMSG_ALIGN(n->nlmsg_len) - (char *)a);
}

/* Send one request and wait for its ack; 0 or -errno. */
static int talk(struct nlmsghdr *n)
{
	static unsigned seq;
	char rbuf[4096];
	n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	n->nlmsg_seq = ++seq;
	if (send(nl, n, n->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(nl, rbuf, sizeof rbuf, 0);
		if (len < 0)
			return -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len))
			if (h->nlmsg_seq == seq && h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) == 6 ? 0 : -1;
}

static int link_up(const char *dev)
{
	struct nlreq r = {.n = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = RTM_NEWLINK}};
	struct ifinfomsg *i = NLMSG_DATA(&r.n);
	i->ifi_index = (int)if_nametoindex(dev);
	i->ifi_change = i->ifi_flags = IFF_UP;
	return i->ifi_index ? talk(&r.n) : -ENODEV;
}

/* One end's attributes: name, optional MAC and MTU. */
static void link_attrs(struct nlmsghdr *n, const char *name, const char *mac, const char *mtu)
{
	unsigned char m[6];
	attr(n, IFLA_IFNAME, name, strlen(name) + 1);
	if (mac && !parse_mac(mac, m))
		attr(n, IFLA_ADDRESS, m, 6);
	if (mtu) {
		unsigned v = (unsigned)atoi(mtu);
		attr(n, IFLA_MTU, &v, sizeof v);
	}
}

static int veth_add(char **t, int nt)
{
	/* link add name A [address M] [mtu N] type veth peer name B [address M] [mtu N] [netns NS] */
	const char *v[2][4] = {{0}}; /* name, address, mtu, netns for each end */
	int end = 0;
	for (int k = 2; k + 1 < nt; k += 2) {
		if (!strcmp(t[k], "type") && !strcmp(t[k + 1], "veth") && k + 2 < nt && !strcmp(t[k + 2], "peer")) {
			end = 1;
			k++;
		} else if (!strcmp(t[k], "name"))
			v[end][0] = t[k + 1];
		else if (!strcmp(t[k], "address"))
			v[end][1] = t[k + 1];
		else if (!strcmp(t[k], "mtu"))
			v[end][2] = t[k + 1];
		else if (!strcmp(t[k], "netns") && end == 1)
			v[end][3] = t[k + 1];
		else
			return -EINVAL;
	}
	if (!end || !v[0][0] || !v[1][0])
		return -EINVAL;
	struct nlreq r = {.n = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = RTM_NEWLINK,
				.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL}};
	link_attrs(&r.n, v[0][0], v[0][1], v[0][2]);
	struct rtattr *info = attr(&r.n, IFLA_LINKINFO, NULL, 0);
	attr(&r.n, IFLA_INFO_KIND, "veth", 5);
	struct rtattr *data = attr(&r.n, IFLA_INFO_DATA, NULL, 0);
	struct rtattr *peer = attr(&r.n, VETH_INFO_PEER, NULL, 0);
	r.n.nlmsg_len += NLMSG_ALIGN(sizeof(struct ifinfomsg)); /* the peer's ifinfomsg, zeroed */
	link_attrs(&r.n, v[1][0], v[1][1], v[1][2]);
	int nsfd = -1;
	if (v[1][3]) {
		char path[300];
		snprintf(path, sizeof path, "/run/netns/%s", v[1][3]);
		if ((nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return -errno;
		unsigned fdv = (unsigned)nsfd;
		attr(&r.n, IFLA_NET_NS_FD, &fdv, sizeof fdv);
	}
	nest_end(&r.n, peer);
	nest_end(&r.n, data);
	nest_end(&r.n, info);
	int rc = talk(&r.n);
	if (nsfd >= 0)
		close(nsfd);
	return rc;
}

static int addr_add(const char *cidr, const char *dev)
{
	char ip[32];
	int prefix = 32;
	if (sscanf(cidr, "%31[0-9.]/%d", ip, &prefix) < 1)
		return -EINVAL;
	struct nlreq r = {.n = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)), .nlmsg_type = RTM_NEWADDR,
				.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL}};
	struct ifaddrmsg *a = NLMSG_DATA(&r.n);
	struct in_addr in;
	a->ifa_family = AF_INET;
	a->ifa_prefixlen = (unsigned char)prefix;
	a->ifa_index = if_nametoindex(dev);
	if (!a->ifa_index || inet_pton(AF_INET, ip, &in) != 1)
		return a->ifa_index ? -EINVAL : -ENODEV;
	attr(&r.n, IFA_LOCAL, &in, 4);
	attr(&r.n, IFA_ADDRESS, &in, 4);
	return talk(&r.n);
}

/* route add (default | DST[/P]) [via GW] dev DEV [scope link] */
static int route_add(char **t, int nt)
{
	const char *dst = t[2], *via = NULL, *dev = NULL;
	int link_scope = 0;
	for (int k = 3; k + 1 < nt; k += 2) {
		if (!strcmp(t[k], "via"))
			via = t[k + 1];
		else if (!strcmp(t[k], "dev"))
			dev = t[k + 1];
		else if (!strcmp(t[k], "scope") && !strcmp(t[k + 1], "link"))
			link_scope = 1;
		else
			return -EINVAL;
	}
	struct nlreq r = {.n = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = RTM_NEWROUTE,
				.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL}};
	struct rtmsg *m = NLMSG_DATA(&r.n);
	m->rtm_family = AF_INET;
	m->rtm_table = RT_TABLE_MAIN;
	m->rtm_protocol = RTPROT_BOOT;
	m->rtm_type = RTN_UNICAST;
	m->rtm_scope = link_scope ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	if (strcmp(dst, "default")) {
		char ip[32];
		int prefix = 32;
		struct in_addr in;
		if (sscanf(dst, "%31[0-9.]/%d", ip, &prefix) < 1 || inet_pton(AF_INET, ip, &in) != 1)
			return -EINVAL;
		m->rtm_dst_len = (unsigned char)prefix;
		attr(&r.n, RTA_DST, &in, 4);
	}
	if (via) {
		struct in_addr gw;
		if (inet_pton(AF_INET, via, &gw) != 1)
			return -EINVAL;
		attr(&r.n, RTA_GATEWAY, &gw, 4);
	}
	if (dev) {
		unsigned idx = if_nametoindex(dev);
		if (!idx)
			return -ENODEV;
		attr(&r.n, RTA_OIF, &idx, sizeof idx);
	}
	return talk(&r.n);
}

/* Apply one batch line; -EINVAL for a line this does not know. */
static int apply_line(char *line)
{
	char *t[40];
	int nt = 0;
	for (char *tok = strtok(line, " \t\n"); tok && nt < 40; tok = strtok(NULL, " \t\n"))
		t[nt++] = tok;
	if (nt == 0)
		return 0;
	if (nt >= 4 && !strcmp(t[0], "link") && !strcmp(t[1], "set") && !strcmp(t[nt - 1], "up") && nt <= 5)
		return link_up(t[nt - 2]);
	if (nt >= 8 && !strcmp(t[0], "link") && !strcmp(t[1], "add"))
		return veth_add(t, nt);
	if (nt == 5 && !strcmp(t[0], "addr") && !strcmp(t[1], "add") && !strcmp(t[3], "dev"))
		return addr_add(t[2], t[4]);
	if (nt >= 5 && !strcmp(t[0], "route") && !strcmp(t[1], "add"))
		return route_add(t, nt);
	return -EINVAL;
}

/* Known lines go over rtnetlink; 1 (nothing applied) when the batch holds a verb to leave to `ip`. */
static int apply_batch(char *batch)
{
	char copy[8192];
	snprintf(copy, sizeof copy, "%s", batch);
	for (char *l = copy; *l;) { /* first pass: is every line one we know? */
		char *nl_ = strchr(l, '\n');
		size_t n = nl_ ? (size_t)(nl_ - l) : strlen(l);
		if (n && !(!strncmp(l, "link set ", 9) || !strncmp(l, "link add ", 9) || !strncmp(l, "addr add ", 9) || !strncmp(l, "route add ", 10)))
			return 1;
		l += n + (nl_ ? 1 : 0);
	}
	if ((nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) < 0)
		fail("netlink", strerror(errno));
	for (char *l = batch; *l;) {
		char *end = strchr(l, '\n'), line[1024];
		size_t n = end ? (size_t)(end - l) : strlen(l);
		snprintf(line, sizeof line, "%.*s", (int)n, l);
		char shown[1024];
		snprintf(shown, sizeof shown, "%s", line);
		int rc = apply_line(line);
		if (rc < 0) {
			snprintf(why, sizeof why, "%s: %s", shown, rc == -EINVAL ? "not a line kemu-sandbox can apply" : strerror(-rc));
			fail("network", why);
		}
		l += n + (end ? 1 : 0);
	}
	close(nl);
	return 0;
}

/* Own mount namespace with DIR's files over /etc (see --etc above). */
static void private_etc(const char *dir)
{
	if (unshare(CLONE_NEWNS) < 0)
		fail("unshare mount", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail("mount private", strerror(errno));
	/* Batches, innermost first (mountinfo lists parents before children), until none is left. */
	static char points[1024][288];
	for (;;) {
		int n = 0;
		FILE *mi = fopen("/proc/self/mountinfo", "r");
		if (!mi)
			fail("mountinfo", strerror(errno));
		char line[4096];
		while (fgets(line, sizeof line, mi) && n < 1024) {
			char mp[4096];
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strncmp(mp, "/run/netns/", 11)) {
				if (strlen(mp) >= sizeof points[0])
					fail("mountinfo", "a /run/netns mount point longer than 287 characters");
				strcpy(points[n++], mp);
			}
		}
		fclose(mi);
		if (n == 0)
			break;
		int gone = 0;
		while (n-- > 0)
			gone += umount2(points[n], MNT_DETACH) == 0;
		if (gone == 0)
			fail("umount /run/netns", strerror(errno));
	}
	static const char *const files[] = {"resolv.conf", "hosts"};
	for (int i = 0; i < 2; i++) {
		char src[4096], dst[64];
		snprintf(src, sizeof src, "%s/%s", dir, files[i]);
		snprintf(dst, sizeof dst, "/etc/%s", files[i]);
		if (access(src, R_OK) < 0)
			continue;
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			fail(dst, strerror(errno));
	}
}

int main(int argc, char **argv)
{
	const char *join = NULL, *etc = NULL;
	for (;;) {
		if (argc > 2 && !strcmp(argv[1], "--join-netns"))
			join = argv[2];
		else if (argc > 2 && !strcmp(argv[1], "--etc"))
			etc = argv[2];
		else
			break;
		argv += 2;
		argc -= 2;
	}
	if (argc < 7 || strcmp(argv[5], "--")) {
		fprintf(stderr, "usage: kemu-sandbox [--join-netns NODE_NETNS_FILE] [--etc DIR] NETNS_FILE HOSTNAME TAG ERR_FILE -- HOLDER [ARGS...]\n");
		return 2;
	}
	const char *netns = argv[1], *host = argv[2], *err = argv[4];
	tag = argv[3];

	if (join) {
		int nfd = open(join, O_RDONLY | O_CLOEXEC);
		if (nfd < 0)
			fail(join, strerror(errno));
		if (setns(nfd, CLONE_NEWNET) < 0)
			fail("setns", strerror(errno));
		close(nfd);
	}
	if (unshare((join ? 0 : CLONE_NEWNET) | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
		fail("unshare", strerror(errno));
	if (mount("/proc/self/ns/net", netns, NULL, MS_BIND, NULL) < 0)
		fail(netns, strerror(errno));
	if (sethostname(host, strlen(host)) < 0)
		fail("sethostname", strerror(errno));
	if (!join) {
		int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			fail("ip_forward", strerror(errno));
		close(fd);
	}

	char batch[8192];
	size_t blen = 0;
	ssize_t got;
	while (blen < sizeof batch - 1 && (got = read(0, batch + blen, sizeof batch - 1 - blen)) > 0)
		blen += (size_t)got;
	batch[blen] = 0;
	if (apply_batch(batch) == 0)
		goto ready;

	int in[2];
	if (pipe(in) < 0)
		fail("pipe", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		fail("fork", strerror(errno));
	if (pid == 0) {
		dup2(in[0], 0);
		close(in[1]);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (e >= 0) {
			dup2(e, 1);
			dup2(e, 2);
		}
		execlp("ip", "ip", "-batch", "-", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	if (write(in[1], batch, blen) != (ssize_t)blen)
		fail("pipe", strerror(errno));
	close(in[1]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char line[512] = "ip -batch failed";
		FILE *f = fopen(err, "r");
		if (f) {
			if (fgets(line, sizeof line, f))
				line[strcspn(line, "\n")] = 0;
			fclose(f);
		}
		fail("network", line);
	}
	unlink(err);
ready:
	/* Last: the batch above names the node's namespace under /run/netns, which the pod's mounts then drop. */
	if (etc)
		private_etc(etc);
	dprintf(1, "%d ok %s\n", getpid(), tag);

	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	execvp(argv[6], argv + 6);
	_exit(127);
}
