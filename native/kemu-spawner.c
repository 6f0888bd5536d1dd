/*
 * kemu-spawner: starts short host commands (ip, iptables-restore, nsenter, …) for a Node process.
 *
 * Node's child_process forks the whole Node process for every command; on a VM that costs 6 ms for
 * a small CLI and 20 ms at 500 MB, all of it blocking the event loop. This helper is small, so its
 * posix_spawn (vfork underneath) costs well under a millisecond, and it runs many commands at once.
 *
 * Framing on stdin and stdout, every number a little-endian u32:
 *   request   id, argc, argc × (len, bytes), input len, input bytes
 *   answer    id, status, stdout len, stdout bytes, stderr len, stderr bytes
 * status: the exit code (0..255); 256 + N: killed by signal N; 512 + errno: could not be started.
 *
 * `nsenter --net=PATH -- CMD ARGS...` is run as nsenter would: the helper enters PATH's network
 * namespace itself, starts CMD there and returns to its own.
 * The command's environment is the helper's own (its parent's) with LC_ALL=C. When stdin closes (its
 * parent exited or was killed) it starts the complete requests it still holds, finishes writing every
 * running command's input, and exits; SIGINT/SIGTERM are left to the parent (the commands it starts
 * get the default dispositions back).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

extern char **environ;

struct buf {
	char *data;
	size_t len, cap;
};

struct job {
	uint32_t id;
	pid_t pid;
	int fd_in, fd_out, fd_err, fd_pid; /* -1 once closed */
	struct buf input;
	size_t input_sent;
	struct buf out, err;
	int status; /* -1 while running */
	int done;   /* answered: freed after the current batch of events */
	struct job *next;
};

/* epoll data: the job pointer with the low bits naming which fd of it fired. */
enum which { W_IN = 0, W_OUT = 1, W_ERR = 2, W_PID = 3 };

static int ep;
static struct job *jobs, *answered;
static struct buf request;

static void die(const char *what)
{
	fprintf(stderr, "kemu-spawner: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void append(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (!b->data)
			die("realloc");
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
}

/* The parent closed its end (it exited or was killed): no more requests, no more answers. */
static int parent_gone;

static void write_all(const void *data, size_t n)
{
	const char *p = data;
	while (n > 0 && !parent_gone) {
		ssize_t w = write(1, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			parent_gone = 1;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void put_u32(uint32_t v)
{
	unsigned char b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff };
	write_all(b, 4);
}

static uint32_t get_u32(const char *p)
{
	const unsigned char *b = (const unsigned char *)p;
	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static void watch_fd(int fd, uint32_t events, struct job *j, enum which w)
{
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)(uintptr_t)j | (uint64_t)w };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, *fd, NULL);
		close(*fd);
		*fd = -1;
	}
}

static void answer(struct job *j)
{
	put_u32(j->id);
	put_u32((uint32_t)j->status);
	put_u32((uint32_t)j->out.len);
	write_all(j->out.data, j->out.len);
	put_u32((uint32_t)j->err.len);
	write_all(j->err.data, j->err.len);
}

