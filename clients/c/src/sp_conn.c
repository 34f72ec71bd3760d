/* sp_conn.c - see sp_conn.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sp.h"
#include "sp_conn.h"

int64_t
mps__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int       busy_us;
static pthread_once_t busy_once = PTHREAD_ONCE_INIT;

static void
busy_init(void)
{
	const char *e = getenv("MPSTORE_BUSY_POLL_US");
	char       *end;
	long        v = e != NULL && *e != '\0' ? strtol(e, &end, 10) : -1;
	if (e != NULL && *e != '\0' && *end == '\0' && v >= 0 && v <= 10000) {
		busy_us = (int) v;
	} else {
		/* waiting without sleeping pays only when the daemon runs on
		 * another CPU than this thread */
		busy_us = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 30 : 0;
	}
}

int
mps__busy_poll_us(void)
{
	pthread_once(&busy_once, busy_init);
	return busy_us;
}

int
mps__sp_spin(int fd, int us)
{
	struct pollfd   p = {.fd = fd, .events = POLLIN};
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (poll(&p, 1, 0) != 0) {
			return 1; /* readable, or an error the read will report */
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 >= us) {
			return 0;
		}
	}
}

int64_t
mps__deadline(int64_t timeout_ms)
{
	if (timeout_ms < 0) {
		return -1;
	}
	int64_t now = mps__now_ms();
	return timeout_ms > INT64_MAX - now ? -1 : now + timeout_ms;
}

int
mps__poll_ms(int64_t deadline)
{
	if (deadline < 0) {
		return -1;
	}
	int64_t left = deadline - mps__now_ms();
	return left <= 0 ? 0 : left > 1000000000 ? 1000000000 : (int) left;
}

/* ---- addresses ---- */

int
mps__sp_scheme(const char *url)
{
	return url != NULL && (strncmp(url, "ipc://", 6) == 0 || strncmp(url, "tcp://", 6) == 0);
}

int
mps__addr_parse(const char *url, mps__addr *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->url, sizeof(a->url), "%s", url);
	if (strncmp(url, "ipc://", 6) == 0) {
		const char *p = url + 6;
		if (p[0] == '\0' || strlen(p) >= sizeof(a->path)) {
			snprintf(err, errlen, "%s: the socket path must be 1 to %zu bytes", url,
			    sizeof(a->path) - 1);
			return -1;
		}
		a->ipc = 1;
		snprintf(a->path, sizeof(a->path), "%s", p);
		return 0;
	}
	if (strncmp(url, "tcp://", 6) != 0) {
		snprintf(err, errlen, "%s: not an ipc:// or tcp:// address", url);
		return -1;
	}
	const char *h = url + 6, *colon, *hend;
	if (h[0] == '[') {
		hend = strchr(h, ']');
		if (hend == NULL || hend[1] != ':') {
			snprintf(err, errlen, "%s: expected tcp://[address]:port", url);
			return -1;
		}
		colon = hend + 1;
		h++;
	} else {
		colon = strrchr(h, ':');
		hend  = colon;
	}
	if (colon == NULL || hend == h || (size_t) (hend - h) >= sizeof(a->host) ||
	    colon[1] == '\0' || strlen(colon + 1) >= sizeof(a->port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || (hend - h == 1 && h[0] == '*')) {
		snprintf(err, errlen, "%s: expected tcp://host:port", url);
		return -1;
	}
	memcpy(a->host, h, (size_t) (hend - h));
	snprintf(a->port, sizeof(a->port), "%s", colon + 1);
	return 0;
}

/* ---- dialing ---- */

static const char *
proto_name(int p)
{
	switch (p) {
	case MPS_SP_PUB0: return "PUB0";
	case MPS_SP_SUB0: return "SUB0";
	case MPS_SP_REQ0: return "REQ0";
	case MPS_SP_REP0: return "REP0";
	case 0x10: return "PAIR0";
	case 0x11: return "PAIR1";
	case 0x50: return "PUSH0";
	case 0x51: return "PULL0";
	case 0x62: return "SURVEYOR0";
	case 0x63: return "RESPONDENT0";
	case 0x70: return "BUS0";
	default: return "unknown";
	}
}

int
mps__sp_wait(int fd, short ev, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = ev};
	for (;;) {
		int rv = poll(&p, 1, mps__poll_ms(deadline));
		if (rv > 0) {
			return 1;
		}
		if (rv == 0) {
			return 0;
		}
		if (errno != EINTR) {
			return 1; /* let the read or write report it */
		}
	}
}

