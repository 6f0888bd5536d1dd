/*
 * kemu-netexec: the default "container" of every kemu pod. A tiny static
 * server that speaks the agnhost `netexec` HTTP and UDP protocols.
 * Single-threaded poll() loop, fixed connection table, no allocation per
 * request. See README.md for flags and endpoints.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTEN 64
#define MAX_CONN   512
#define RBUF       8192            /* request head limit */
#define WBUF       (RBUF + 1024)   /* largest body is a copy of request bytes */
#define IDLE_MS    30000
#define LINGER_MS  2000
#define MAX_BYTES  (64ULL << 20)
#define MAX_PROBE_PATHS 16

struct conn {
	int fd;                 /* -1: free slot */
	char *rbuf, *wbuf;      /* one mmap per connection, returned on close */
	size_t rlen, woff, wlen;
	unsigned long long stream; /* /bytes payload still to send after wbuf */
	unsigned long long skip;   /* request body bytes still to discard */
	int eof, close_after, draining, exit_code;
	int lidx;               /* the listener that accepted it */
	long long deadline;
	char peer[32];
};

struct req {
	char *method, *target, *hdrs, *end; /* head split into NUL-terminated lines */
	size_t plen;            /* length of the path part of target */
	int head, http10, keep;
};

/* hstatus != 0: a fixed-answer port (kube-proxy's health check node port), any path gets hstatus/hbody. */
static struct { int fd, udp, port, hstatus; const char *hbody; } lis[MAX_LISTEN];
static int nlis, quiet;
/* --probe-path: paths that answer 200 "ok" (500 once /kemu/fail-probes was asked for). */
static const char *probe_paths[MAX_PROBE_PATHS];
static int nprobe, probes_failing;
/* --exit-after / --exit-code / --exit-file: a process that ends (a Job's), and where its code goes. */
static long long exit_after_ms = -1, exit_at = -1;
static int exit_code_after;
static const char *exit_file;
/* SIGTERM: stop listening, finish the open connections, then exit 143. */
static volatile sig_atomic_t term_requested;
static int terminating;
static struct conn conns[MAX_CONN];
static struct pollfd pfd[MAX_LISTEN + MAX_CONN];
static int owner[MAX_LISTEN + MAX_CONN];
static char xs[16384];     /* filler for /bytes, streamed straight from here */
static char scratch[RBUF]; /* decoded query values */
static long long now;

static void logline(const char *fmt, ...)
{
	char b[512];
	va_list ap;
	if (quiet)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof b - 1, fmt, ap);
	va_end(ap);
	n = n < 0 ? 0 : n > (int)sizeof b - 2 ? (int)sizeof b - 2 : n;
	b[n++] = '\n';
	(void)!write(2, b, n);
}

/* Exit with `code`, first writing it to --exit-file (kemu reads it as the container's exit code). */
static void finish(int code)
{
	if (exit_file) {
		char b[16];
		int fd = open(exit_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int n = snprintf(b, sizeof b, "%d\n", code);
		if (fd >= 0) {
			(void)!write(fd, b, (size_t)n);
			close(fd);
		}
	}
	exit(code);
}

/* Copy attacker-controlled text for logging: bounded, no control chars. */
static const char *clean(char *dst, size_t cap, const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n && i + 1 < cap; i++)
		dst[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	dst[i] = 0;
	return dst;
}

static const char *hostname(void)
{
	static char h[256];
	if (gethostname(h, sizeof h - 1) < 0)
		strcpy(h, "unknown");
	return h;
}

static void addr_str(char *dst, size_t cap, const struct sockaddr_in *sa)
{
	char ip[INET_ADDRSTRLEN] = "?";
	inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip);
	snprintf(dst, cap, "%s:%u", ip, ntohs(sa->sin_port));
}

static void close_conn(struct conn *c)
{
	close(c->fd);
	munmap(c->rbuf, RBUF + WBUF);
	c->fd = -1;
}

