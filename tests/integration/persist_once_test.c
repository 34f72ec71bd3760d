/*
 * persist_once_test - "applied once" across daemon crashes (issue 13): the
 * answer of a committed write is kept in the transaction of its changes,
 * so a request re-sent after kill -9 and a restart gets its first answer
 * instead of being applied again. Over raw SP connections (net_util.h),
 * with fixed client ids and request ids, against a real mpstored in the
 * durability mode given as argv[1] (log or fsync):
 *  1. kill between commit and reply: a VALUE_ADD whose reply the client
 *     never reads; once the daemon counts it committed, kill -9; after the
 *     restart the same bytes, re-sent on a new connection, get the first
 *     answer (the same value and revision) and the counter shows one
 *     application; a new request id is applied.
 *  2. pipelined writers, kill -9 at random points: each writer adds 1 to
 *     its own counter with request ids 1, 2, 3, ..., 16 in flight, until
 *     the daemon was killed and restarted five times; when its connection
 *     drops it reconnects to the restarted daemon and re-sends every
 *     request it has no answer for, byte for byte. Every answer to id k
 *     says k, and every counter ends at the number of ids its writer sent.
 *  3. prune: a session's kept answers are deleted one lease after it ended
 *     (in normal operation, and for the sessions restored at a restart)
 *     while a live client's stay; checked in the answers table after a
 *     snapshot, and with the sqlite3 command-line tool after a clean stop.
 * Before the answers were kept, part 1 answered 20 (applied twice), part
 * 2's answers said more than their ids, and part 3 found no answers
 * table. argv[2] runs one part alone (1, 2 or 3).
 */
#include <pthread.h>

#include "persist_common.h"
#include "net_util.h"

static const char *mode = "log";

/* ---- requests by hand ---- */

/* The packed Request{version 1, id, client_id, ops: [VALUE_ADD name delta]}
 * (malloc'ed, *len bytes). */
static uint8_t *pack_add(uint64_t client, uint64_t id, const char *name, int64_t delta,
    size_t *len)
{
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_VALUE_ADD, name);
	netu_req_int(&q, delta);
	q.rq.id = id;
	q.rq.client_id = client;
	*len = mpstore__request__get_packed_size(&q.rq);
	uint8_t *b = malloc(*len);
	PT_TRUE(b != NULL);
	mpstore__request__pack(&q.rq, b);
	return b;
}

/* Send body as one request frame with SP request id sp_id (ipc). 0 or -1. */
static int send_body(int fd, uint32_t sp_id, const uint8_t *body, size_t len)
{
	uint8_t hdr[13];
	size_t  h = netu_hdr(hdr, 1, 4 + len);
	sp_id |= 0x80000000u;
	hdr[h++] = (uint8_t)(sp_id >> 24);
	hdr[h++] = (uint8_t)(sp_id >> 16);
	hdr[h++] = (uint8_t)(sp_id >> 8);
	hdr[h++] = (uint8_t)sp_id;
	return netu_write_all(fd, hdr, h) == 0 && netu_write_all(fd, body, len) == 0 ? 0 : -1;
}

/* The int64 a one-op reply carries (status OK), else fail. */
static int64_t reply_int(const Mpstore__Response *r, uint64_t want_id)
{
	PT_TRUE(r != NULL, "no reply");
	PT_TRUE(r->status == 0, "request-level status %d: %s", (int)r->status,
	    r->error ? r->error : "");
	PT_TRUE(r->id == want_id, "reply to id %llu, want %llu", (unsigned long long)r->id,
	    (unsigned long long)want_id);
	PT_TRUE(r->n_results == 1 && r->results[0]->status == 0, "result status %d",
	    r->n_results ? (int)r->results[0]->status : -1);
	const Mpstore__Value *v = r->results[0]->value;
	PT_TRUE(v != NULL && v->v_case == MPSTORE__VALUE__V_INT_VALUE, "no int value");
	return v->int_value;
}

static int open_retry(const mpst_daemon *d, int ms)
{
	long long end = mpst_now_ms() + ms;
	for (;;) {
		int fd = netu_open(d->url);
		if (fd >= 0)
			return fd;
		if (mpst_now_ms() > end)
			return -1;
		mpst_sleep_ms(10);
	}
}

/* ---- 1. kill -9 between the commit and the reply ---- */

#define CLIENT1 0x0123456789abcdefull

