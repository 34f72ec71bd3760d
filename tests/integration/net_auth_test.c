/*
 * Connection authentication with an auth key (docs/security.md): the
 * HMAC-SHA256 challenge and response of OP_HELLO and OP_AUTH, spoken by
 * hand. No key, a wrong key, a key sent in the request, a MAC replayed on
 * another connection, a second guess on a connection, a peer that skips
 * the handshake and a client_id other than the authenticated one all get
 * ERR_AUTH and change nothing;
 * the CLI authenticates with $MPSTORE_AUTH_KEY; failures are logged, one
 * line a second at most.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "net_util.h"

static mpst_daemon d;
static char        keyfile[300];

static int setup(void **state)
{
	(void)state;
	snprintf(keyfile, sizeof(keyfile), "/tmp/mpst-key-%ld", (long)getpid());
	FILE *f = fopen(keyfile, "w");
	assert_non_null(f);
	fputs("s3cret\n", f); /* the trailing newline is not part of the key */
	fclose(f);
	return mpst_daemon_start_default_pub(&d, (const char *const[]){"--durability", "memory", "--auth-key-file",
	                                 keyfile, NULL});
}

static int teardown(void **state)
{
	(void)state;
	mpst_daemon_cleanup(&d);
	unlink(keyfile);
	return 0;
}

/* OP_HELLO on fd; the connection's nonce (32 bytes). */
static void hello(int fd, uint8_t nonce[32])
{
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_HELLO, NULL);
	Mpstore__Response *r = netu_call(fd, 1, &q);
	assert_non_null(r);
	assert_int_equal(r->status, 0);
	int found = 0;
	for (size_t i = 0; i < r->results[0]->n_values; i++) {
		const char *l = r->results[0]->values[i]->string_value;
		if (strncmp(l, "nonce=", 6) != 0)
			continue;
		assert_int_equal(strlen(l + 6), 64);
		for (int k = 0; k < 32; k++) {
			unsigned v;
			assert_int_equal(sscanf(l + 6 + 2 * k, "%2x", &v), 1);
			nonce[k] = (uint8_t)v;
		}
		found = 1;
	}
	assert_true(found);
	mpstore__response__free_unpacked(r, NULL);
}

static void mac_of(const char *key, const uint8_t nonce[32], uint64_t cid, uint8_t out[32])
{
	uint8_t      msg[16 + 32 + 8];
	unsigned int len = 32;
	memcpy(msg, "mpstore-auth-v1", 16);
	memcpy(msg + 16, nonce, 32);
	for (int i = 0; i < 8; i++)
		msg[48 + i] = (uint8_t)(cid >> (56 - 8 * i));
	HMAC(EVP_sha256(), key, (int)strlen(key), msg, sizeof(msg), out, &len);
}

static int auth(int fd, uint64_t cid, const uint8_t mac[32])
{
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_AUTH, NULL);
	q.rq.client_id = cid;
	q.op.data.data = (uint8_t *)mac;
	q.op.data.len = 32;
	Mpstore__Response *r = netu_call(fd, 1, &q);
	if (r == NULL)
		return -1;
	int st = r->status ? (int)r->status : (int)r->results[0]->status;
	mpstore__response__free_unpacked(r, NULL);
	return st;
}

/* Create container name as client cid; the status. */
/* The daemon's "parked" count, over an authenticated connection. */
static long long netu_stat_authed(void)
{
	uint8_t nonce[32], mac[32];
	int     fd = netu_open(d.url);
	hello(fd, nonce);
	mac_of("s3cret", nonce, 99, mac);
	assert_int_equal(auth(fd, 99, mac), 0);
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_STATS, NULL);
	q.rq.client_id = 99;
	Mpstore__Response *r = netu_call(fd, 1, &q);
	close(fd);
	long long v = -1;
	for (size_t i = 0; r != NULL && i < r->results[0]->n_values; i++)
		if (strncmp(r->results[0]->values[i]->string_value, "parked=", 7) == 0)
			v = atoll(r->results[0]->values[i]->string_value + 7);
	if (r != NULL)
		mpstore__response__free_unpacked(r, NULL);
	return v;
}

