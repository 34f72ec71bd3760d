/* main.c - mpstored: flags, start-up, signals, shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "commit.h"
#include "mpstore/mpstore.h"
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
	    "processes over nng (see docs/protocol.md).\n"
	    "\n"
	    "  --listen URL          serve requests on URL (repeatable; ipc://, tcp://,\n"
	    "                        tls+tcp://); default " DEFAULT_LISTEN "\n"
	    "  --pub URL             publish change notifications on URL ('' for none);\n"
	    "                        default: beside the first --listen (X.ipc -> X-pub.ipc,\n"
	    "                        tcp port + 1 unless a key is set), so\n"
	    "                        " DEFAULT_PUB "\n"
	    "  --db PATH             SQLite database file; default ./" DEFAULT_DB ";\n"
	    "                        ':memory:' keeps nothing on disk\n"
	    "  --durability MODE     log (default): acknowledged writes survive kill -9;\n"
	    "                        fsync: they survive power loss; snapshot: periodic\n"
	    "                        snapshots only; memory: nothing is kept\n"
	    "  --snapshot-interval S[:N]  snapshot every S seconds and/or N changes\n"
	    "                        (default 60:100000; 0 disables that trigger)\n"
	    "  --lease SECONDS       session lease: a silent client's locks are released\n"
	    "                        after this long (default 10; clients ping every third)\n"
	    "  --max-message BYTES   largest request accepted (default 16777216)\n"
	    "  --history N           changes kept in memory for watchers (default 100000)\n"
	    "  --contexts N          requests received at once (default 64)\n"
	    "  --max-memory BYTES    refuse writes that add data once the containers and the\n"
	    "                        change history hold this much (K, M, G suffixes; 0: no\n"
	    "                        limit); default half the RAM. Reads and deletes go on\n"
	    "  --max-containers N    at most N containers (default 1000000; 0: no limit)\n"
	    "  --max-elements N      at most N elements per container (default 1073741824)\n"
	    "  --backup-dir DIR      OP_BACKUP (mpstore backup NAME) writes NAME in DIR;\n"
	    "                        without it backups are refused\n"

	    "  --schema FILE.pb      load a descriptor set (protoc --include_imports -o)\n"
	    "  --auth-key-file FILE  require the key in FILE (trailing newline dropped)\n"
	    "                        in every request; also $MPSTORED_AUTH_KEY\n"
	    "  --tls-cert FILE       PEM certificate (chain) for tls+tcp:// listeners\n"
	    "  --tls-key FILE        PEM private key for --tls-cert\n"
	    "  -v, --verbose         log sessions and more\n"
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
			if (c->nlisten == MPSD_MAX_LISTEN) {
				fprintf(stderr, "mpstored: at most %d --listen\n", MPSD_MAX_LISTEN);
				return 2;
			}
			c->listen[c->nlisten++] = v;
		} else if (strcmp(a, "--pub") == 0) {
			NEED();
			c->pub_url = v;
		} else if (strcmp(a, "--db") == 0) {
			NEED();
			c->db_path = v;
		} else if (strcmp(a, "--durability") == 0) {
			NEED();
			if (strcmp(v, "log") == 0)
				c->durability = MPSD_DUR_LOG;
			else if (strcmp(v, "fsync") == 0)
				c->durability = MPSD_DUR_FSYNC;
			else if (strcmp(v, "snapshot") == 0)
				c->durability = MPSD_DUR_SNAPSHOT;
			else if (strcmp(v, "memory") == 0)
				c->durability = MPSD_DUR_MEMORY;
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
			c->snapshot_secs = s;
			c->snapshot_changes = colon != NULL ? k : 0;
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
			c->max_msg = (size_t)n;
		} else if (strcmp(a, "--history") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0) {
				fprintf(stderr, "mpstored: --history takes a count\n");
				return 2;
			}
			c->history = (size_t)n;
		} else if (strcmp(a, "--contexts") == 0) {
			NEED();
			if (parse_i64(v, &n) != 0 || n < 1 || n > 4096) {
				fprintf(stderr, "mpstored: --contexts takes 1 to 4096\n");
				return 2;
			}
			c->contexts = (int)n;
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
			c->backup_dir = v;
		} else if (strcmp(a, "--auth-key-file") == 0) {
			NEED();
			if (read_key(v, c) != 0)
				return 2;
		} else if (strcmp(a, "--tls-cert") == 0) {
			NEED();
			c->tls_cert = v;
		} else if (strcmp(a, "--tls-key") == 0) {
			NEED();
			c->tls_key = v;
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
	const char *l = c->listen[0];
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

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--ping") == 0)
		return ping_main(argv[2]);
	static mpsd_daemon d;
	mpsd_config       *c = &d.cfg;
	c->durability = MPSD_DUR_LOG;
	c->snapshot_secs = 60;
	c->snapshot_changes = 100000;
	c->lease_ms = 10000;
	c->max_msg = 16u << 20;
	c->history = 100000;
	c->contexts = 64;
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
	if (c->nlisten == 0)
		c->listen[c->nlisten++] = DEFAULT_LISTEN;
	if (c->pub_url == NULL)
		c->pub_url = derive_pub(c);
	if (c->auth_len > 0 && strncmp(c->pub_url, "tcp://", 6) == 0) {
		/* the key guards requests; notifications on plain TCP would leak
		 * (checked after the default too: it must never pick one) */
		fprintf(stderr, "mpstored: with an auth key, --pub must be ipc://, tls+tcp:// or ''\n");
		return 2;
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		fprintf(stderr, "mpstored: --tls-cert and --tls-key go together\n");
		return 2;
	}
	struct stat bst;
	if (c->backup_dir != NULL && (stat(c->backup_dir, &bst) != 0 || !S_ISDIR(bst.st_mode))) {
		fprintf(stderr, "mpstored: --backup-dir %s is not a directory\n", c->backup_dir);
		return 2;
	}
	if (c->db_path == NULL)
		c->db_path = DEFAULT_DB;
	if (strcmp(c->db_path, ":memory:") == 0)
		c->durability = MPSD_DUR_MEMORY;

	/* signals are taken by sigwait below, never by nng's threads */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	char err[1024];
	d.st = mpsd_store_alloc();
	d.sess = mpsd_sessions_alloc();
	if (d.st == NULL || d.sess == NULL) {
		fprintf(stderr, "mpstored: out of memory\n");
		return 1;
	}
	mpsd_store_set_limits(d.st, &c->limits);
	if (mpsd_schema_start != NULL && mpsd_schema_start(&d, err, sizeof(err)) != 0) {
		fprintf(stderr, "mpstored: %s\n", err);
		return 1;
	}
	if (mpsd_commit_start(&d, err, sizeof(err)) != 0) {
		fprintf(stderr, "mpstored: %s\n", err);
		mpsd_commit_stop(&d);
		return 1;
	}
	if (mpsd_server_start(&d, err, sizeof(err)) != 0) {
		fprintf(stderr, "mpstored: %s\n", err);
		mpsd_server_stop(&d);
		mpsd_commit_stop(&d);
		mpsd_server_free(&d);
		return 1;
	}
	mpsd_log("serving %s (pub %s), database %s, durability %s, revision %llu, %zu containers",
	    c->listen[0], c->pub_url[0] ? c->pub_url : "none",
	    c->durability == MPSD_DUR_MEMORY ? "none" : c->db_path,
	    (const char *[]){"memory", "log", "fsync", "snapshot"}[c->durability],
	    (unsigned long long)mpsd_store_revision(d.st), mpsd_store_count(d.st));

	int sig = 0;
	while (sig != SIGINT && sig != SIGTERM) {
		if (sigwait(&set, &sig) != 0)
			break;
	}
	mpsd_log("signal %d: shutting down", sig);
	mpsd_server_stop(&d);
	mpsd_commit_stop(&d); /* the final snapshot */
	if (mpsd_server_stuck(&d)) {
		/* nng's threads still hold the sockets: nothing more to free */
		mpsd_log("stopped");
		fflush(stderr);
		_exit(0);
	}
	mpsd_server_free(&d);
	if (mpsd_schema_stop != NULL)
		mpsd_schema_stop(&d);
	mpsd_sessions_free(d.sess);
	mpsd_store_free(d.st);
	mpsd_log("stopped");
	return 0;
}