static void kill_between_commit_and_reply(void)
{
	mpst_daemon d;
	pt_start(&d, (const char *const[]){"--durability", mode, "--lease", "60", NULL});
	mps_client *c = pt_connect(&d);
	PT_OK(mps_create_simple(c, "once.ctr", MPS_KIND_VALUE, MPS_TYPE_INT64));
	PT_OK(mps_counter_add(c, "once.ctr", 10, NULL));
	mps_close(c);

	long long before = netu_stat(d.url, "committed_changes");
	PT_TRUE(before > 0);
	size_t   len;
	uint8_t *body = pack_add(CLIENT1, 77, "once.ctr", 5, &len);
	int      fd = netu_open(d.url);
	PT_TRUE(fd >= 0);
	PT_TRUE(send_body(fd, 1, body, len) == 0);
	/* the reply is never read on this connection: wait for the commit */
	long long end = mpst_now_ms() + 30000, now = before;
	while ((now = netu_stat(d.url, "committed_changes")) < before + 1 && mpst_now_ms() < end)
		mpst_sleep_ms(5);
	PT_TRUE(now == before + 1, "committed_changes %lld, want %lld", now, before + 1);
	pt_kill9(&d);
	/* what the daemon wrote before it died is still in our socket */
	struct timeval tv = {0, 200000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint32_t           sp = 0;
	Mpstore__Response *first = netu_recv(fd, 1, &sp);
	close(fd);

	pt_restart(&d);
	fd = netu_open(d.url);
	PT_TRUE(fd >= 0);
	PT_TRUE(send_body(fd, 2, body, len) == 0); /* the same bytes */
	Mpstore__Response *again = netu_recv(fd, 1, &sp);
	PT_TRUE(sp == 2);
	int64_t v = reply_int(again, 77);
	PT_TRUE(v == 15, "the re-send after kill -9 answered %lld: applied twice", (long long)v);
	if (first != NULL) {
		PT_TRUE(reply_int(first, 77) == 15);
		PT_TRUE(first->revision == again->revision &&
		        first->results[0]->revision == again->results[0]->revision,
		    "the re-send's answer is not the first one");
		mpstore__response__free_unpacked(first, NULL);
	}
	/* again, and the counter saw one application */
	PT_TRUE(send_body(fd, 3, body, len) == 0);
	Mpstore__Response *third = netu_recv(fd, 1, &sp);
	PT_TRUE(reply_int(third, 77) == 15 && third->revision == again->revision);
	mpstore__response__free_unpacked(third, NULL);
	mpstore__response__free_unpacked(again, NULL);
	c = pt_connect(&d);
	int64_t ctr = 0;
	PT_OK(mps_counter_get(c, "once.ctr", &ctr));
	PT_TRUE(ctr == 15, "counter %lld after the re-sends, want 15", (long long)ctr);
	/* a new request id is a new request */
	free(body);
	body = pack_add(CLIENT1, 78, "once.ctr", 5, &len);
	PT_TRUE(send_body(fd, 4, body, len) == 0);
	Mpstore__Response *next = netu_recv(fd, 1, &sp);
	PT_TRUE(reply_int(next, 78) == 20);
	mpstore__response__free_unpacked(next, NULL);
	free(body);
	close(fd);
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
	printf("ok  kill -9 between commit and reply: the re-send got the first answer (%s)\n",
	    mode);
}

/* ---- 2. pipelined writers, kill -9 at random points ---- */

#define WRITERS 8
#define WINDOW  16
#define MAX_IDS 2000000

static int stop_writers; /* atomic: send no new ids */

typedef struct writer {
	pthread_t    th;
	int          w;
	int          n;          /* ids sent: 1..n */
	uint64_t     client;
	char         name[32];
	mpst_daemon *d;
	int          reconnects;
	int          resent;
} writer;

static void *writer_main(void *arg)
{
	writer  *wr = arg;
	char    *answered = calloc(MAX_IDS + 1, 1);
	int      nanswered = 0, next = 1;
	int      fd = open_retry(wr->d, 60000);
	PT_TRUE(answered != NULL && fd >= 0, "writer %d cannot connect", wr->w);
	for (;;) {
		int lost = 0, stop = __atomic_load_n(&stop_writers, __ATOMIC_ACQUIRE);
		if (stop && nanswered == next - 1)
			break;
		/* keep WINDOW requests in flight */
		while (!lost && !stop && next <= MAX_IDS && (next - 1) - nanswered < WINDOW) {
			size_t   len;
			uint8_t *b = pack_add(wr->client, (uint64_t)next, wr->name, 1, &len);
			lost = send_body(fd, (uint32_t)next, b, len) != 0;
			free(b);
			if (!lost)
				next++;
		}
		uint32_t           sp = 0;
		Mpstore__Response *r = lost ? NULL : netu_recv(fd, 1, &sp);
		if (r != NULL) {
			PT_TRUE(r->id >= 1 && r->id < (uint64_t)next, "writer %d: a reply to id %llu",
			    wr->w, (unsigned long long)r->id);
			int64_t v = reply_int(r, r->id);
			/* ids apply in order, once each: id k makes the counter k */
			PT_TRUE(v == (int64_t)r->id, "writer %d: id %llu answered %lld (applied twice?)",
			    wr->w, (unsigned long long)r->id, (long long)v);
			if (!answered[r->id]) {
				answered[r->id] = 1;
				nanswered++;
			}
			mpstore__response__free_unpacked(r, NULL);
			continue;
		}
		/* the connection dropped (the daemon was killed): to the next
		 * daemon, and every request without an answer again, in order */
		close(fd);
		fd = open_retry(wr->d, 60000);
		PT_TRUE(fd >= 0, "writer %d: no daemon to reconnect to", wr->w);
		wr->reconnects++;
		for (int id = 1; id < next && fd >= 0; id++) {
			if (answered[id])
				continue;
			size_t   len;
			uint8_t *b = pack_add(wr->client, (uint64_t)id, wr->name, 1, &len);
			if (send_body(fd, (uint32_t)id, b, len) != 0) {
				free(b);
				break; /* dropped again: the next round re-sends */
			}
			free(b);
			wr->resent++;
		}
	}
	close(fd);
	free(answered);
	wr->n = next - 1;
	return NULL;
}

static void pipelined_writers_and_kills(void)
{
	int          kills_max = pt_soak() ? 50 : 5, total = 0;
	unsigned     seed = (unsigned)mpst_now_ms() ^ (unsigned)getpid();
	mpst_daemon  d;
	static writer ws[WRITERS];
	printf("seed %u\n", seed);
	pt_start(&d, (const char *const[]){"--durability", mode, "--lease", "60", NULL});
	mps_client *c = pt_connect(&d);
	for (int i = 0; i < WRITERS; i++) {
		ws[i] = (writer){.w = i, .d = &d, .client = 0x5eed000000000000ull + (uint64_t)i + 1};
		snprintf(ws[i].name, sizeof(ws[i].name), "once.w%d", i);
		PT_OK(mps_create_simple(c, ws[i].name, MPS_KIND_VALUE, MPS_TYPE_INT64));
	}
	mps_close(c);
	for (int i = 0; i < WRITERS; i++)
		PT_TRUE(pthread_create(&ws[i].th, NULL, writer_main, &ws[i]) == 0);
	for (int k = 0; k < kills_max; k++) {
		mpst_sleep_ms(20 + (int)(rand_r(&seed) % 250)); /* writes in flight */
		pt_kill9(&d);
		mpst_sleep_ms((int)(rand_r(&seed) % 100));
		pt_restart(&d);
	}
	mpst_sleep_ms(100);
	__atomic_store_n(&stop_writers, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(ws[i].th, NULL);
	c = pt_connect(&d);
	int reconnects = 0, resent = 0;
	for (int i = 0; i < WRITERS; i++) {
		int64_t v = -1;
		PT_OK(mps_counter_get(c, ws[i].name, &v));
		PT_TRUE(v == ws[i].n, "%s is %lld after %d distinct requests", ws[i].name, (long long)v,
		    ws[i].n);
		total += ws[i].n;
		reconnects += ws[i].reconnects;
		resent += ws[i].resent;
	}
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
	PT_TRUE(reconnects >= kills_max, "%d reconnects for %d kills", reconnects,
	    kills_max);
	printf("ok  %d writers, %d requests, %d kills, %d reconnects, %d re-sent: every counter "
	       "is its writer's number of requests (%s)\n",
	    WRITERS, total, kills_max, reconnects, resent, mode);
}

/* ---- 3. answers pruned one lease after their session ended ---- */

#define CLIENT_X 0x00000000000000aaull
#define CLIENT_Z 0x00000000000000bbull

/* Rows of the answers table for client (-1: the query failed). */
static long long rows_of(const char *db, uint64_t client)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM answers WHERE client_id = %lld",
	    (long long)client);
	return pt_sql_int(db, sql);
}