static int create(int fd, uint64_t cid, const char *name)
{
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_CREATE, name);
	q.rq.client_id = cid;
	q.op.kind = MPSTORE__KIND__KIND_LIST;
	Mpstore__Response *r = netu_call(fd, 1, &q);
	if (r == NULL)
		return -1;
	int st = r->status ? (int)r->status : (int)r->results[0]->status;
	mpstore__response__free_unpacked(r, NULL);
	return st;
}

static void test_handshake(void **state)
{
	(void)state;
	uint8_t nonce[32], mac[32];
	/* skipping the handshake: nothing but HELLO and AUTH is served */
	int fd = netu_open(d.url);
	assert_int_equal(create(fd, 7, "a"), MPSTORE__STATUS__ERR_AUTH);
	/* the old way, the key in every request: refused */
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_CREATE, "a");
	q.op.kind = MPSTORE__KIND__KIND_LIST;
	q.rq.auth.data = (uint8_t *)"s3cret";
	q.rq.auth.len = 6;
	Mpstore__Response *r = netu_call(fd, 1, &q);
	assert_non_null(r);
	assert_int_equal(r->status, MPSTORE__STATUS__ERR_AUTH);
	mpstore__response__free_unpacked(r, NULL);
	/* the right MAC */
	hello(fd, nonce);
	mac_of("s3cret", nonce, 7, mac);
	assert_int_equal(auth(fd, 7, mac), 0);
	assert_int_equal(create(fd, 7, "a"), 0);
	assert_int_equal(create(fd, 0, "b"), 0);                          /* no session: fine */
	assert_int_equal(create(fd, 8, "c"), MPSTORE__STATUS__ERR_AUTH); /* another client_id */
	/* the same MAC replayed on another connection: another nonce */
	int fd2 = netu_open(d.url);
	uint8_t nonce2[32];
	hello(fd2, nonce2);
	assert_memory_not_equal(nonce, nonce2, 32);
	assert_int_equal(auth(fd2, 7, mac), MPSTORE__STATUS__ERR_AUTH);
	mac_of("s3cret", nonce2, 7, mac); /* one guess per connection: now too late */
	assert_int_equal(auth(fd2, 7, mac), MPSTORE__STATUS__ERR_AUTH);
	assert_int_equal(create(fd2, 7, "d"), MPSTORE__STATUS__ERR_AUTH);
	close(fd2);
	/* a wrong key */
	fd2 = netu_open(d.url);
	hello(fd2, nonce2);
	mac_of("guess", nonce2, 9, mac);
	assert_int_equal(auth(fd2, 9, mac), MPSTORE__STATUS__ERR_AUTH);
	close(fd2);
	/* only a and b exist */
	netu_req_init(&q, MPSTORE__OP_CODE__OP_LIST_CONTAINERS, "");
	r = netu_call(fd, 1, &q);
	assert_non_null(r);
	assert_int_equal(r->results[0]->n_containers, 2);
	mpstore__response__free_unpacked(r, NULL);
	close(fd);
}

/* An authenticated connection ready for client cid. */
static int open_authed(uint64_t cid)
{
	uint8_t nonce[32], mac[32];
	int     fd = netu_open(d.url);
	assert_true(fd >= 0);
	hello(fd, nonce);
	mac_of("s3cret", nonce, cid, mac);
	assert_int_equal(auth(fd, cid, mac), 0);
	return fd;
}

/* With a key there is no PUB: a watcher follows the store with OP_CHANGES
 * on its authenticated connection, which waits for the next change; an
 * unauthenticated one gets nothing. */
