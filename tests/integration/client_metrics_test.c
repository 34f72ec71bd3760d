/* client_metrics_test.c - `mpstored --metrics`: the page is scraped over
 * HTTP from a plain socket and parsed as the Prometheus text format (every
 * line well-formed, HELP and TYPE before each family's samples, counters
 * named _total, histograms cumulative), its counters go up with the
 * requests made, and the responder is bounded: other paths and methods,
 * garbage, oversized headers and idle connections get errors or are
 * closed, a non-loopback address is refused without --metrics-public. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "client_test_util.h"
#include "support.h"

static mpst_daemon d;
static int         port;
static char        murl[128];

/* A port nobody listens on now (the daemon may still lose a race for it:
 * main tries a few). */
static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t          len = sizeof(sa);
	int                fd = socket(AF_INET, SOCK_STREAM, 0);
	CT_TRUE(fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
	CT_TRUE(getsockname(fd, (struct sockaddr *) &sa, &len) == 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static int
dial(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval     tv = {30, 0};
	int                fd = socket(AF_INET, SOCK_STREAM, 0);
	CT_TRUE(fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Everything the server sends until it closes (NUL-terminated, malloc'd). */
static char *
read_all(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char  *b = malloc(cap);
	ssize_t k;
	while ((k = read(fd, b + n, cap - n - 1)) > 0) {
		n += (size_t) k;
		if (n + 1 == cap) {
			b = realloc(b, cap *= 2);
		}
	}
	CT_TRUE(k == 0 || errno == ECONNRESET); /* closed, not timed out */
	b[n] = '\0';
	*len = n;
	return b;
}

static char *
http(const char *req, size_t *len)
{
	int fd = dial();
	CT_TRUE(write(fd, req, strlen(req)) == (ssize_t) strlen(req));
	char *b = read_all(fd, len);
	close(fd);
	return b;
}

static int
valid_name(const char *s, size_t n, int label)
{
	if (n == 0 || (!isalpha((unsigned char) s[0]) && s[0] != '_' && (label || s[0] != ':'))) {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if (!isalnum((unsigned char) s[i]) && s[i] != '_' && (label || s[i] != ':')) {
			return 0;
		}
	}
	return 1;
}

typedef struct fam {
	char name[96], type[16];
	int  help, samples;
} fam;

typedef struct page {
	fam    f[128];
	int    nf;
	char  *body;
} page;

static fam *
fam_find(page *p, const char *name, size_t n)
{
	for (int i = 0; i < p->nf; i++) {
		if (strlen(p->f[i].name) == n && strncmp(p->f[i].name, name, n) == 0) {
			return &p->f[i];
		}
	}
	return NULL;
}

static fam *
fam_get(page *p, const char *name, size_t n)
{
	fam *f = fam_find(p, name, n);
	if (f != NULL) {
		return f;
	}
	CT_TRUE(p->nf < 128 && n < sizeof(p->f[0].name));
	f = &p->f[p->nf++];
	memset(f, 0, sizeof(*f));
	memcpy(f->name, name, n);
	return f;
}

/* The family a sample belongs to: histograms' _bucket/_sum/_count. */
static fam *
sample_fam(page *p, const char *name, size_t n)
{
	static const char *const suf[] = {"_bucket", "_sum", "_count"};
	for (int i = 0; i < 3; i++) {
		size_t k = strlen(suf[i]);
		if (n > k && memcmp(name + n - k, suf[i], k) == 0) {
			fam *f = fam_find(p, name, n - k);
			if (f != NULL && strcmp(f->type, "histogram") == 0) {
				return f;
			}
		}
	}
	return fam_get(p, name, n);
}

/* Check one line of the text format; fill p. */
static void
check_line(page *p, const char *l)
{
	if (strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0) {
		const char *name = l + 7, *sp = strchr(name, ' ');
		CT_TRUE(sp != NULL && valid_name(name, (size_t) (sp - name), 0));
		fam *f = fam_get(p, name, (size_t) (sp - name));
		CT_TRUE(f->samples == 0); /* before its samples */
		if (l[2] == 'H') {
			CT_TRUE(!f->help && strlen(sp + 1) > 0);
			f->help = 1;
		} else {
			CT_TRUE(f->type[0] == '\0');
			snprintf(f->type, sizeof(f->type), "%s", sp + 1);
			CT_TRUE(strcmp(f->type, "counter") == 0 || strcmp(f->type, "gauge") == 0 ||
			        strcmp(f->type, "histogram") == 0);
			CT_TRUE(strcmp(f->type, "counter") != 0 ||
			        (strlen(f->name) > 6 && strcmp(f->name + strlen(f->name) - 6, "_total") == 0));
		}
		return;
	}
	CT_TRUE(l[0] != '#');
	size_t n = strcspn(l, "{ ");
	CT_TRUE(valid_name(l, n, 0));
	fam *f = sample_fam(p, l, n);
	CT_TRUE(f->help && f->type[0] != '\0'); /* HELP and TYPE came first */
	f->samples++;
	const char *q = l + n;
	if (*q == '{') {
		q++;
		while (*q != '}') {
			size_t k = strcspn(q, "=");
			CT_TRUE(valid_name(q, k, 1) && q[k] == '=' && q[k + 1] == '"');
			for (q += k + 2; *q != '"'; q++) {
				CT_TRUE(*q != '\0' && *q != '\n');
				if (*q == '\\') {
					q++;
					CT_TRUE(*q == '\\' || *q == '"' || *q == 'n');
				}
			}
			q++;
			CT_TRUE(*q == ',' || *q == '}');
			q += *q == ',';
		}
		q++;
	}
	CT_TRUE(*q == ' ');
	char *end;
	strtod(q + 1, &end);
	CT_TRUE(end != q + 1 && *end == '\0');
}

/* The value of a sample (name with its labels as printed), -1 if none. */
static double
value_of(const char *body, const char *sample)
{
	size_t      n = strlen(sample);
	const char *p = body;
	while ((p = strstr(p, sample)) != NULL) {
		if ((p == body || p[-1] == '\n') && p[n] == ' ') {
			return strtod(p + n + 1, NULL);
		}
		p += n;
	}
	return -1;
}

/* Histogram buckets never decrease, and +Inf is the count. */
static void
check_histogram(const char *body, const char *name)
{
	char   want[128];
	double prev = 0;
	snprintf(want, sizeof(want), "%s_bucket{le=\"", name);
	for (const char *p = strstr(body, want); p != NULL; p = strstr(p + 1, want)) {
		const char *v = strchr(p, ' ');
		double      x = strtod(v + 1, NULL);
		CT_TRUE(x >= prev);
		prev = x;
	}
	snprintf(want, sizeof(want), "%s_bucket{le=\"+Inf\"}", name);
	double inf = value_of(body, want);
	snprintf(want, sizeof(want), "%s_count", name);
	CT_TRUE(inf >= 0 && inf == value_of(body, want) && inf == prev);
}

/* Scrape and check the whole page; returns the body (malloc'd). */
static char *
scrape(void)
{
	size_t len;
	char  *r = http("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", &len);
	CT_TRUE(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	char *body = strstr(r, "\r\n\r\n");
	CT_TRUE(body != NULL);
	*body = '\0';
	body += 4;
	CT_TRUE(strstr(r, "Content-Type: text/plain; version=0.0.4") != NULL);
	char cl[64];
	snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body));
	CT_TRUE(strstr(r, cl) != NULL);
	page *p = calloc(1, sizeof(*p));
	CT_TRUE(body[strlen(body) - 1] == '\n');
	for (char *l = body, *nl; *l != '\0'; l = nl + 1) {
		nl = strchr(l, '\n');
		*nl = '\0';
		check_line(p, l);
		*nl = '\n';
	}
	for (int i = 0; i < p->nf; i++) {
		CT_TRUE(p->f[i].help && p->f[i].type[0] != '\0' && p->f[i].samples > 0);
	}
	CT_TRUE(p->nf >= 25);
	free(p);
	check_histogram(body, "mpstore_request_duration_seconds");
	check_histogram(body, "mpstore_commit_duration_seconds");
	char *copy = strdup(body);
	free(r);
	return copy;
}

static void *
getter(void *arg)
{
	mps_client *c = arg;
	mps_value   v;
	CT_OK(mps_queue_get(c, "met.q", -1, &v));
	mps_value_free(&v);
	return NULL;
}

static void
test_counters(void)
{
	mps_client *c;
	CT_OK(mps_open(&c, d.url, 5000));
	CT_OK(mps_create_simple(c, "met.l", MPS_KIND_LIST, MPS_TYPE_INT64));
	char *a = scrape();
	mps_value one = mps_int(1);
	for (int i = 0; i < 25; i++) {
		CT_OK(mps_list_append(c, "met.l", &one, NULL));
	}
	mps_info info;
	for (int i = 0; i < 3; i++) {
		CT_CHECK(mps_info_get(c, "met.missing", &info), MPS_ERR_NOT_FOUND);
	}
	char *b = scrape();
	const char *ok = "mpstore_ops_total{op=\"list_append\",status=\"OK\"}";
	const char *nf = "mpstore_ops_total{op=\"info\",status=\"ERR_NOT_FOUND\"}";
	CT_TRUE(value_of(b, ok) >= value_of(a, ok) + 25);
	CT_TRUE(value_of(b, nf) >= (value_of(a, nf) < 0 ? 0 : value_of(a, nf)) + 3);
	const char *rx = "mpstore_requests_received_total", *hc = "mpstore_request_duration_seconds_count";
	CT_TRUE(value_of(b, rx) >= value_of(a, rx) + 28);
	CT_TRUE(value_of(b, hc) >= value_of(a, hc) + 28);
	const char *cb = "mpstore_commit_batches_total", *cc = "mpstore_commit_duration_seconds_count";
	CT_TRUE(value_of(b, cb) > value_of(a, cb) && value_of(b, cc) > value_of(a, cc));
	CT_TRUE(value_of(b, "mpstore_connections") >= 1);
	CT_TRUE(value_of(b, "mpstore_resident_memory_bytes") > 0);
	CT_TRUE(value_of(b, "mpstore_scrapes_total") == value_of(a, "mpstore_scrapes_total") + 1);
	free(a);
	free(b);
	/* a parked request shows, and goes when answered */
	mps_client *g;
	CT_OK(mps_open(&g, d.url, 5000));
	CT_OK(mps_create_simple(c, "met.q", MPS_KIND_QUEUE, MPS_TYPE_ANY));
	pthread_t t;
	CT_TRUE(pthread_create(&t, NULL, getter, g) == 0);
	for (long long t0 = mpst_now_ms();; mpst_sleep_ms(10)) {
		char *s = scrape();
		double v = value_of(s, "mpstore_parked_requests");
		free(s);
		if (v == 1) {
			break;
		}
		CT_TRUE(mpst_now_ms() - t0 < 60000);
	}
	CT_OK(mps_queue_put(c, "met.q", &one, 0, NULL));
	pthread_join(t, NULL);
	a = scrape();
	CT_TRUE(value_of(a, "mpstore_parked_requests") == 0);
	free(a);
	mps_close(g);
	mps_close(c);
}

static void
test_errors(void)
{
	size_t len;
	char  *r = http("GET /other HTTP/1.0\r\n\r\n", &len);
	CT_TRUE(strncmp(r, "HTTP/1.1 404 ", 13) == 0);
	free(r);
	r = http("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", &len);
	CT_TRUE(strncmp(r, "HTTP/1.1 405 ", 13) == 0 && strstr(r, "Allow: GET, HEAD\r\n") != NULL);
	free(r);
	r = http("garbage\r\n\r\n", &len);
	CT_TRUE(strncmp(r, "HTTP/1.1 400 ", 13) == 0);
	free(r);
	r = http("HEAD /metrics?x=1 HTTP/1.0\n\n", &len); /* bare LFs, a query */
	CT_TRUE(strncmp(r, "HTTP/1.1 200 ", 13) == 0);
	CT_TRUE(strstr(r, "\r\n\r\n") + 4 == r + len && strstr(r, "Content-Length: ") != NULL);
	free(r);
	/* headers that never end: refused once the buffer is full */
	int  fd = dial();
	char junk[1024];
	memset(junk, 'x', sizeof(junk));
	memcpy(junk, "GET /metrics HTTP/1.1\r\nX: ", 26);
	for (int i = 0; i < 9; i++) {
		if (write(fd, junk, sizeof(junk)) < 0) {
			break; /* closed already */
		}
	}
	r = read_all(fd, &len);
	CT_TRUE(strncmp(r, "HTTP/1.1 431 ", 13) == 0);
	free(r);
	close(fd);
}

/* 16 connections at once; more are closed at once; an idle one is closed
 * at its deadline; the daemon serves its clients all along. */
static void
test_bounds(void)
{
	int    idle[16];
	size_t len;
	for (int i = 0; i < 16; i++) {
		idle[i] = dial();
	}
	/* accepted after them, so over the limit: closed, never answered */
	int         extra = dial();
	const char *get = "GET /metrics HTTP/1.0\r\n\r\n";
	(void) !write(extra, get, strlen(get)); /* may find it closed already */
	char *r = read_all(extra, &len);
	CT_TRUE(len == 0);
	free(r);
	close(extra);
	mps_client *c;
	CT_OK(mps_open(&c, d.url, 5000));
	CT_OK(mps_ping(c));
	/* the idle ones are closed at their deadline (10 s) */
	r = read_all(idle[0], &len);
	CT_TRUE(len == 0);
	free(r);
	for (int i = 0; i < 16; i++) {
		close(idle[i]);
	}
	CT_OK(mps_ping(c));
	mps_close(c);
	free(scrape());
}

static void
test_refused(void)
{
	char        u[128], out[2048], err[2048], l[400];
	const char *argv[] = {mpst_mpstored_path(), "--metrics", u, "--listen", l, "--pub", "",
		"--db", ":memory:", NULL};
	snprintf(l, sizeof(l), "ipc://%s/refused.ipc", d.dir);
	snprintf(u, sizeof(u), "http://0.0.0.0:%d/metrics", free_port());
	CT_TRUE(mpst_run(argv, out, sizeof(out), err, sizeof(err)) != 0);
	CT_TRUE(strstr(err, "--metrics-public") != NULL);
	snprintf(u, sizeof(u), "ftp://127.0.0.1:1/x");
	CT_TRUE(mpst_run(argv, out, sizeof(out), err, sizeof(err)) != 0);
	CT_TRUE(strstr(err, "http://HOST:PORT/PATH") != NULL);
	/* a start that fails after the metrics listener is up closes it too
	 * (else the loop would wait on it for ever) */
	const char *argv2[] = {mpst_mpstored_path(), "--metrics", u, "--listen", l, "--pub", "",
		"--db", ":memory:", "--schema", "/nonexistent/x.pb", NULL};
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/metrics", free_port());
	CT_TRUE(mpst_run(argv2, out, sizeof(out), err, sizeof(err)) == 1);
	CT_TRUE(strstr(err, "x.pb") != NULL);
}

static void
stop_daemon(void)
{
	mpst_daemon_cleanup(&d);
}

int
main(void)
{
	ct_on_fail = stop_daemon;
	signal(SIGPIPE, SIG_IGN);
	int started = 0;
	for (int tries = 0; tries < 5 && !started; tries++) {
		port = free_port();
		snprintf(murl, sizeof(murl), "http://127.0.0.1:%d/metrics", port);
		const char *args[] = {"--metrics", murl, NULL};
		started = mpst_daemon_start(&d, args) == 0;
		if (!started) {
			mpst_daemon_cleanup(&d);
		}
	}
	if (!started) {
		fprintf(stderr, "cannot start mpstored (see %s)\n", d.log);
		return 1;
	}
	static const ct_test tests[] = {
		{"counters", test_counters},
		{"errors", test_errors},
		{"bounds", test_bounds},
		{"refused", test_refused},
		{NULL, NULL},
	};
	ct_run(tests);
	mpst_daemon_cleanup(&d);
	return 0;
}
