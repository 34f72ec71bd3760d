/*
 * main.c - mpstored: flags, start-up, signals, shutdown.
 *
 * Start-up binds the listeners first (a second daemon on a served address
 * stops there, touching nothing), then opens and recovers the database,
 * then runs the loop on this thread. SIGINT or SIGTERM: stop reading,
 * drain the commit thread (every acknowledged write is in the database),
 * write the final snapshot, close.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "clients.h"
#include "daemon.h"
#include "mpstore/mpstore.h"
#include "operator.h"
#include "req.h"
#include "session.h"

#define DEFAULT_LISTEN "ipc:///tmp/mpstore.ipc"
#define DEFAULT_PUB    "ipc:///tmp/mpstore-pub.ipc"
#define DEFAULT_DB     "mpstore.db"

/* Loads --schema files; provided by schema.c when linked in. */
int mpsd_schema_start(mpsd_daemon *d, char *err, size_t errlen) __attribute__((weak));
void mpsd_schema_stop(mpsd_daemon *d) __attribute__((weak));

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: mpstored [options]\n"
	    "\n"
	    "Serves shared lists, dicts, counters, queues, locks and more to other\n"
	    "processes over SP (nng's protocols; see docs/protocol.md).\n"
	    "\n"
	    "  --listen URL          serve requests on URL (repeatable; ipc://, tcp://,\n"
	    "                        tls+tcp://); default " DEFAULT_LISTEN "\n"
	    "  --pub URL             publish change notifications on URL ('' for none);\n"
	    "                        default: beside the first --listen (X.ipc -> X-pub.ipc,\n"
	    "                        tcp port + 1), so " DEFAULT_PUB ";\n"
	    "                        none when a key is set (watchers use OP_CHANGES)\n"
	    "  --db PATH             SQLite database file; default ./" DEFAULT_DB ";\n"
	    "                        ':memory:' keeps nothing on disk\n"
	    "  --durability MODE     log (default): acknowledged writes survive kill -9;\n"
	    "                        fsync: they survive power loss; snapshot: periodic\n"
	    "                        snapshots only; memory: nothing is kept. log and fsync\n"
	    "                        also keep answers: a write re-sent after a restart is\n"
	    "                        answered, not applied again\n"
	    "  --snapshot-interval S[:N]  snapshot every S seconds and/or N changes\n"
	    "                        (default 60:100000; 0 disables that trigger)\n"
	    "  --lease SECONDS       session lease: a silent client's locks are released\n"
	    "                        after this long (default 10; clients ping every third)\n"
	    "  --history N           changes kept in memory for watchers (default 100000)\n"
	    "  --busy-poll-us US     after a lone request, keep polling this long for the\n"
	    "                        client's next one before sleeping (default 50 with 2+\n"
	    "                        CPUs, else 0; 0 never; docs/performance.md)\n"
	    "\n"
	    "Limits (each shown by `mpstore stats`; see docs/security.md):\n"
	    "  --max-message BYTES   largest request accepted (default 16777216)\n"
	    "  --max-clients N       request connections at once (default 10000); one\n"
	    "                        more is answered ERR_LIMIT and closed\n"
	    "  --max-client-buffer BYTES  replies queued on one connection beyond what its\n"
	    "                        socket takes, before it is closed; bounds one reply\n"
	    "                        too (default 268435456)\n"
	    "  --max-subscribers N   notification subscribers at once (default 1000)\n"
	    "  --max-subscriber-buffer BYTES  notifications queued for one subscriber;\n"
	    "                        past it, it loses messages (default 8388608)\n"
	    "  --subscriber-timeout S  a subscriber whose queue stays full this long is\n"
	    "                        disconnected (default 10)\n"
	    "  --max-parked N        requests waiting in blocking ops, in all (default 200000)\n"
	    "  --max-parked-per-client N  ... on one connection (default 10000)\n"
	    "  --max-memory BYTES    refuse writes that add data once the containers and the\n"
	    "                        change history hold this much (K, M, G suffixes; 0: no\n"
	    "                        limit); default half the RAM. Reads and deletes go on\n"
	    "  --max-containers N    at most N containers (default 1000000; 0: no limit)\n"
	    "  --max-elements N      at most N elements per container (default 1073741824)\n"
	    "\n"
	    "Security:\n"
	    "  --backup-dir DIR      OP_BACKUP (mpstore backup NAME) writes NAME in DIR;\n"
	    "                        without it backups are refused\n"
	    "  --auth-key-file FILE  require the key in FILE (trailing newline dropped)\n"
	    "                        in every request; also $MPSTORED_AUTH_KEY\n"
	    "  --no-auth             serve a non-loopback address without a key (refused\n"
	    "                        otherwise: protected mode)\n"
	    "  --pub-no-auth         with a key, publish on --pub URL anyway (to anyone who\n"
	    "                        can connect to it)\n"
	    "  --ipc-mode MODE       permissions of ipc:// socket files (default 0600)\n"
	    "  --tls-cert FILE       PEM certificate (chain) for tls+tcp:// listeners\n"
	    "  --tls-key FILE        PEM private key for --tls-cert\n"
	    "  --tls-client-ca FILE  require client certificates signed by this CA\n"
	    "  --contexts N          tls+tcp:// requests received at once (default 64)\n"
	    "\n"
	    "  --metrics URL         serve Prometheus metrics at http://HOST:PORT/PATH\n"
	    "                        (a loopback HOST; docs/operations.md)\n"
	    "  --metrics-public      allow --metrics on a non-loopback address\n"
	    "  --schema FILE.pb      load a descriptor set (protoc --include_imports -o)\n"
	    "  -v, --verbose         log connections, sessions and more\n"
	    "  --ping URL            check that a daemon answers at URL (exit 0) and exit\n"
	    "  --version             print the version\n"
	    "  -h, --help            this text\n");
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* BYTES with an optional K, M, G or T suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-')
		return -1;
	int shift = 0;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int set_key(mpsd_config *c, const char *k, size_t n, const char *from)
{
	while (n > 0 && (k[n - 1] == '\n' || k[n - 1] == '\r'))
		n--;
	if (n == 0 || n > sizeof(c->auth_key)) {
		fprintf(stderr, "mpstored: the auth key in %s must be 1 to %zu bytes\n", from,
		    sizeof(c->auth_key));
		return -1;
	}
	memcpy(c->auth_key, k, n);
	c->auth_len = n;
	return 0;
}

