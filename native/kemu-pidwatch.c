/*
 * kemu-pidwatch: the lab supervisor's eyes, without polling. It holds a pidfd for every process the
 * supervisor watches (containers, sandbox holders, node daemons) and a link-event netlink socket in
 * every node network namespace, and writes one line per event. Commands on stdin, one a line:
 *
 *   + PID        watch PID              answer: "gone PID" when it does not exist (nothing when it does)
 *   - PID        stop watching PID
 *   n PATH       watch link deletions in the network namespace bound at PATH (with -r, its
 *                nftables changes too)   answer: "gone PATH" when it cannot be entered
 *   x PATH       stop watching PATH
 *
 * Events on stdout: "exit PID" (the process ended: zombie or reaped), "link PATH" (a link was deleted
 * in that namespace, or events were lost), "rules PATH" (with -r: a table, chain, rule or set of that
 * namespace changed, or events were lost); with -r it first says "rules-events". It exits when stdin closes (its supervisor is gone) and
 * dies with its parent. Exit status: 1 when epoll or the own namespace cannot be opened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

enum kind { FREE = 0, PID, LINKS, RULES };

struct watch {
	enum kind kind;
	long pid;
	char *path;
};

static struct watch *table; /* indexed by fd */
static int table_len;
static int ep;
static int own_netns;
static int *fd_of_pid; /* indexed by pid: the pidfd + 1, 0 when not watched */
static long pids_len;

static int *pid_slot(long pid) {
	if (pid >= pids_len) {
		long len = pids_len ? pids_len : 65536;
		while (len <= pid) len *= 2;
		fd_of_pid = realloc(fd_of_pid, (size_t)len * sizeof *fd_of_pid);
		if (!fd_of_pid) {
			perror("kemu-pidwatch: realloc");
			exit(1);
		}
		memset(fd_of_pid + pids_len, 0, (size_t)(len - pids_len) * sizeof *fd_of_pid);
		pids_len = len;
	}
	return &fd_of_pid[pid];
}

static void grow(int fd) {
	if (fd < table_len) return;
	int len = table_len ? table_len : 1024;
	while (len <= fd) len *= 2;
	table = realloc(table, (size_t)len * sizeof *table);
	if (!table) {
		perror("kemu-pidwatch: realloc");
		exit(1);
	}
	memset(table + table_len, 0, (size_t)(len - table_len) * sizeof *table);
	table_len = len;
}

static void add_fd(int fd, enum kind kind, long pid, const char *path) {
	grow(fd);
	table[fd].kind = kind;
	table[fd].pid = pid;
	table[fd].path = path ? strdup(path) : NULL;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void drop_fd(int fd) {
	if (table[fd].kind == PID) *pid_slot(table[fd].pid) = 0;
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(table[fd].path);
	table[fd] = (struct watch){ 0 };
}

static void watch_pid(long pid) {
	if (pid <= 0 || pid > 1 << 26) return;
	if (*pid_slot(pid)) return;
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (fd < 0) {
		printf("gone %ld\n", pid);
		return;
	}
	add_fd(fd, PID, pid, NULL);
	*pid_slot(pid) = fd + 1;
}

/* With -r: nftables' change events too (tables, chains, rules, sets), reported as "rules PATH". */
static int watch_rules;

/* A socket on nftables' event group in the current network namespace, or -1. */
static int nftables_events(void) {
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
	if (sock < 0) return -1;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int group = NFNLGRP_NFTABLES;
	if (bind(sock, (struct sockaddr *)&sa, sizeof sa) != 0 || setsockopt(sock, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) {
		close(sock);
		return -1;
	}
	/* A small buffer: a big restore overflows it at once (ENOBUFS), which reports the change as well as the messages would. */
	int size = 64 << 10;
	setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	return sock;
}

static void watch_links(const char *path) {
	for (int fd = 0; fd < table_len; fd++)
		if (table[fd].kind == LINKS && strcmp(table[fd].path, path) == 0) return;
	int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
		if (ns >= 0) close(ns);
		printf("gone %s\n", path);
		return;
	}
	/* A netlink socket stays in the namespace it was created in. */
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	int rules_sock = watch_rules ? nftables_events() : -1;
	if (setns(own_netns, CLONE_NEWNET) != 0) {
		perror("kemu-pidwatch: setns back");
		exit(1);
	}
	close(ns);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (sock >= 0) close(sock);
		if (rules_sock >= 0) close(rules_sock);
		printf("gone %s\n", path);
		return;
	}
	int size = 1 << 20;
	setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
	add_fd(sock, LINKS, 0, path);
	if (rules_sock >= 0) add_fd(rules_sock, RULES, 0, path);
}