static void finish_if_done(struct job *j)
{
	if (j->status < 0 || j->fd_out >= 0 || j->fd_err >= 0)
		return;
	close_fd(&j->fd_in);
	close_fd(&j->fd_pid);
	answer(j);
	for (struct job **p = &jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	/* Later events of this batch may still name it. */
	j->done = 1;
	j->next = answered;
	answered = j;
}

static void free_answered(void)
{
	while (answered) {
		struct job *j = answered;
		answered = j->next;
		free(j->input.data);
		free(j->out.data);
		free(j->err.data);
		free(j);
	}
}

static void send_input(struct job *j)
{
	while (j->input_sent < j->input.len) {
		ssize_t w = write(j->fd_in, j->input.data + j->input_sent, j->input.len - j->input_sent);
		if (w < 0) {
			if (errno == EAGAIN)
				return; /* EPOLLOUT brings us back */
			if (errno == EINTR)
				continue;
			break; /* EPIPE: the command does not read its input */
		}
		j->input_sent += (size_t)w;
	}
	close_fd(&j->fd_in);
}

static int own_netns = -1;
static char entered_netns_error[4200];

/* `nsenter --net=PATH -- CMD ...`: PATH, when argv has exactly that form. */
static const char *entered_netns(char **argv)
{
	if (strcmp(argv[0], "nsenter") || !argv[1] || strncmp(argv[1], "--net=", 6) || !argv[2] || strcmp(argv[2], "--") || !argv[3])
		return NULL;
	return argv[1] + 6;
}

static int enter_netns(const char *path)
{
	entered_netns_error[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		int e = errno;
		snprintf(entered_netns_error, sizeof entered_netns_error, "nsenter: %s %s: %s\n", fd < 0 ? "cannot open" : "reassociate to namespace 'ns/net' failed", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return e;
	}
	close(fd);
	return 0;
}

static void start(uint32_t id, char **argv, const char *input, size_t input_len)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		die("calloc");
	j->id = id;
	j->status = -1;
	j->fd_in = j->fd_out = j->fd_err = j->fd_pid = -1;
	int in[2], out[2], err[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		die("pipe2");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none, defaults;
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGHUP);
	sigaddset(&defaults, SIGQUIT);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);
	pid_t pid;
	int rc;
	const char *netns = entered_netns(argv);
	if (netns) {
		/* nsenter's job done here: the command starts in the namespace, one exec fewer. */
		rc = enter_netns(netns);
		if (rc == 0) {
			rc = posix_spawnp(&pid, argv[3], &fa, &attr, argv + 3, environ);
			if (setns(own_netns, CLONE_NEWNET) < 0)
				die("setns back");
		}
	} else {
		rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (rc != 0) {
		close(in[1]);
		close(out[0]);
		close(err[0]);
		j->status = 512 + rc;
		if (netns && rc != 0 && entered_netns_error[0]) {
			/* as nsenter reports it */
			j->status = 1;
			append(&j->err, entered_netns_error, strlen(entered_netns_error));
		}
		answer(j);
		free(j);
		return;
	}
	j->pid = pid;
	j->fd_in = in[1];
	j->fd_out = out[0];
	j->fd_err = err[0];
	fcntl(j->fd_in, F_SETFL, O_NONBLOCK);
	fcntl(j->fd_out, F_SETFL, O_NONBLOCK);
	fcntl(j->fd_err, F_SETFL, O_NONBLOCK);
	j->fd_pid = (int)syscall(SYS_pidfd_open, pid, 0);
	if (j->fd_pid < 0)
		die("pidfd_open");
	j->next = jobs;
	jobs = j;
	watch_fd(j->fd_out, EPOLLIN, j, W_OUT);
	watch_fd(j->fd_err, EPOLLIN, j, W_ERR);
	watch_fd(j->fd_pid, EPOLLIN, j, W_PID);
	if (input_len > 0) {
		append(&j->input, input, input_len);
		watch_fd(j->fd_in, EPOLLOUT, j, W_IN);
		send_input(j);
	} else {
		close_fd(&j->fd_in);
	}
}

static int input_pending(void)
{
	for (struct job *j = jobs; j; j = j->next)
		if (j->fd_in >= 0)
			return 1;
	return 0;
}

/* Start every complete request in the buffer; keep a partial one for the next read. */
static void take_requests(void)
{
	size_t at = 0;
	for (;;) {
		const char *p = request.data + at;
		size_t left = request.len - at, need = 8;
		if (left < need)
			break;
		uint32_t id = get_u32(p), argc = get_u32(p + 4);
		if (argc == 0 || argc > 65536) {
			fprintf(stderr, "kemu-spawner: bad request (argc %u)\n", argc);
			exit(1);
		}
		int whole = 1;
		for (uint32_t k = 0; k < argc; k++) {
			if (left < need + 4) {
				whole = 0;
				break;
			}
			need += 4 + get_u32(p + need);
		}
		if (!whole || left < need + 4)
			break;
		uint32_t input_len = get_u32(p + need);
		if (left < need + 4 + input_len)
			break;
		char **argv = calloc(argc + 1, sizeof *argv);
		if (!argv)
			die("calloc");
		size_t off = 8;
		for (uint32_t k = 0; k < argc; k++) {
			uint32_t n = get_u32(p + off);
			argv[k] = strndup(p + off + 4, n);
			off += 4 + n;
		}
		start(id, argv, p + off + 4, input_len);
		for (uint32_t k = 0; k < argc; k++)
			free(argv[k]);
		free(argv);
		at += need + 4 + input_len;
	}
	memmove(request.data, request.data + at, request.len - at);
	request.len -= at;
}

static void drain(int *fd, struct buf *b)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(*fd, chunk, sizeof chunk);
		if (n > 0) {
			append(b, chunk, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close_fd(fd); /* EOF or error */
		return;
	}
}

int main(void)
{
	/*
	 * No death signal with the parent: a command it started (or asked for completely) gets all of
	 * its input even when the parent is killed meanwhile, as a command Node started itself would. A
	 * cut-off `ip -batch` input would apply half a line.
	 */
	if (getppid() == 1)
		return 0;
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	setenv("LC_ALL", "C", 1);
	int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (self < 0)
		return 2; /* no pidfds (kernel < 5.3): the parent starts commands itself */
	close(self);
	own_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (own_netns < 0)
		return 2;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	struct epoll_event stdin_ev = { .events = EPOLLIN, .data.u64 = 0 };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &stdin_ev) < 0)
		die("epoll_ctl stdin");
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			uint64_t data = evs[i].data.u64;
			if (data == 0) {
				char chunk[65536];
				ssize_t r = read(0, chunk, sizeof chunk);
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (r <= 0) {
					/* The parent is gone: the complete requests were started; a partial one is dropped. */
					parent_gone = 1;
					epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
					continue;
				}
				append(&request, chunk, (size_t)r);
				take_requests();
				continue;
			}
			struct job *j = (struct job *)(uintptr_t)(data & ~(uint64_t)3);
			if (j->done)
				continue;
			switch ((enum which)(data & 3)) {
			case W_IN:
				send_input(j);
				break;
			case W_OUT:
				drain(&j->fd_out, &j->out);
				break;
			case W_ERR:
				drain(&j->fd_err, &j->err);
				break;
			case W_PID: {
				int st;
				if (waitpid(j->pid, &st, WNOHANG) == j->pid) {
					j->status = WIFSIGNALED(st) ? 256 + WTERMSIG(st) : WEXITSTATUS(st);
					close_fd(&j->fd_pid);
				}
				break;
			}
			}
			finish_if_done(j);
		}
		free_answered();
		if (parent_gone && !input_pending())
			return 0; /* what runs on has its whole input; nobody reads its output */
	}
}