static int parse_num(const char *s, long long min, long long max, long long *out)
{
	char *e;
	if (!*s)
		return -1;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (errno || *e || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int hexval(unsigned char ch)
{
	return isdigit(ch) ? ch - '0' : isxdigit(ch) ? (ch | 32) - 'a' + 10 : -1;
}

/* URL-decoded value of query parameter `name` in scratch (NUL-terminated),
 * its length, or -1 if absent. */
static long get_param(const struct req *r, const char *name)
{
	const char *q = r->target + r->plen, *end = q + strlen(q);
	size_t nl = strlen(name);
	if (*q == '?')
		q++;
	while (q < end) {
		const char *amp = memchr(q, '&', end - q);
		if (!amp)
			amp = end;
		if ((size_t)(amp - q) >= nl && !memcmp(q, name, nl) && (q + nl == amp || q[nl] == '=')) {
			size_t o = 0;
			for (const char *p = q + nl + (q + nl < amp); p < amp; p++) {
				int hi, lo;
				if (*p == '+')
					scratch[o++] = ' ';
				else if (*p == '%' && amp - p > 2 && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0)
					scratch[o++] = (char)(hi << 4 | lo), p += 2;
				else
					scratch[o++] = *p;
			}
			scratch[o] = 0;
			return (long)o;
		}
		q = amp + 1;
	}
	scratch[0] = 0;
	return -1;
}

/* Value of header `name` (case-insensitive), trimmed, or NULL. */
static char *get_header(const struct req *r, const char *name)
{
	size_t nl = strlen(name);
	for (char *p = r->hdrs; p < r->end; p += strlen(p) + 1) {
		if (strncasecmp(p, name, nl) || p[nl] != ':')
			continue;
		char *v = p + nl + 1, *e = v + strlen(v);
		while (e > v && isspace((unsigned char)e[-1]))
			*--e = 0;
		return v + strspn(v, " \t");
	}
	return NULL;
}

static const char *reason(int s)
{
	static const struct { int code; const char *text; } t[] = {
		{100, "Continue"}, {200, "OK"}, {201, "Created"}, {202, "Accepted"}, {204, "No Content"},
		{301, "Moved Permanently"}, {302, "Found"}, {304, "Not Modified"}, {400, "Bad Request"},
		{401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
		{408, "Request Timeout"}, {429, "Too Many Requests"}, {431, "Request Header Fields Too Large"},
		{500, "Internal Server Error"}, {502, "Bad Gateway"}, {503, "Service Unavailable"},
		{504, "Gateway Timeout"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].code == s)
			return t[i].text;
	return "Status";
}

static void put(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	if (c->wlen + 1 >= WBUF)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(c->wbuf + c->wlen, WBUF - c->wlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->wlen += (size_t)n < WBUF - c->wlen ? (size_t)n : WBUF - c->wlen - 1;
}

static void respond(struct conn *c, const struct req *r, int status, const char *body, size_t blen,
		    unsigned long long stream)
{
	char t[200];
	int keep = r->keep && !c->eof, code = status;
	logline("tcp %s %s %s %d", c->peer, r->method ? r->method : "-",
		r->target ? clean(t, sizeof t, r->target, strlen(r->target)) : "-", status);
	if (status < 200) { /* 1xx is never final: send it as interim, then 200 */
		put(c, "HTTP/1.1 %d %s\r\n\r\n", status, reason(status));
		status = 200;
	}
	int nobody = status == 204 || status == 304;
	put(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n", status, reason(status));
	if (!nobody)
		put(c, "Content-Length: %llu\r\n", (unsigned long long)blen + stream);
	if (code == 405)
		put(c, "Allow: GET, HEAD\r\n");
	put(c, keep ? (r->http10 ? "Connection: keep-alive\r\n\r\n" : "\r\n") : "Connection: close\r\n\r\n");
	if (!r->head && !nobody) {
		if (blen > WBUF - c->wlen)
			blen = WBUF - c->wlen;
		memcpy(c->wbuf + c->wlen, body, blen);
		c->wlen += blen;
		c->stream = stream;
	}
	if (!keep)
		c->close_after = 1;
}

#define TEXT(c, r, st, s) respond(c, r, st, s, strlen(s), 0)
#define FAIL(st, s) do { TEXT(c, &r, st, s); return; } while (0)

static int path_is(const struct req *r, const char *p)
{
	return r->plen == strlen(p) && !memcmp(r->target, p, r->plen);
}

/* Handle the request whose head occupies rbuf[0..hl). */
static void handle(struct conn *c, size_t hl)
{
	struct req r = {0};
	char *line = c->rbuf, *sp1, *sp2, *v;
	long long n;

	for (size_t i = 0; i < hl; i++)
		if (line[i] == '\r' || line[i] == '\n')
			line[i] = 0;
	r.hdrs = line + strlen(line) + 1;
	r.end = line + hl;
	if (!(sp1 = strchr(line, ' ')) || !(sp2 = strchr(sp1 + 1, ' ')) || strchr(sp2 + 1, ' ') ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) || sp1 == line || sp2 == sp1 + 1)
		FAIL(400, "400 bad request");
	*sp1 = *sp2 = 0;
	r.method = line;
	r.target = sp1 + 1;
	r.plen = strcspn(r.target, "?");
	r.http10 = !strcmp(sp2 + 1, "HTTP/1.0");
	r.head = !strcmp(r.method, "HEAD");
	v = get_header(&r, "Connection");
	r.keep = r.http10 ? v && strcasestr(v, "keep-alive") : !v || !strcasestr(v, "close");
	if (get_header(&r, "Transfer-Encoding"))
		r.keep = 0; /* chunked body: not worth parsing, just close afterwards */
	if ((v = get_header(&r, "Content-Length"))) {
		char *e;
		c->skip = strtoull(v, &e, 10);
		if (!isdigit((unsigned char)*v) || *e) {
			r.keep = 0;
			FAIL(400, "400 bad content-length");
		}
	}

	if (strcmp(r.method, "GET") && !r.head)
		FAIL(405, "405 method not allowed");
	if (lis[c->lidx].hstatus)
		FAIL(lis[c->lidx].hstatus, lis[c->lidx].hbody);
	if (terminating)
		r.keep = 0; /* draining: every response closes its connection */
	for (int i = 0; i < nprobe; i++)
		if (path_is(&r, probe_paths[i])) {
			if (probes_failing)
				FAIL(500, "probe failing");
			TEXT(c, &r, 200, "ok");
			return;
		}
	if (path_is(&r, "/kemu/fail-probes")) {
		probes_failing = 1;
		TEXT(c, &r, 200, "probes failing");
	} else if (path_is(&r, "/kemu/pass-probes")) {
		probes_failing = 0;
		TEXT(c, &r, 200, "probes passing");
	} else if (path_is(&r, "/")) {
		struct timespec ts;
		struct tm tm;
		char b[96];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		size_t k = strftime(b, sizeof b, "NOW: %Y-%m-%d %H:%M:%S", &tm);
		snprintf(b + k, sizeof b - k, ".%09ld +0000 UTC", ts.tv_nsec);
		TEXT(c, &r, 200, b);
	} else if (path_is(&r, "/hostname") || path_is(&r, "/hostName")) {
		TEXT(c, &r, 200, hostname());
	} else if (path_is(&r, "/clientip")) {
		TEXT(c, &r, 200, c->peer);
	} else if (path_is(&r, "/healthz") || path_is(&r, "/readyz")) {
		TEXT(c, &r, 200, "ok");
	} else if (path_is(&r, "/echo")) {
		n = 200;
		if (get_param(&r, "code") >= 0 && parse_num(scratch, 100, 599, &n) < 0)
			FAIL(400, "400 invalid code");
		long ml = get_param(&r, "msg");
		respond(c, &r, (int)n, scratch, ml < 0 ? 0 : ml, 0);
	} else if (path_is(&r, "/header")) {
		v = get_param(&r, "key") > 0 ? get_header(&r, scratch) : NULL;
		TEXT(c, &r, 200, v ? v : "");
	} else if (path_is(&r, "/headers")) {
		/* The request line and every header as received (proxies' X-Forwarded-*, rewritten paths). */
		size_t o = (size_t)snprintf(scratch, sizeof scratch, "%s %s %s\n", r.method, r.target, sp2 + 1);
		for (char *p = r.hdrs; p < r.end && o < sizeof scratch; p += strlen(p) + 1)
			if (*p)
				o += (size_t)snprintf(scratch + o, sizeof scratch - o, "%s\n", p);
		respond(c, &r, 200, scratch, o < sizeof scratch ? o : sizeof scratch - 1, 0);
	} else if (path_is(&r, "/exit")) {
		n = 0;
		if (get_param(&r, "code") >= 0 && parse_num(scratch, 0, 255, &n) < 0)
			FAIL(400, "400 invalid exit code");
		r.keep = 0;
		c->exit_code = (int)n;
		TEXT(c, &r, 200, "exiting");
	} else if (path_is(&r, "/bytes")) {
		if (get_param(&r, "n") < 0 || parse_num(scratch, 0, MAX_BYTES, &n) < 0)
			FAIL(400, "400 n must be 0..67108864");
		respond(c, &r, 200, "", 0, (unsigned long long)n);
	} else {
		TEXT(c, &r, 404, "404 page not found");
	}
}

/* Send pending output; on completion exit, linger-close, or stay idle. */
static void flush(struct conn *c)
{
	while (c->woff < c->wlen || c->stream) {
		ssize_t n;
		if (c->woff < c->wlen)
			n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
		else
			n = write(c->fd, xs, c->stream < sizeof xs ? c->stream : sizeof xs);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				close_conn(c);
			return;
		}
		if (c->woff < c->wlen)
			c->woff += n;
		else
			c->stream -= n;
		c->deadline = now + IDLE_MS;
	}
	c->woff = c->wlen = 0;
	if (c->exit_code >= 0)
		finish(c->exit_code);
	if (c->close_after && !c->draining) {
		if (c->eof) {
			close_conn(c);
			return;
		}
		/* Half-close and read until the client closes, so that unread
		 * request bytes cannot make the kernel RST our response away. */
		shutdown(c->fd, SHUT_WR);
		c->draining = 1;
		c->rlen = 0;
		c->deadline = now + LINGER_MS;
	}
}

/* Length of the request head including the blank line, or 0 if incomplete. */
static size_t head_len(const char *b, size_t n)
{
	for (const char *p = b; (p = memchr(p, '\n', b + n - p)); p++) {
		if (p + 1 < b + n && p[1] == '\n')
			return p + 2 - b;
		if (p + 2 < b + n && p[1] == '\r' && p[2] == '\n')
			return p + 3 - b;
	}
	return 0;
}

/* Serve buffered requests one at a time, each only once the previous
 * response has been fully sent. */
static void process(struct conn *c)
{
	while (c->fd >= 0 && !c->close_after && c->woff == c->wlen && !c->stream) {
		size_t drop = c->skip < c->rlen ? c->skip : c->rlen, hl;
		c->skip -= drop;
		if (!c->skip) /* tolerate stray CRLFs between requests */
			while (drop < c->rlen && (c->rbuf[drop] == '\r' || c->rbuf[drop] == '\n'))
				drop++;
		memmove(c->rbuf, c->rbuf + drop, c->rlen -= drop);
		if (!(hl = head_len(c->rbuf, c->rlen))) {
			if (c->rlen == RBUF) {
				struct req r = {0};
				TEXT(c, &r, 431, "431 request header fields too large");
				flush(c);
			}
			return;
		}
		handle(c, hl);
		memmove(c->rbuf, c->rbuf + hl, c->rlen -= hl);
		flush(c);
	}
}

static void on_read(struct conn *c)
{
	ssize_t n = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			close_conn(c);
		return;
	}
	if (c->draining) {
		if (n == 0)
			close_conn(c);
		else
			c->rlen = 0;
		return;
	}
	if (n == 0)
		c->eof = 1;
	c->rlen += n;
	c->deadline = now + IDLE_MS;
	process(c);
	if (c->fd >= 0 && c->eof && c->woff == c->wlen && !c->stream)
		close_conn(c);
}

static void on_accept(int lidx)
{
	int lfd = lis[lidx].fd;
	for (int k = 0; k < 64; k++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof sa;
		int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC), i, one = 1;
		if (fd < 0)
			return;
		for (i = 0; i < MAX_CONN && conns[i].fd >= 0; i++)
			;
		void *mem = i < MAX_CONN ? mmap(NULL, RBUF + WBUF, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
		if (mem == MAP_FAILED) { /* table full: refuse */
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = &conns[i];
		memset(c, 0, sizeof *c);
		c->fd = fd;
		c->rbuf = mem;
		c->wbuf = c->rbuf + RBUF;
		c->exit_code = -1;
		c->lidx = lidx;
		c->deadline = now + IDLE_MS;
		addr_str(c->peer, sizeof c->peer, &sa);
	}
}

static void on_udp(int fd)
{
	static char buf[2048];
	for (int k = 0; k < 64; k++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof sa;
		char peer[32], low[16], t[80];
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&sa, &sl);
		if (n < 0)
			return;
		char *s = buf, *e = buf + n;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		size_t len = e - s, i, rl = 0;
		for (i = 0; i < len && i < sizeof low - 1; i++)
			low[i] = tolower((unsigned char)s[i]);
		low[i] = 0;
		const char *reply = NULL;
		addr_str(peer, sizeof peer, &sa);
		if (!strcmp(low, "hostname"))
			reply = hostname(), rl = strlen(reply);
		else if (!strcmp(low, "clientip"))
			reply = peer, rl = strlen(peer);
		else if (len > 5 && !memcmp(low, "echo ", 5))
			reply = s + 5, rl = len - 5;
		if (reply)
			sendto(fd, reply, rl, MSG_DONTWAIT, (struct sockaddr *)&sa, sl);
		logline("udp %s %s%s", peer, clean(t, sizeof t, s, len), reply ? "" : " (no reply)");
	}
}

/* Index of the listener for proto/port, added unless already there. */
static int add_port(const char *proto, const char *arg)
{
	long long p;
	if (!arg || parse_num(arg, 1, 65535, &p) < 0) {
		fprintf(stderr, "kemu-netexec: invalid --%s port: %s\n", proto, arg ? arg : "(missing)");
		exit(2);
	}
	int udp = proto[0] == 'u';
	for (int i = 0; i < nlis; i++)
		if (lis[i].udp == udp && lis[i].port == p)
			return i;
	if (nlis == MAX_LISTEN) {
		fprintf(stderr, "kemu-netexec: too many ports (max %d)\n", MAX_LISTEN);
		exit(2);
	}
	lis[nlis].udp = udp;
	lis[nlis].port = (int)p;
	return nlis++;
}

/* --health PORT:STATUS:BODY */
static void add_health(const char *arg)
{
	long long st;
	char port[8];
	const char *c1 = arg ? strchr(arg, ':') : NULL, *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char code[8];
	if (!c2 || c1 - arg >= (long)sizeof port || c2 - c1 - 1 >= (long)sizeof code) {
		fprintf(stderr, "kemu-netexec: invalid --health, want PORT:STATUS:BODY: %s\n", arg ? arg : "(missing)");
		exit(2);
	}
	memcpy(port, arg, c1 - arg);
	port[c1 - arg] = 0;
	memcpy(code, c1 + 1, c2 - c1 - 1);
	code[c2 - c1 - 1] = 0;
	if (parse_num(code, 200, 599, &st) < 0) {
		fprintf(stderr, "kemu-netexec: invalid --health status: %s\n", code);
		exit(2);
	}
	int i = add_port("tcp", port);
	lis[i].hstatus = (int)st;
	lis[i].hbody = c2 + 1;
}

/* --join PID: enter PID's network, UTS and IPC namespaces (a pod holder's), as nsenter would, and its
 * mount namespace when it has its own (a pod with the kubelet's resolv.conf and hosts bound in). */
static void join(const char *pid)
{
	static const char *const kinds[] = {"net", "uts", "ipc", "mnt"};
	char path[64];
	for (int k = 0; k < 4; k++) {
		snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, kinds[k]);
		if (k == 3) {
			struct stat theirs, ours;
			if (stat(path, &theirs) == 0 && stat("/proc/self/ns/mnt", &ours) == 0 && theirs.st_ino == ours.st_ino)
				break;
		}
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, 0) < 0) {
			fprintf(stderr, "kemu-netexec: cannot join %s: %s\n", path, strerror(errno));
			exit(1);
		}
		close(fd);
	}
}