static void unwatch_pid(long pid) {
	if (pid <= 0 || pid >= pids_len || !fd_of_pid[pid]) return;
	drop_fd(fd_of_pid[pid] - 1);
}

static void unwatch_links(const char *path) {
	for (int fd = 0; fd < table_len; fd++)
		if ((table[fd].kind == LINKS || table[fd].kind == RULES) && strcmp(table[fd].path, path) == 0) drop_fd(fd);
}

static void command(char *line) {
	if (line[0] == '\0' || line[1] != ' ') return;
	char *arg = line + 2;
	switch (line[0]) {
	case '+': watch_pid(strtol(arg, NULL, 10)); break;
	case '-': unwatch_pid(strtol(arg, NULL, 10)); break;
	case 'n': watch_links(arg); break;
	case 'x': unwatch_links(arg); break;
	}
}

/* Any link deletion (or lost events: ENOBUFS) is reported; the supervisor looks for itself. */
static void links_readable(int fd) {
	char buf[16384];
	int deleted = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == ENOBUFS) {
				deleted = 1;
				continue;
			}
			break;
		}
		if (n == 0) break;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n))
			if (h->nlmsg_type == RTM_DELLINK) deleted = 1;
	}
	if (deleted) printf("link %s\n", table[fd].path);
}

/* Any nftables change in the namespace (or lost events) is reported once per wake-up. */
static void rules_readable(int fd) {
	char buf[16384];
	while (recv(fd, buf, sizeof buf, 0) > 0 || errno == ENOBUFS)
		;
	printf("rules %s\n", table[fd].path);
}

int main(int argc, char **argv) {
	watch_rules = argc > 1 && strcmp(argv[1], "-r") == 0;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	/* One pidfd per watched process: thousands of them. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		struct rlimit want = { .rlim_cur = 1 << 20, .rlim_max = 1 << 20 };
		if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	own_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (own_netns < 0 || ep < 0) {
		perror("kemu-pidwatch");
		return 1;
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	struct epoll_event in = { .events = EPOLLIN, .data.fd = 0 };
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in);
	if (watch_rules) printf("rules-events\n");
	char line[8192];
	size_t used = 0;
	struct epoll_event evs[256];
	for (;;) {
		fflush(stdout);
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0) {
			if (errno == EINTR) continue;
			perror("kemu-pidwatch: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == 0) {
				for (;;) {
					ssize_t r = read(0, line + used, sizeof line - 1 - used);
					if (r == 0) return 0;
					if (r < 0) break;
					used += (size_t)r;
					char *start = line, *nl;
					while ((nl = memchr(start, '\n', used - (size_t)(start - line)))) {
						*nl = '\0';
						command(start);
						start = nl + 1;
					}
					used -= (size_t)(start - line);
					memmove(line, start, used);
					if (used == sizeof line - 1) used = 0; /* a line too long: dropped */
				}
			} else if (fd < table_len && table[fd].kind == PID) {
				printf("exit %ld\n", table[fd].pid);
				drop_fd(fd);
			} else if (fd < table_len && table[fd].kind == LINKS) {
				links_readable(fd);
			} else if (fd < table_len && table[fd].kind == RULES) {
				rules_readable(fd);
			}
		}
	}
}
