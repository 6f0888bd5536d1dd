/*
 * kemu-sandbox: set up one pod sandbox, then become its holder.
 *
 *   kemu-sandbox NETNS_FILE HOSTNAME TAG ERR_FILE -- HOLDER [ARGS...]   (ip -batch lines on stdin)
 *
 * In order: new network, UTS and IPC namespaces; the network namespace bind-mounted on NETNS_FILE
 * (what `ip netns add` does, so `ip netns exec` works); the hostname; net.ipv4.ip_forward=0; the pod
 * side of the network with one `ip -batch -` run inside. Then it reports `<pid> ok <TAG>` on stdout
 * (or `<pid> fail <TAG> <reason>`), puts stdio on /dev/null and execs HOLDER (catatonit -P) in place,
 * so the holder keeps this pid and these namespaces.
 *
 * One static exec instead of unshare + sh: kemu starts hundreds of these and every exec costs.
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

static const char *tag = "?";

static void fail(const char *what, const char *detail)
{
	dprintf(1, "%d fail %s %s: %s\n", getpid(), tag, what, detail);
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc < 7 || strcmp(argv[5], "--")) {
		fprintf(stderr, "usage: kemu-sandbox NETNS_FILE HOSTNAME TAG ERR_FILE -- HOLDER [ARGS...]\n");
		return 2;
	}
	const char *netns = argv[1], *host = argv[2], *err = argv[4];
	tag = argv[3];

	if (unshare(CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
		fail("unshare", strerror(errno));
	if (mount("/proc/self/ns/net", netns, NULL, MS_BIND, NULL) < 0)
		fail(netns, strerror(errno));
	if (sethostname(host, strlen(host)) < 0)
		fail("sethostname", strerror(errno));
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		fail("ip_forward", strerror(errno));
	close(fd);

	pid_t pid = fork();
	if (pid < 0)
		fail("fork", strerror(errno));
	if (pid == 0) {
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (e >= 0) {
			dup2(e, 1);
			dup2(e, 2);
		}
		execlp("ip", "ip", "-batch", "-", (char *)NULL);
		_exit(127);
	}
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