static int read_key(const char *path, mpsd_config *c)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "mpstored: cannot read auth key file %s: %s\n", path, strerror(errno));
		return -1;
	}
	char   buf[sizeof(c->auth_key) + 4];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return set_key(c, buf, n, path);
}

static int parse_args(int argc, char **argv, mpsd_config *c)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t     n;
#define NEED()                                                                     \
	do {                                                                       \
		if (v == NULL) {                                                   \
			fprintf(stderr, "mpstored: %s needs a value\n", a);        \
			return 2;                                                  \
		}                                                                  \
		i++;                                                               \
	} while (0)
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--version") == 0) {
			printf("mpstored %s (protocol %d)\n", MPS_VERSION_STRING, MPS_PROTOCOL_VERSION);
			exit(0);
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			c->verbose = 1;
		} else if (strcmp(a, "--listen") == 0) {
			NEED();
			if (c->net.nlisten == MPSD_NET_MAX_LISTEN) {
				fprintf(stderr, "mpstored: at most %d --listen\n", MPSD_NET_MAX_LISTEN);
				return 2;
			}
			c->net.listen[c->net.nlisten++] = v;
		} else if (strcmp(a, "--pub") == 0) {
			NEED();
			c->net.pub_url = v;
		} else if (strcmp(a, "--db") == 0) {
			NEED();
			c->commit.db_path = v;
		} else if (strcmp(a, "--durability") == 0) {
			NEED();
			if (strcmp(v, "log") == 0)
				c->commit.durability = MPSD_DUR_LOG;
			else if (strcmp(v, "fsync") == 0)
				c->commit.durability = MPSD_DUR_FSYNC;
			else if (strcmp(v, "snapshot") == 0)
				c->commit.durability = MPSD_DUR_SNAPSHOT;
			else if (strcmp(v, "memory") == 0)
				c->commit.durability = MPSD_DUR_MEMORY;
			else {
				fprintf(stderr, "mpstored: --durability: log, fsync, snapshot or memory\n");
				return 2;
			}
		} else if (strcmp(a, "--snapshot-interval") == 0) {
			NEED();
			char  buf[64];
			snprintf(buf, sizeof(buf), "%s", v);
			char *colon = strchr(buf, ':');
			if (colon != NULL)
				*colon++ = '\0';
			int64_t s = 0, k = 0;
			if ((buf[0] && parse_i64(buf, &s) != 0) ||
			    (colon != NULL && parse_i64(colon, &k) != 0)) {
				fprintf(stderr, "mpstored: --snapshot-interval SECONDS[:CHANGES]\n");
				return 2;
			}
			c->commit.snapshot_secs = s;
			c->commit.snapshot_changes = colon != NULL ? k : 0;
		} else if (strcmp(a, "--lease") == 0) {
			NEED();
			char  *end;
			double s = strtod(v, &end);
			if (end == v || *end != '\0' || s <= 0) {
				fprintf(stderr, "mpstored: --lease takes seconds > 0\n");
				return 2;
			}
			c->lease_ms = (int64_t)(s * 1000);
		} else if (strcmp(a, "--max-message") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0 || n < 1024) {
				fprintf(stderr, "mpstored: --max-message takes bytes >= 1024\n");
				return 2;
			}
			c->net.max_msg = (size_t)n;
		} else if (strcmp(a, "--history") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0) {
				fprintf(stderr, "mpstored: --history takes a count\n");
				return 2;
			}
			c->commit.history = (size_t)n;
		} else if (strcmp(a, "--contexts") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0 || n < 1 || n > 4096) {
				fprintf(stderr, "mpstored: --contexts takes 1 to 4096\n");
				return 2;
			}
			c->net.tls_contexts = (int)n;
		} else if (strcmp(a, "--max-memory") == 0) {
			NEED();
			if (parse_size(v, &c->limits.max_memory) != 0) {
				fprintf(stderr, "mpstored: --max-memory takes bytes (K, M, G, T suffixes)\n");
				return 2;
			}
		} else if (strcmp(a, "--max-containers") == 0 || strcmp(a, "--max-elements") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0) {
				fprintf(stderr, "mpstored: %s takes a count (0: no limit)\n", a);
				return 2;
			}
			if (strcmp(a, "--max-containers") == 0)
				c->limits.max_containers = (uint64_t)n;
			else
				c->limits.max_elements = (uint64_t)n;
		} else if (strcmp(a, "--backup-dir") == 0) {
			NEED();
			c->commit.backup_dir = v;
		} else if (strcmp(a, "--auth-key-file") == 0) {
			NEED();
			if (read_key(v, c) != 0)
				return 2;
		} else if (strcmp(a, "--tls-cert") == 0) {
			NEED();
			c->net.tls_cert = v;
		} else if (strcmp(a, "--tls-key") == 0) {
			NEED();
			c->net.tls_key = v;
		} else if (strcmp(a, "--max-clients") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0 || n < 1) {
				fprintf(stderr, "mpstored: --max-clients takes a count >= 1\n");
				return 2;
			}
			c->net.max_clients = (size_t)n;
		} else if (strcmp(a, "--busy-poll-us") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0 || n < 0 || n > 10000) {
				fprintf(stderr, "mpstored: --busy-poll-us takes microseconds from 0 to 10000\n");
				return 2;
			}
			c->net.busy_poll_us = (int)n;
		} else if (strcmp(a, "--max-client-buffer") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0 || n < 65536) {
				fprintf(stderr, "mpstored: --max-client-buffer takes bytes >= 65536\n");
				return 2;
			}
			c->net.max_client_buffer = (size_t)n;
		} else if (strcmp(a, "--max-subscribers") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0) {
				fprintf(stderr, "mpstored: --max-subscribers takes a count\n");
				return 2;
			}
			c->net.max_subscribers = (size_t)n;
		} else if (strcmp(a, "--max-subscriber-buffer") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0 || n < 4096) {
				fprintf(stderr, "mpstored: --max-subscriber-buffer takes bytes >= 4096\n");
				return 2;
			}
			c->net.max_subscriber_buffer = (size_t)n;
		} else if (strcmp(a, "--subscriber-timeout") == 0) {
			NEED();
			char  *end;
			double sec = strtod(v, &end);
			if (end == v || *end != '\0' || sec <= 0 || sec > 86400) {
				fprintf(stderr, "mpstored: --subscriber-timeout takes seconds > 0\n");
				return 2;
			}
			c->net.subscriber_timeout_ms = (int64_t)(sec * 1000);
		} else if (strcmp(a, "--max-parked") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0 || n < 1) {
				fprintf(stderr, "mpstored: --max-parked takes a count >= 1\n");
				return 2;
			}
			c->max_parked = (size_t)n;
		} else if (strcmp(a, "--max-parked-per-client") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0 || n < 1) {
				fprintf(stderr, "mpstored: --max-parked-per-client takes a count >= 1\n");
				return 2;
			}
			c->max_parked_per_client = (size_t)n;
		} else if (strcmp(a, "--ipc-mode") == 0) {
			NEED();
			char *end;
			long  m = strtol(v, &end, 8);
			if (*end != '\0' || end == v || m < 0 || m > 0777 || (m & 0600) != 0600) {
				fprintf(stderr, "mpstored: --ipc-mode takes an octal mode with the owner's "
				                "read and write (e.g. 0600, 0660, 0666)\n");
				return 2;
			}
			c->net.ipc_mode = (int)m;
		} else if (strcmp(a, "--no-auth") == 0) {
			c->no_auth = 1;
		} else if (strcmp(a, "--pub-no-auth") == 0) {
			c->pub_no_auth = 1;
		} else if (strcmp(a, "--metrics") == 0) {
			NEED();
			c->metrics_url = v[0] != '\0' ? v : NULL;
		} else if (strcmp(a, "--metrics-public") == 0) {
			c->metrics_public = 1;
		} else if (strcmp(a, "--tls-client-ca") == 0) {
			NEED();
			c->net.tls_client_ca = v;
		} else if (strcmp(a, "--schema") == 0) {
			NEED();
			if (c->nschemas == 16) {
				fprintf(stderr, "mpstored: at most 16 --schema\n");
				return 2;
			}
			c->schemas[c->nschemas++] = v;
		} else {
			fprintf(stderr, "mpstored: unknown option '%s' (see --help)\n", a);
			return 2;
		}