/* A non-blocking connect to one address, finished before deadline. */
static int
connect_one(int family, const struct sockaddr *sa, socklen_t len, int64_t deadline, int *err)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, sa, len) != 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			*err = errno;
			close(fd);
			return -1;
		}
		if (mps__sp_wait(fd, POLLOUT, deadline) == 0) {
			*err = ETIMEDOUT;
			close(fd);
			return -1;
		}
		int       so = 0;
		socklen_t sl = sizeof(so);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) != 0 || so != 0) {
			*err = so != 0 ? so : errno;
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int
connect_addr(const mps__addr *a, int64_t deadline, mps_err *kind, char *err, size_t errlen)
{
	int e = 0, fd = -1;
	if (a->ipc) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, a->path, strlen(a->path));
		fd = connect_one(AF_UNIX, (struct sockaddr *) &sun, sizeof(sun), deadline, &e);
	} else {
		struct addrinfo hints, *res = NULL;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family   = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags    = AI_NUMERICSERV;
		int gr            = getaddrinfo(a->host, a->port, &hints, &res);
		if (gr != 0) {
			*kind = MPS_ERR_CONNECT;
			snprintf(err, errlen, "cannot connect to %s: %s", a->url, gai_strerror(gr));
			return -1;
		}
		e = ENOENT;
		for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
			fd = connect_one(ai->ai_family, ai->ai_addr, ai->ai_addrlen, deadline, &e);
		}
		freeaddrinfo(res);
		if (fd >= 0) {
			int one = 1; /* a request is one write: send it now */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
	}
	if (fd < 0) {
		*kind = e == ETIMEDOUT ? MPS_ERR_TIMEOUT : MPS_ERR_CONNECT;
		snprintf(err, errlen, "cannot connect to %s: %s", a->url, strerror(e));
	}
	return fd;
}