/* The same through the sqlite3 command-line tool (-1: it failed). */
static long long rows_cli(const char *db, uint64_t client)
{
	char sql[160], out[64], err[512];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM answers WHERE client_id = %lld",
	    (long long)client);
	const char *argv[] = {"/usr/bin/sqlite3", db, sql, NULL};
	int         st = mpst_run(argv, out, sizeof(out), err, sizeof(err));
	if (st != 0) {
		fprintf(stderr, "sqlite3 %s \"%s\": exit %d: %s\n", db, sql, st, err);
		return -1;
	}
	return strtoll(out, NULL, 10);
}

/* Wait until the daemon holds n sessions (an ended one is freed, and its
 * answers pruned, one lease after it ended). */
static void wait_sessions(const mpst_daemon *d, long long n)
{
	long long end = mpst_now_ms() + 30000, now = -1;
	while ((now = netu_stat(d->url, "sessions")) != n && mpst_now_ms() < end)
		mpst_sleep_ms(50);
	PT_TRUE(now == n, "%lld sessions, want %lld", now, n);
}

/* Add 1 to p.ctr as client with ids first..last, reading each answer. */
static void raw_adds(int fd, uint64_t client, uint64_t first, uint64_t last)
{
	for (uint64_t id = first; id <= last; id++) {
		size_t   len;
		uint8_t *b = pack_add(client, id, "p.ctr", 1, &len);
		uint32_t sp = 0;
		PT_TRUE(send_body(fd, (uint32_t)id, b, len) == 0);
		Mpstore__Response *r = netu_recv(fd, 1, &sp);
		reply_int(r, id);
		mpstore__response__free_unpacked(r, NULL);
		free(b);
	}
}