#undef NEED
	}
	return 0;
}

/* mpstored --ping URL: exit 0 when a daemon answers a ping within 1 s. */
static int ping_main(const char *url)
{
	nng_socket s;
	if (nng_req0_open(&s) != 0)
		return 1;
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 1000);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 1000);
	if (nng_dial(s, url, NULL, 0) != 0)
		return 1;
	/* Request{version: 1, id: 1, ops: [{code: OP_PING}]} */
	static const uint8_t ping[] = {0x08, 0x01, 0x10, 0x01, 0x22, 0x02, 0x08, 0x02};
	nng_msg *m = NULL;
	if (nng_send(s, (void *)ping, sizeof(ping), 0) != 0 || nng_recvmsg(s, &m, 0) != 0)
		return 1;
	Mpstore__Response *r = mpstore__response__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
	int ok = r != NULL && (r->status == 0 || r->status == MPSTORE__STATUS__ERR_AUTH);
	mpstore__response__free_unpacked(r, NULL);
	nng_msg_free(m);
	nng_close(s);
	return ok ? 0 : 1;
}

/*
 * The PUB address when --pub is not given: beside the first --listen
 * address, so daemons on different addresses never clash.
 * ipc://P.ipc -> ipc://P-pub.ipc (the defaults: ipc:///tmp/mpstore.ipc ->
 * ipc:///tmp/mpstore-pub.ipc), other ipc://P -> ipc://P-pub,
 * tcp:// and tls+tcp://HOST:PORT -> the same HOST, PORT + 1. Otherwise,
 * and for any TCP listener when an auth key is set (the PUB socket cannot
 * check keys, and nng's TLS does not check client certificates: anyone
 * reaching the port could read every change), the fixed local default.
 * Clients learn it from the hello (pub=URL).
 */