int
mps__sp_dial(const mps__addr *a, int proto, int peer, int64_t deadline, mps_err *kind,
    char *err, size_t errlen)
{
	int fd = connect_addr(a, deadline, kind, err, errlen);
	if (fd < 0) {
		return -1;
	}
	uint8_t      mine[MPS_SP_HANDSHAKE_LEN], theirs[MPS_SP_HANDSHAKE_LEN];
	struct iovec iov = {mine, sizeof(mine)};
	size_t       got = 0;
	mps_sp_handshake(mine, (uint16_t) proto);
	if (mps__sp_write(fd, &iov, 1, deadline) != 0) {
		*kind = errno == ETIMEDOUT ? MPS_ERR_TIMEOUT : MPS_ERR_CONNECT;
		if (errno == EPIPE || errno == ECONNRESET) {
			snprintf(err, errlen, "%s closed the connection during the SP handshake", a->url);
		} else {
			snprintf(err, errlen, "%s: cannot send the SP header: %s", a->url, strerror(errno));
		}
		goto fail;
	}
	while (got < sizeof(theirs)) {
		ssize_t n = recv(fd, theirs + got, sizeof(theirs) - got, 0);
		if (n > 0) {
			got += (size_t) n;
		} else if (n == 0 || errno == ECONNRESET) {
			*kind = MPS_ERR_CONNECT;
			snprintf(err, errlen, "%s closed the connection during the SP handshake", a->url);
			goto fail;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (mps__sp_wait(fd, POLLIN, deadline) == 0) {
				*kind = MPS_ERR_TIMEOUT;
				snprintf(err, errlen, "%s sent no SP header in time", a->url);
				goto fail;
			}
		} else {
			*kind = MPS_ERR_CONNECT;
			snprintf(err, errlen, "%s: SP handshake: %s", a->url, strerror(errno));
			goto fail;
		}
	}
	int p = mps_sp_handshake_parse(theirs);
	if (p < 0) {
		*kind = MPS_ERR_PROTOCOL;
		snprintf(err, errlen,
		    "%s is not an SP peer (its first bytes: %02x %02x %02x %02x %02x %02x %02x %02x)",
		    a->url, theirs[0], theirs[1], theirs[2], theirs[3], theirs[4], theirs[5],
		    theirs[6], theirs[7]);
		goto fail;
	}
	if (p != peer) {
		*kind = MPS_ERR_PROTOCOL;
		snprintf(err, errlen, "%s speaks SP protocol 0x%02x (%s), not %s as a %s needs",
		    a->url, p, proto_name(p), proto_name(peer), proto_name(proto));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* ---- writing ---- */

int
mps__sp_write(int fd, struct iovec *iov, int n, int64_t deadline)
{
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	while (n > 0) {
		mh.msg_iov    = iov;
		mh.msg_iovlen = (size_t) n;
		ssize_t w     = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN) {
				return -1;
			}
			if (mps__sp_wait(fd, POLLOUT, deadline) == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		size_t done = (size_t) w;
		while (n > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *) iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* ---- reading ---- */

void
mps__rd_init(mps__rd *r, int ipc, uint64_t max)
{
	memset(r, 0, offsetof(mps__rd, in));
	r->ipc = ipc;
	r->max = max;
}

void
mps__rd_reset(mps__rd *r)
{
	free(r->body);
	r->body     = NULL;
	r->inframe  = 0;
	r->bodylen  = 0;
	r->bodyhave = r->bodycap = 0;
	r->ipos = r->iend = 0;
}

void
mps__rd_fini(mps__rd *r)
{
	mps__rd_reset(r);
}

/* Room for the body to hold `want` more bytes: grow geometrically, never
 * past the announced length (which was checked against max). */
static int
body_room(mps__rd *r, size_t want)
{
	size_t need = r->bodyhave + want;
	if (need <= r->bodycap) {
		return 0;
	}
	size_t cap = r->bodycap ? r->bodycap : 256;
	while (cap < need) {
		cap *= 2;
	}
	if (cap > r->bodylen) {
		cap = (size_t) r->bodylen;
	}
	uint8_t *nb = realloc(r->body, cap ? cap : 1);
	if (nb == NULL) {
		return -1;
	}
	r->body    = nb;
	r->bodycap = cap;
	return 0;
}

int
mps__rd_fill(mps__rd *r, int fd)
{
	uint8_t *dst;
	size_t   room;
	size_t   left = r->inframe ? (size_t) (r->bodylen - r->bodyhave) : 0;
	if (r->inframe && r->ipos == r->iend && left >= sizeof(r->in)) {
		/* a big body: read straight into it */
		if (body_room(r, left < (size_t) 1 << 20 ? left : (size_t) 1 << 20) != 0) {
			errno = ENOMEM;
			return -1;
		}
		dst  = r->body + r->bodyhave;
		room = r->bodycap - r->bodyhave;
	} else {
		if (r->ipos > 0) {
			memmove(r->in, r->in + r->ipos, r->iend - r->ipos);
			r->iend -= r->ipos;
			r->ipos = 0;
		}
		dst  = r->in + r->iend;
		room = sizeof(r->in) - r->iend;
	}
	for (;;) {
		ssize_t n = recv(fd, dst, room, 0);
		if (n > 0) {
			if (dst == r->in + r->iend) {
				r->iend += (size_t) n;
			} else {
				r->bodyhave += (size_t) n;
			}
			return 1;
		}
		if (n == 0) {
			errno = 0;
			return -1;
		}
		if (errno == EINTR) {
			continue;
		}
		return errno == EAGAIN ? 0 : -1;
	}
}

int
mps__rd_next(mps__rd *r, uint8_t **body, size_t *len, const char **why)
{
	if (!r->inframe) {
		size_t   hl;
		uint64_t bl;
		int      rv = mps_sp_frame(r->in + r->ipos, r->iend - r->ipos, r->ipc, r->max, &hl, &bl);
		if (rv < 0) {
			*why = r->ipc && r->in[r->ipos] != 1 ? "a frame of a type other than 1 (ipc)"
			                                      : "a frame longer than the library accepts";
			return -1;
		}
		if (rv == 0) {
			return 0;
		}
		r->ipos += hl;
		r->bodylen  = bl;
		r->bodyhave = 0;
		r->bodycap  = 0;
		size_t first = r->iend - r->ipos;
		r->inframe   = 1;
		if (bl == 0) {
			r->body = malloc(1);
		} else {
			(void) body_room(r, first == 0 ? 1 : first < bl ? first : (size_t) bl);
		}
		if (r->body == NULL) {
			*why = "out of memory for a frame";
			return -1;
		}
	}
	size_t want = (size_t) (r->bodylen - r->bodyhave), have = r->iend - r->ipos;
	size_t n    = want < have ? want : have;
	if (n > 0) {
		if (body_room(r, n) != 0) {
			*why = "out of memory for a frame";
			return -1;
		}
		memcpy(r->body + r->bodyhave, r->in + r->ipos, n);
		r->bodyhave += n;
		r->ipos += n;
	}
	if (r->bodyhave < r->bodylen) {
		return 0;
	}
	*body      = r->body;
	*len       = (size_t) r->bodylen;
	r->body    = NULL;
	r->inframe = 0;
	r->bodylen = 0;
	r->bodyhave = r->bodycap = 0;
	return 1;
}

int
mps__rd_ready(const mps__rd *r)
{
	size_t have = r->iend - r->ipos;
	if (r->inframe) {
		return r->bodyhave + have >= r->bodylen;
	}
	size_t   hl;
	uint64_t bl;
	int      rv = mps_sp_frame(r->in + r->ipos, have, r->ipc, r->max, &hl, &bl);
	return rv < 0 || (rv == 1 && have - hl >= bl);
}
