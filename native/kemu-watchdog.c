/*
 * kemu-watchdog PID -- PROGRAM ARG...: wait (without polling) until process PID has exited, then exec
 * PROGRAM in place. The lab's supervisor starts one beside itself with its own command line, so a
 * killed supervisor comes back at once; the new supervisor starts a new watchdog. A host without an
 * init system that restarts services has nothing else to do this.
 *
 * The wait is a pidfd (Linux >= 5.3): poll() returns when the process exits, zombie or reaped.
 * Exit status: 2 on bad usage, 1 when PROGRAM cannot be exec'd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int main(int argc, char **argv) {
	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(stderr, "usage: kemu-watchdog PID -- PROGRAM [ARG...]\n");
		return 2;
	}
	char *end;
	long pid = strtol(argv[1], &end, 10);
	if (*end || pid <= 0) {
		fprintf(stderr, "kemu-watchdog: bad pid %s\n", argv[1]);
		return 2;
	}
	/* Not the terminal's, not the watched process's: only SIGKILL/SIGTERM end it. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (fd >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		while (poll(&p, 1, -1) < 0 && errno == EINTR) {
		}
		close(fd);
	} else if (errno != ESRCH) {
		/* No pidfd: fall back to asking every 200 ms. */
		while (kill((pid_t)pid, 0) == 0 || errno == EPERM) usleep(200 * 1000);
	}
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[3], argv + 3);
	fprintf(stderr, "kemu-watchdog: cannot exec %s: %s\n", argv[3], strerror(errno));
	return 1;
}