static const char *derive_pub(const mpsd_config *c)
{
	static char buf[320];
	const char *l = c->net.listen[0];
	size_t      n = strlen(l);
	if (n + 4 >= sizeof(buf))
		return DEFAULT_PUB;
	if (strncmp(l, "ipc://", 6) == 0) {
		if (n > 10 && strcmp(l + n - 4, ".ipc") == 0)
			snprintf(buf, sizeof(buf), "%.*s-pub.ipc", (int)(n - 4), l);
		else
			snprintf(buf, sizeof(buf), "%s-pub", l);
		return buf;
	}
	int tls = strncmp(l, "tls+tcp://", 10) == 0;
	int tcp = !tls && strncmp(l, "tcp://", 6) == 0;
	const char *colon = strrchr(l, ':');
	if ((tls || tcp) && c->auth_len == 0 && colon != NULL) {
		char *end;
		long  port = strtol(colon + 1, &end, 10);
		if (*end == '\0' && port > 0 && port < 65535) {
			snprintf(buf, sizeof(buf), "%.*s:%ld", (int)(colon - l), l, port + 1);
			return buf;
		}
	}
	return DEFAULT_PUB;
}

/* ---- running ---- */

static void on_signal(uv_signal_t *sig, int signum)
{
	mpsd_daemon *d = sig->data;
	if (d->stopping)
		return;
	mpsd_log("signal %d: shutting down", signum);
	d->stopping = 1;
	mpsd_net_stop(d->net);        /* nothing more is read: dropped, as after a crash */
	mpsd_commit_stop(d->commit);  /* every queued write committed, final snapshot */
	mpsd_net_run_posts(d->net);   /* ... and answered */
	mpsd_notify_drain(d);
	mpsd_clock_stop(d);
	mpsd_metrics_stop(d);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	mpsd_net_close(d->net);       /* the last replies written if they can be */
}