static void test_watch_without_pub(void **state)
{
	(void)state;
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_HELLO, NULL);
	int                fd = netu_open(d.url);
	Mpstore__Response *r = netu_call(fd, 1, &q);
	assert_non_null(r);
	for (size_t i = 0; i < r->results[0]->n_values; i++)
		assert_null(strstr(r->results[0]->values[i]->string_value, "pub="));
	mpstore__response__free_unpacked(r, NULL);
	netu_req_init(&q, MPSTORE__OP_CODE__OP_CHANGES, "w");
	q.op.from_revision = 1;
	r = netu_call(fd, 1, &q);
	assert_non_null(r);
	assert_int_equal(r->status, MPSTORE__STATUS__ERR_AUTH);
	mpstore__response__free_unpacked(r, NULL);
	close(fd);

	int watcher = open_authed(11), writer = open_authed(12);
	netu_req_init(&q, MPSTORE__OP_CODE__OP_PING, NULL);
	q.rq.client_id = 12;
	r = netu_call(writer, 1, &q);
	uint64_t rev = r->revision;
	mpstore__response__free_unpacked(r, NULL);
	/* nothing yet: the request waits ... */
	netu_req_init(&q, MPSTORE__OP_CODE__OP_CHANGES, "w");
	q.rq.client_id = 11;
	q.op.from_revision = rev + 1;
	q.op.timeout_ms = 60000;
	assert_int_equal(netu_send(watcher, 1, 77, &q.rq), 0);
	long long end = mpst_now_ms() + 30000;
	while (netu_stat_authed() < 1 && mpst_now_ms() < end)
		mpst_sleep_ms(20);
	/* ... until a change it matches comes: another container's does not */
	assert_int_equal(create(writer, 12, "other"), 0);
	assert_int_equal(create(writer, 12, "w"), 0);
	uint32_t id;
	r = netu_recv(watcher, 1, &id);
	assert_non_null(r);
	assert_int_equal(id, 77);
	assert_int_equal(r->results[0]->status, 0);
	assert_int_equal(r->results[0]->n_changes, 1);
	assert_string_equal(r->results[0]->changes[0]->name, "w");
	mpstore__response__free_unpacked(r, NULL);
	/* a deadline with nothing new: answered, empty */
	q.op.from_revision = rev + 10;
	q.op.timeout_ms = 200;
	r = netu_call(watcher, 1, &q);
	assert_non_null(r);
	assert_int_equal(r->results[0]->status, 0);
	assert_int_equal(r->results[0]->n_changes, 0);
	mpstore__response__free_unpacked(r, NULL);
	close(watcher);
	close(writer);
	/* and PUB with a key only when asked for on purpose */
	char out[2048], err[2048];
	int  rv = mpst_run((const char *const[]){mpst_mpstored_path(), "--durability", "memory",
	    "--auth-key-file", keyfile, "--listen", "ipc:///tmp/mpst-never.ipc", "--pub",
	    "ipc:///tmp/mpst-never-pub.ipc", NULL}, out, sizeof(out), err, sizeof(err));
	assert_int_equal(rv, 2);
	assert_non_null(strstr(err, "--pub-no-auth"));
}

/* Many failures, few log lines. */
static void test_failures_logged_rate_limited(void **state)
{
	(void)state;
	uint8_t nonce[32], mac[32];
	for (int i = 0; i < 50; i++) {
		int fd = netu_open(d.url);
		hello(fd, nonce);
		mac_of("nope", nonce, 1, mac);
		assert_int_equal(auth(fd, 1, mac), MPSTORE__STATUS__ERR_AUTH);
		close(fd);
	}
	FILE *f = fopen(d.log, "r");
	assert_non_null(f);
	char line[512];
	int  lines = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		lines += strstr(line, "authentication failed") != NULL;
	fclose(f);
	assert_true(lines >= 1);
	assert_true(lines < 50);
}

/* The CLI (libmpstore) authenticates with $MPSTORE_AUTH_KEY. */
static void test_cli(void **state)
{
	(void)state;
	char        out[4096], err[4096];
	const char *ls[] = {mpst_cli_path(), "--url", d.url, "ls", NULL};
	unsetenv("MPSTORE_AUTH_KEY");
	assert_int_not_equal(mpst_run(ls, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(err, "key"));
	setenv("MPSTORE_AUTH_KEY", "wrong", 1);
	assert_int_not_equal(mpst_run(ls, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(err, "ERR_AUTH"));
	setenv("MPSTORE_AUTH_KEY", "s3cret", 1);
	assert_int_equal(mpst_run(ls, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(out, "a"));
	unsetenv("MPSTORE_AUTH_KEY");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake),
	    cmocka_unit_test(test_watch_without_pub),
	    cmocka_unit_test(test_failures_logged_rate_limited),
	    cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