static void on_signal(int sig)
{
	if (sig == SIGTERM)
		term_requested = 1;
	else
		_exit(0);
}

/* Parse a duration such as 1500ms, 2s or 1m into milliseconds, or -1. */
static long long parse_duration(const char *s)
{
	char *e;
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (errno || v < 0 || v > 86400000LL)
		return -1;
	if (!strcmp(e, "ms"))
		return v;
	if (!strcmp(e, "s") || !*e)
		return v * 1000;
	if (!strcmp(e, "m"))
		return v * 60000;
	return -1;
}

/* First look at a SIGTERM: close the listeners and every idle connection. */
static void start_terminating(void)
{
	terminating = 1;
	for (int i = 0; i < nlis; i++)
		if (lis[i].fd >= 0) {
			close(lis[i].fd);
			lis[i].fd = -1;
		}
	for (int i = 0; i < MAX_CONN; i++) {
		struct conn *c = &conns[i];
		if (c->fd >= 0 && !c->rlen && c->woff == c->wlen && !c->stream && !c->draining)
			close_conn(c);
	}
}

int main(int argc, char **argv)
{
	const char *join_pid = NULL;
	long long code;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--quiet"))
			quiet = 1;
		else if (!strcmp(a, "--tcp") || !strcmp(a, "--udp"))
			add_port(a + 2, i + 1 < argc ? argv[++i] : NULL);
		else if (!strcmp(a, "--join"))
			join_pid = argv[++i < argc ? i : argc];
		else if (!strcmp(a, "--health"))
			add_health(i + 1 < argc ? argv[++i] : NULL);
		else if (!strcmp(a, "--probe-path") && i + 1 < argc && argv[i + 1][0] == '/' && nprobe < MAX_PROBE_PATHS)
			probe_paths[nprobe++] = argv[++i];
		else if (!strcmp(a, "--exit-after") && i + 1 < argc && (exit_after_ms = parse_duration(argv[i + 1])) >= 0)
			i++;
		else if (!strcmp(a, "--exit-code") && i + 1 < argc && parse_num(argv[i + 1], 0, 255, &code) == 0)
			exit_code_after = (int)code, i++;
		else if (!strcmp(a, "--exit-file") && i + 1 < argc)
			exit_file = argv[++i];
		else if (!strncmp(a, "--tcp=", 6) || !strncmp(a, "--udp=", 6))
			add_port(a[2] == 't' ? "tcp" : "udp", a + 6);
		else {
			fprintf(stderr, "usage: kemu-netexec [--tcp PORT]... [--udp PORT]... [--health PORT:STATUS:BODY]... [--probe-path /PATH]... "
					"[--exit-after DURATION] [--exit-code N] [--exit-file PATH] [--join PID] [--quiet]\n");
			return 2;
		}
	}

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	if (join_pid)
		join(join_pid);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(xs, 'x', sizeof xs);
	for (int i = 0; i < MAX_CONN; i++)
		conns[i].fd = -1;

	for (int i = 0; i < nlis; i++) {
		struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(lis[i].port)};
		int one = 1, fd = socket(AF_INET, (lis[i].udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		/* SO_REUSEADDR only for TCP: on UDP it would let a second process
		 * bind the same port silently instead of failing. */
		if (fd < 0 || (!lis[i].udp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) ||
		    bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || (!lis[i].udp && listen(fd, 1024) < 0)) {
			fprintf(stderr, "kemu-netexec: cannot listen on %s/%d: %s\n", lis[i].udp ? "udp" : "tcp",
				lis[i].port, strerror(errno));
			return 1;
		}
		lis[i].fd = fd;
	}
	/* kemu starts many servers from one launcher; KEMU_READY_TAG tells it which one is ready. */
	const char *tag = getenv("KEMU_READY_TAG");
	char ready[64];
	int len = snprintf(ready, sizeof ready, tag && *tag ? "ready %.40s\n" : "ready\n", tag);
	(void)!write(1, ready, (size_t)len);
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull >= 0)
		dup2(devnull, 1);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	now = t0.tv_sec * 1000LL + t0.tv_nsec / 1000000;
	if (exit_after_ms >= 0)
		exit_at = now + exit_after_ms;
	/* SIGTERM stays blocked except inside ppoll, so it cannot slip in between the check and the wait. */
	sigset_t blocked, waitmask;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigprocmask(SIG_BLOCK, &blocked, &waitmask);
	sigdelset(&waitmask, SIGTERM);

	for (;;) {
		int n = 0, active = 0;
		if (term_requested && !terminating)
			start_terminating();
		for (int i = 0; i < nlis; i++) {
			if (lis[i].fd < 0)
				continue;
			pfd[n] = (struct pollfd){.fd = lis[i].fd, .events = POLLIN};
			owner[n++] = -1 - i;
		}
		for (int i = 0; i < MAX_CONN; i++) {
			struct conn *c = &conns[i];
			if (c->fd < 0)
				continue;
			short ev = (c->woff < c->wlen || c->stream) ? POLLOUT : 0;
			if (c->draining || (!c->eof && c->rlen < RBUF))
				ev |= POLLIN;
			pfd[n] = (struct pollfd){.fd = c->fd, .events = ev};
			owner[n++] = i;
			active++;
		}
		if (terminating && !active)
			finish(143); /* 128 + SIGTERM, as a runtime reports a process that ended on it */
		int timeout = active ? 1000 : -1;
		if (exit_at >= 0) {
			long long left = exit_at - now;
			timeout = left <= 0 ? 0 : (timeout < 0 || left < timeout) ? (int)left : timeout;
		}
		struct timespec tmo = {.tv_sec = timeout / 1000, .tv_nsec = (timeout % 1000) * 1000000L};
		if (ppoll(pfd, n, timeout < 0 ? NULL : &tmo, &waitmask) < 0) {
			if (errno != EINTR) {
				perror("kemu-netexec: poll");
				return 1;
			}
			continue; /* a signal: look at term_requested first */
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
		if (exit_at >= 0 && now >= exit_at)
			finish(exit_code_after);
		for (int k = 0; k < n; k++) {
			short re = pfd[k].revents;
			if (!re)
				continue;
			if (owner[k] < 0) {
				int i = -1 - owner[k];
				lis[i].udp ? on_udp(lis[i].fd) : on_accept(i);
				continue;
			}
			struct conn *c = &conns[owner[k]];
			if (c->fd != pfd[k].fd)
				continue;
			if (re & POLLOUT) {
				flush(c);
				process(c); /* a pipelined request may be waiting */
			}
			if (c->fd >= 0 && (re & POLLIN))
				on_read(c);
			else if (c->fd >= 0 && (re & (POLLERR | POLLHUP | POLLNVAL)) && !(re & POLLOUT))
				close_conn(c);
		}
		/* Draining after SIGTERM, a finished response waits for its client to close: the data it still
		 * has in flight must arrive before the process (and its sandbox) goes. */
		for (int i = 0; i < MAX_CONN; i++)
			if (conns[i].fd >= 0 && now >= conns[i].deadline && !(terminating && conns[i].draining))
				close_conn(&conns[i]);
	}
}