/* Protected mode: a listener other machines can reach needs a key, or
 * --no-auth said on purpose. */
static int check_exposure(const mpsd_config *c)
{
	const char *open_url = NULL;
	const char *urls[MPSD_NET_MAX_LISTEN + 1];
	int         n = 0;
	for (int i = 0; i < c->net.nlisten; i++)
		urls[n++] = c->net.listen[i];
	if (c->net.pub_url != NULL)
		urls[n++] = c->net.pub_url;
	for (int i = 0; i < n; i++) {
		int net = strncmp(urls[i], "tcp://", 6) == 0 || strncmp(urls[i], "tls+tcp://", 10) == 0;
		if (net && !mpsd_net_url_is_local(urls[i]))
			open_url = urls[i]; /* other schemes: refused by the binder */
	}
	if (open_url == NULL || c->auth_len > 0)
		return 0;
	if (!c->no_auth) {
		fprintf(stderr,
		    "mpstored: %s can be reached from other machines and no auth key is set:\n"
		    "  anyone there could read and change every container. Set a key\n"
		    "  (--auth-key-file FILE or $MPSTORED_AUTH_KEY), listen on a loopback address,\n"
		    "  or pass --no-auth to serve it anyway (protected mode, docs/security.md)\n",
		    open_url);
		return -1;
	}
	mpsd_log("WARNING: serving %s without an auth key (--no-auth): anyone who can reach it "
	         "can read and change every container", open_url);
	return 0;
}