/*
 * Answers live in the log row of their commit until a snapshot compacts
 * it: then the current ones go to the answers table. So a snapshot (or a
 * clean stop, whose final snapshot compacts everything) shows in the table
 * what is kept, and what was pruned is not there.
 */
static void prune_after_lease(void)
{
	mpst_daemon d;
	pt_start(&d, (const char *const[]){"--durability", mode, "--lease", "3", NULL});
	/* Y: a live client (libmpstore pings every lease / 3) */
	mps_client *y = pt_connect(&d);
	PT_OK(mps_create_simple(y, "p.ctr", MPS_KIND_VALUE, MPS_TYPE_INT64));
	PT_OK(mps_counter_add(y, "p.ctr", 1, NULL));
	uint64_t cy = mps_server(y)->client_id;

	/* Z writes and leaves: its session is freed a lease later, and its
	 * answer is not carried by the next snapshot */
	int fd = netu_open(d.url);
	PT_TRUE(fd >= 0);
	raw_adds(fd, CLIENT_Z, 1, 1);
	close(fd);
	wait_sessions(&d, 1); /* Y's only */
	PT_OK(mps_snapshot(y, NULL));
	PT_TRUE(rows_of(d.db, CLIENT_Z) == 0, "a freed session's answer was kept");
	PT_TRUE(rows_of(d.db, cy) == 2, "a live client's two answers are not kept");

	/* X writes, the daemon stops cleanly: the answers stay */
	fd = netu_open(d.url);
	PT_TRUE(fd >= 0);
	raw_adds(fd, CLIENT_X, 1, 3);
	pt_stop(&d);
	close(fd);
	PT_TRUE(rows_cli(d.db, CLIENT_X) == 3, "X's answers after a clean stop");
	PT_TRUE(rows_cli(d.db, CLIENT_Z) == 0);
	PT_TRUE(rows_cli(d.db, cy) == 2);

	/* restored at start, in sessions ended then: X does not come back, so
	 * its answers go a lease later; Y comes back and keeps its own */
	pt_restart(&d);
	int64_t v = 0;
	PT_OK(mps_counter_get(y, "p.ctr", &v)); /* reconnects: Y's session is live again */
	PT_TRUE(v == 5, "p.ctr is %lld", (long long)v);
	wait_sessions(&d, 1);
	PT_OK(mps_snapshot(y, NULL)); /* the prune's transaction is in */
	PT_TRUE(rows_of(d.db, CLIENT_X) == 0, "X's answers outlived its restored session");
	PT_TRUE(rows_of(d.db, cy) == 2, "a live client's answers were pruned");
	mps_close(y);
	pt_stop(&d);
	PT_TRUE(rows_cli(d.db, CLIENT_X) == 0, "X's answers after the lease and a clean stop");
	PT_TRUE(rows_cli(d.db, cy) == 2);
	pt_done(&d);
	printf("ok  answers pruned one lease after their session ended (%s)\n", mode);
}

int main(int argc, char **argv)
{
	pt_init();
	if (argc > 1)
		mode = argv[1];
	PT_TRUE(strcmp(mode, "log") == 0 || strcmp(mode, "fsync") == 0, "mode: log or fsync");
	int part = argc > 2 ? atoi(argv[2]) : 0; /* one part alone (0: all) */
	if (part == 0 || part == 1)
		kill_between_commit_and_reply();
	if (part == 0 || part == 2)
		pipelined_writers_and_kills();
	if (part == 0 || part == 3)
		prune_after_lease();
	return 0;
}