/* As many descriptors as the system allows; max_clients fits within them. */
static void raise_nofile(mpsd_config *c)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	size_t room = rl.rlim_cur > 128 ? (size_t)rl.rlim_cur - 128 : 1;
	if (c->net.max_clients + c->net.max_subscribers > room) {
		size_t subs = c->net.max_subscribers < room / 8 ? c->net.max_subscribers : room / 8;
		mpsd_log("only %zu file descriptors: --max-clients lowered from %zu to %zu",
		    (size_t)rl.rlim_cur, c->net.max_clients, room - subs);
		c->net.max_clients = room - subs;
		c->net.max_subscribers = subs;
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--ping") == 0)
		return ping_main(argv[2]);
	static mpsd_daemon d;
	mpsd_config       *c = &d.cfg;
	c->commit.durability = MPSD_DUR_LOG;
	c->commit.snapshot_secs = 60;
	c->commit.snapshot_changes = 100000;
	c->commit.history = 100000;
	c->lease_ms = 10000;
	c->net.max_msg = 16u << 20;
	c->net.tls_contexts = 64;
	c->net.max_clients = 10000;
	c->net.max_client_buffer = 256u << 20;
	/* polling for a client's next request pays where the client runs on
	 * another CPU than the loop; on one CPU it would only delay the client */
	c->net.busy_poll_us = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 50 : 0;
	c->net.max_subscribers = 1000;
	c->net.max_subscriber_buffer = 8u << 20;
	c->net.subscriber_timeout_ms = 10000;
	c->net.ipc_mode = 0600;
	c->max_parked = 200000;
	c->max_parked_per_client = 10000;
	c->limits.max_memory = mpsd_default_max_memory();
	c->limits.max_containers = 1000000;
	c->limits.max_elements = 1u << 30;
	const char *env_key = getenv("MPSTORED_AUTH_KEY");
	if (env_key != NULL && env_key[0] != '\0' &&
	    set_key(c, env_key, strlen(env_key), "$MPSTORED_AUTH_KEY") != 0)
		return 2;
	int rv = parse_args(argc, argv, c);
	if (rv != 0)
		return rv;
	if (c->net.nlisten == 0)
		c->net.listen[c->net.nlisten++] = DEFAULT_LISTEN;
	if (c->net.pub_url == NULL)
		c->net.pub_url = c->auth_len > 0 ? "" : derive_pub(c);
	if (c->auth_len > 0 && c->net.pub_url[0] != '\0' && !c->pub_no_auth) {
		/* the key guards requests; a subscriber sends nothing that could
		 * be checked, so notifications would go to anyone who connects */
		fprintf(stderr, "mpstored: with an auth key, notifications are off (watchers follow "
		                "changes with OP_CHANGES on their\n  authenticated connection); "
		                "--pub URL needs --pub-no-auth to publish to whoever can connect to it\n");
		return 2;
	}
	if ((c->net.tls_cert == NULL) != (c->net.tls_key == NULL)) {
		fprintf(stderr, "mpstored: --tls-cert and --tls-key go together\n");
		return 2;
	}
	if (check_exposure(c) != 0)
		return 2;
	struct stat bst;
	if (c->commit.backup_dir != NULL &&
	    (stat(c->commit.backup_dir, &bst) != 0 || !S_ISDIR(bst.st_mode))) {
		fprintf(stderr, "mpstored: --backup-dir %s is not a directory\n", c->commit.backup_dir);
		return 2;
	}
	if (c->commit.db_path == NULL)
		c->commit.db_path = DEFAULT_DB;
	if (strcmp(c->commit.db_path, ":memory:") == 0)
		c->commit.durability = MPSD_DUR_MEMORY;
	snprintf(d.park_msg_all, sizeof(d.park_msg_all),
	    "too many requests waiting in the daemon: at most %zu (--max-parked)", c->max_parked);
	snprintf(d.park_msg_one, sizeof(d.park_msg_one),
	    "too many requests waiting on this connection: at most %zu (--max-parked-per-client)",
	    c->max_parked_per_client);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(c);

	char           err[1024];
	mpsd_net_hooks hooks = {mpsd_dispatch_request, mpsd_clients_opened, mpsd_clients_closed, &d};
	d.loop_thread = pthread_self();
	d.started_ms = mpsd_now_ms();
	pthread_mutex_init(&d.done_mtx, NULL);
	d.done_post.fn = mpsd_notify_drain;
	d.done_post.arg = &d;
	/* listeners first: a served address stops us before the database */
	if (mpsd_net_open(&d.net, &c->net, &hooks, err, sizeof(err)) != 0) {
		fprintf(stderr, "mpstored: %s\n", err);
		return 1;
	}
	if (mpsd_metrics_start(&d, err, sizeof(err)) != 0) {
		fprintf(stderr, "mpstored: %s\n", err);
		mpsd_net_close(d.net);
		mpsd_net_free(d.net);
		return 1;
	}
	d.st = mpsd_store_alloc();
	d.sess = mpsd_sessions_alloc();
	d.clients = mpsd_clients_alloc();
	if (d.st == NULL || d.sess == NULL || d.clients == NULL) {
		fprintf(stderr, "mpstored: out of memory\n");
		return 1;
	}
	mpsd_store_set_limits(d.st, &c->limits);
	mpsd_store_set_limits(d.st, &c->limits);
	if (mpsd_schema_start != NULL && mpsd_schema_start(&d, err, sizeof(err)) != 0) {
		fprintf(stderr, "mpstored: %s\n", err);
		mpsd_metrics_stop(&d); /* its listener too, or the loop never ends */
		mpsd_net_close(d.net);
		mpsd_net_free(d.net);
		return 1;
	}
	if (mpsd_commit_start(&d.commit, d.st, &c->commit, mpsd_notify_done, &d, err, sizeof(err)) != 0 ||
	    mpsd_resend_start(&d, err, sizeof(err)) != 0) {
		fprintf(stderr, "mpstored: %s\n", err);
		mpsd_commit_stop(d.commit);
		mpsd_commit_free(d.commit);
		mpsd_metrics_stop(&d);
		mpsd_net_close(d.net);
		mpsd_net_free(d.net);
		return 1;
	}
	mpsd_clock_start(&d);
	uv_signal_init(mpsd_net_loop(d.net), &d.sigint);
	uv_signal_init(mpsd_net_loop(d.net), &d.sigterm);
	d.sigint.data = d.sigterm.data = &d;
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	mpsd_log("serving %s (pub %s), database %s, durability %s, revision %llu, %zu containers",
	    c->net.listen[0], c->net.pub_url[0] ? c->net.pub_url : "none",
	    c->commit.durability == MPSD_DUR_MEMORY ? "none" : c->commit.db_path,
	    (const char *[]){"memory", "log", "fsync", "snapshot"}[c->commit.durability],
	    (unsigned long long)mpsd_store_revision(d.st), mpsd_store_count(d.st));

	mpsd_net_run(d.net);

	mpsd_net_free(d.net);
	mpsd_monitor_stop(&d);
	mpsd_metrics_free(&d);
	mpsd_commit_free(d.commit);
	if (mpsd_schema_stop != NULL)
		mpsd_schema_stop(&d);
	mpsd_clients_free(d.clients);
	mpsd_sessions_free(d.sess);
	mpsd_req_free_all(&d);
	mpsd_store_free(d.st);
	pthread_mutex_destroy(&d.done_mtx);
	mpsd_log("stopped");
	return 0;
}
