/* client_operator_test.c - what operators see (issue 15) against a real
 * mpstored: clients' names and pids from OP_HELLO (given, cut, refused),
 * OP_CLIENTS (every connection, what its session holds, parked requests),
 * OP_HOLDERS (who holds every lock-like kind, who waits on every kind, in
 * order, with their timeouts), and OP_STATS by sections (every section,
 * one section, per-container memory, the flat lines tools parse). */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_test_util.h"
#include "support.h"

extern char *program_invocation_short_name;

static mpst_daemon d;

static mps_client *
open_named(const char *name)
{
	mps_client *c;
	if (name != NULL) {
		setenv("MPSTORE_CLIENT_NAME", name, 1);
	}
	CT_OK(mps_open(&c, d.url, 5000));
	unsetenv("MPSTORE_CLIENT_NAME");
	return c;
}

/* The connection named name in a list, or NULL. */
static const mps_party *
find(const mps_party *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, name) == 0) {
			return &v[i];
		}
	}
	return NULL;
}

static int
has_client(mps_client *c, const char *name, int64_t *pid)
{
	mps_party *v;
	size_t     n;
	CT_OK(mps_clients(c, &v, &n, NULL, NULL));
	const mps_party *p = find(v, n, name);
	if (p != NULL && pid != NULL) {
		*pid = p->pid;
	}
	int yes = p != NULL;
	free(v);
	return yes;
}

static void
test_names(void)
{
	int64_t     pid = 0;
	mps_client *a = open_named(NULL);
	/* by default: the program's name and pid */
	CT_TRUE(has_client(a, program_invocation_short_name, &pid));
	CT_TRUE(pid == getpid());
	mps_client *b = open_named("worker 7: ünïcode");
	CT_TRUE(has_client(a, "worker 7: ünïcode", &pid) && pid == getpid());
	mps_close(b);
	/* longer than 63 bytes: cut at a character boundary (é is 2 bytes at 62) */
	char long_name[80];
	memset(long_name, 'a', 62);
	strcpy(long_name + 62, "\xc3\xa9zzz");
	b = open_named(long_name);
	long_name[62] = '\0';
	CT_TRUE(has_client(a, long_name, NULL));
	mps_close(b);
	/* control characters and bad UTF-8 are refused */
	setenv("MPSTORE_CLIENT_NAME", "two\nlines", 1);
	CT_CHECK(mps_open(&b, d.url, 5000), MPS_ERR_INVALID);
	setenv("MPSTORE_CLIENT_NAME", "bad \xff byte", 1);
	CT_CHECK(mps_open(&b, d.url, 5000), MPS_ERR_INVALID);
	setenv("MPSTORE_CLIENT_NAME", "overlong \xc0\xaf", 1);
	CT_CHECK(mps_open(&b, d.url, 5000), MPS_ERR_INVALID);
	unsetenv("MPSTORE_CLIENT_NAME");
	/* a pid that is no pid */
	mps_batch *bt;
	mps_result r;
	CT_OK(mps_batch_alloc(a, &bt));
	mps_op op = {.code = MPS_OP_HELLO, .name = "x", .count = -5};
	CT_OK(mps_batch_append(bt, &op));
	CT_OK(mps_batch_exec(bt));
	CT_OK(mps_batch_result(bt, 0, &r));
	CT_TRUE(r.status == MPS_ERR_INVALID);
	mps_batch_free(bt);
	mps_close(a);
}

/* A blocking op on its own handle and thread. */
typedef struct waiter {
	mps_client  *c;
	const char  *name;
	mps_opcode   op;
	int64_t      timeout;
	pthread_t    t;
	mps_err      e;
	volatile int done;
} waiter;

static void *
wait_main(void *arg)
{
	waiter   *w = arg;
	mps_value v;
	int64_t   i;
	switch (w->op) {
	case MPS_OP_LOCK_ACQUIRE: w->e = mps_rlock_acquire(w->c, w->name, w->timeout, NULL, NULL); break;
	case MPS_OP_SEM_ACQUIRE: w->e = mps_sem_acquire(w->c, w->name, w->timeout, NULL); break;
	case MPS_OP_QUEUE_GET:
		if ((w->e = mps_queue_get(w->c, w->name, w->timeout, &v)) == MPS_OK) {
			mps_value_free(&v);
		}
		break;
	case MPS_OP_EVENT_WAIT: w->e = mps_event_wait(w->c, w->name, w->timeout, NULL); break;
	case MPS_OP_BARRIER_WAIT: w->e = mps_barrier_wait(w->c, w->name, w->timeout, &i); break;
	default: w->e = MPS_ERR_INVALID; break;
	}
	w->done = 1;
	return NULL;
}

static void
start_waiter(waiter *w, const char *client, const char *name, mps_opcode op, int64_t timeout)
{
	memset(w, 0, sizeof(*w));
	w->c       = open_named(client);
	w->name    = name;
	w->op      = op;
	w->timeout = timeout;
	CT_TRUE(pthread_create(&w->t, NULL, wait_main, w) == 0);
}

static void
join_waiter(waiter *w, mps_err want)
{
	pthread_join(w->t, NULL);
	CT_CHECK(w->e, want);
}

static void
end_waiter(waiter *w, mps_err want)
{
	join_waiter(w, want);
	mps_close(w->c);
}

/* Wait (generously: by state, not by time) until name has n waiters. */
static void
await_waiters(mps_client *c, const char *name, size_t n)
{
	for (long long t0 = mpst_now_ms(); mpst_now_ms() - t0 < 60000; mpst_sleep_ms(20)) {
		mps_party *h, *w;
		size_t     nh, nw;
		CT_OK(mps_holders(c, name, &h, &nh, &w, &nw));
		free(h);
		free(w);
		if (nw == n) {
			return;
		}
	}
	CT_TRUE(!"waiters never came");
}

static void
check_waiter(const mps_party *p, const char *name, mps_opcode op, int64_t timeout)
{
	CT_TRUE(strcmp(p->name, name) == 0);
	CT_TRUE(p->pid == getpid() && p->conn != 0 && p->client_id != 0);
	CT_TRUE(p->op == op && p->timeout_ms == timeout);
	CT_TRUE(p->age_ms >= 0 && p->age_ms < 120000);
	if (timeout < 0) {
		CT_TRUE(p->remaining_ms == -1);
	} else {
		CT_TRUE(p->remaining_ms >= 0 && p->remaining_ms <= timeout);
	}
}

/* Who holds and who waits, for every lock-like kind, and what
 * `mpstore clients` shows of it. */
static void
test_holders_and_clients(void)
{
	mps_client *a = open_named("alpha");
	mps_create_opts o = {.kind = MPS_KIND_RLOCK};
	uint64_t        tok;
	int64_t         depth;
	CT_OK(mps_create(a, "L", &o));
	CT_OK(mps_rlock_acquire(a, "L", -1, &tok, &depth));
	CT_OK(mps_rlock_acquire(a, "L", -1, NULL, &depth));
	CT_TRUE(depth == 2);
	o = (mps_create_opts){.kind = MPS_KIND_SEMAPHORE, .count = 2};
	CT_OK(mps_create(a, "S", &o));
	CT_OK(mps_sem_acquire(a, "S", -1, NULL));
	CT_OK(mps_sem_acquire(a, "S", -1, NULL));
	o = (mps_create_opts){.kind = MPS_KIND_CONDITION};
	CT_OK(mps_create(a, "C", &o));
	uint64_t ctok;
	CT_OK(mps_cond_acquire(a, "C", -1, &ctok));

	waiter wb, wg, ws;
	start_waiter(&wb, "beta", "L", MPS_OP_LOCK_ACQUIRE, -1);
	await_waiters(a, "L", 1);
	start_waiter(&wg, "gamma", "L", MPS_OP_LOCK_ACQUIRE, 60000);
	await_waiters(a, "L", 2);
	start_waiter(&ws, "sigma", "S", MPS_OP_SEM_ACQUIRE, 90000);
	await_waiters(a, "S", 1);

	mps_party *h, *w;
	size_t     nh, nw;
	CT_OK(mps_holders(a, "L", &h, &nh, &w, &nw));
	CT_TRUE(nh == 1 && nw == 2);
	CT_TRUE(strcmp(h[0].name, "alpha") == 0 && h[0].pid == getpid());
	CT_TRUE(h[0].token == tok && h[0].count == 2 && h[0].age_ms >= 0 && h[0].conn != 0);
	check_waiter(&w[0], "beta", MPS_OP_LOCK_ACQUIRE, -1); /* in line order */
	check_waiter(&w[1], "gamma", MPS_OP_LOCK_ACQUIRE, 60000);
	uint32_t alpha_conn = h[0].conn;
	free(h);
	free(w);
	CT_OK(mps_holders(a, "S", &h, &nh, &w, &nw));
	CT_TRUE(nh == 1 && h[0].count == 2 && strcmp(h[0].name, "alpha") == 0 && h[0].token > 0);
	CT_TRUE(nw == 1);
	check_waiter(&w[0], "sigma", MPS_OP_SEM_ACQUIRE, 90000);
	free(h);
	free(w);
	CT_OK(mps_holders(a, "C", &h, &nh, &w, &nw));
	CT_TRUE(nh == 1 && h[0].count == 1 && h[0].token == ctok && nw == 0);
	free(h);
	free(w);

	/* clients: one per connection, with what its session holds */
	mps_party *cl, *holds;
	size_t     n, nholds;
	CT_OK(mps_clients(a, &cl, &n, &holds, &nholds));
	const mps_party *pa = find(cl, n, "alpha"), *pb = find(cl, n, "beta");
	CT_TRUE(pa != NULL && pb != NULL && pa->conn == alpha_conn);
	CT_TRUE(pa->pid == getpid() && pa->peer_pid == getpid()); /* ipc: the socket's pid too */
	CT_TRUE(pa->requests >= 8 && pa->parked == 0 && pa->age_ms >= pa->idle_ms);
	CT_TRUE(pb->parked == 1 && pb->addr[0] != '\0');
	for (size_t i = 1; i < n; i++) {
		CT_TRUE(cl[i - 1].conn < cl[i].conn);
	}
	int seen = 0;
	for (size_t i = 0; i < nholds; i++) {
		const mps_party *x = &holds[i];
		CT_TRUE(x->conn == alpha_conn); /* only alpha holds anything */
		if (strcmp(x->container, "L") == 0) {
			CT_TRUE(x->kind == MPS_KIND_RLOCK && x->count == 2 && x->token == tok);
			seen |= 1;
		} else if (strcmp(x->container, "S") == 0) {
			CT_TRUE(x->kind == MPS_KIND_SEMAPHORE && x->count == 2);
			seen |= 2;
		} else if (strcmp(x->container, "C") == 0) {
			CT_TRUE(x->kind == MPS_KIND_CONDITION && x->count == 1);
			seen |= 4;
		}
	}
	CT_TRUE(seen == 7 && nholds == 3);
	free(cl);
	free(holds);

	/* alpha lets go: beta holds, gamma still waits */
	CT_OK(mps_lock_release(a, "L"));
	CT_OK(mps_lock_release(a, "L"));
	join_waiter(&wb, MPS_OK);
	CT_OK(mps_holders(a, "L", &h, &nh, &w, &nw));
	CT_TRUE(nh == 1 && strcmp(h[0].name, "beta") == 0 && h[0].count == 1 && h[0].token > tok);
	CT_TRUE(nw == 1 && strcmp(w[0].name, "gamma") == 0);
	free(h);
	free(w);
	mps_close(wb.c);
	end_waiter(&wg, MPS_OK); /* beta's close released it to gamma */
	CT_OK(mps_sem_release(a, "S", NULL));
	end_waiter(&ws, MPS_OK);
	for (long long t0 = mpst_now_ms(); has_client(a, "beta", NULL); mpst_sleep_ms(20)) {
		CT_TRUE(mpst_now_ms() - t0 < 60000); /* closed connections leave the list */
	}
	CT_OK(mps_cond_release(a, "C"));
	mps_close(a);
}

/* Waiters of the kinds that have no holders: queue, event, barrier. */
static void
test_waiters(void)
{
	mps_client *a = open_named("ops");
	CT_OK(mps_create_simple(a, "Q", MPS_KIND_QUEUE, MPS_TYPE_ANY));
	CT_OK(mps_create_simple(a, "E", MPS_KIND_EVENT, MPS_TYPE_ANY));
	mps_create_opts o = {.kind = MPS_KIND_BARRIER, .count = 3};
	CT_OK(mps_create(a, "B", &o));
	waiter q, e, b1, b2;
	start_waiter(&q, "getter", "Q", MPS_OP_QUEUE_GET, 120000);
	start_waiter(&e, "eventer", "E", MPS_OP_EVENT_WAIT, -1);
	start_waiter(&b1, "party1", "B", MPS_OP_BARRIER_WAIT, -1);
	await_waiters(a, "B", 1);
	start_waiter(&b2, "party2", "B", MPS_OP_BARRIER_WAIT, -1);
	await_waiters(a, "Q", 1);
	await_waiters(a, "E", 1);
	await_waiters(a, "B", 2);
	mps_party *h, *w;
	size_t     nh, nw;
	CT_OK(mps_holders(a, "Q", &h, &nh, &w, &nw));
	CT_TRUE(nh == 0 && nw == 1);
	check_waiter(&w[0], "getter", MPS_OP_QUEUE_GET, 120000);
	free(h);
	free(w);
	CT_OK(mps_holders(a, "E", &h, &nh, &w, &nw));
	CT_TRUE(nh == 0 && nw == 1);
	check_waiter(&w[0], "eventer", MPS_OP_EVENT_WAIT, -1);
	free(h);
	free(w);
	CT_OK(mps_holders(a, "B", &h, &nh, &w, &nw));
	CT_TRUE(nh == 0 && nw == 2);
	check_waiter(&w[0], "party1", MPS_OP_BARRIER_WAIT, -1);
	check_waiter(&w[1], "party2", MPS_OP_BARRIER_WAIT, -1);
	free(h);
	free(w);
	CT_CHECK(mps_holders(a, "nothing", &h, &nh, &w, &nw), MPS_ERR_NOT_FOUND);
	mps_value one = mps_int(1);
	CT_OK(mps_queue_put(a, "Q", &one, 0, NULL));
	CT_OK(mps_event_set(a, "E"));
	int64_t idx;
	CT_OK(mps_barrier_wait(a, "B", -1, &idx));
	end_waiter(&q, MPS_OK);
	end_waiter(&e, MPS_OK);
	end_waiter(&b1, MPS_OK);
	end_waiter(&b2, MPS_OK);
	mps_close(a);
}

static const char *
stat_of(const mps_stat *s, size_t n, const char *key, const char **section)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s[i].key, key) == 0) {
			if (section != NULL) {
				*section = s[i].section;
			}
			return s[i].value;
		}
	}
	return NULL;
}

static void
test_info(void)
{
	static const char *const sections[] = {"server", "clients", "memory", "persistence", "watch",
		"limits"};
	mps_client *a = open_named("info");
	mps_stat   *s;
	size_t      n;
	/* every section, in order, each line once */
	CT_OK(mps_daemon_info(a, NULL, &s, &n, NULL, NULL));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		while (k < 6 && strcmp(s[i].section, sections[k]) != 0) {
			k++;
		}
		CT_TRUE(k < 6); /* a known section, not going back */
		for (size_t j = 0; j < i; j++) {
			CT_TRUE(strcmp(s[i].key, s[j].key) != 0);
		}
	}
	const char *sec, *v;
	char        pid[32];
	snprintf(pid, sizeof(pid), "%ld", (long) d.pid);
	CT_TRUE((v = stat_of(s, n, "pid", &sec)) != NULL && strcmp(v, pid) == 0 &&
	        strcmp(sec, "server") == 0);
	CT_TRUE((v = stat_of(s, n, "database", NULL)) != NULL && strcmp(v, d.db) == 0);
	CT_TRUE((v = stat_of(s, n, "version", NULL)) != NULL && strncmp(v, "mpstored ", 9) == 0);
	CT_TRUE((v = stat_of(s, n, "clients", &sec)) != NULL && atoi(v) >= 1 &&
	        strcmp(sec, "clients") == 0);
	CT_TRUE((v = stat_of(s, n, "rss_kb", &sec)) != NULL && atol(v) > 0 &&
	        strcmp(sec, "memory") == 0);
	CT_TRUE(stat_of(s, n, "wal_bytes", &sec) != NULL && strcmp(sec, "persistence") == 0);
	CT_TRUE(stat_of(s, n, "history_changes", &sec) != NULL && strcmp(sec, "watch") == 0);
	/* every limit beside its use now */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s[i].section, "limits") == 0 && strncmp(s[i].key, "max_", 4) == 0 &&
		    strstr(s[i].key, "_used") == NULL && strcmp(s[i].key, "max_history") != 0) {
			char used[96];
			snprintf(used, sizeof(used), "%s_used", s[i].key);
			CT_TRUE(stat_of(s, n, used, NULL) != NULL);
		}
	}
	CT_TRUE((v = stat_of(s, n, "max_message_used", NULL)) != NULL && atol(v) > 0);
	free(s);
	/* one section */
	CT_OK(mps_daemon_info(a, "persistence", &s, &n, NULL, NULL));
	CT_TRUE(n > 3);
	for (size_t i = 0; i < n; i++) {
		CT_TRUE(strcmp(s[i].section, "persistence") == 0);
	}
	free(s);
	CT_CHECK(mps_daemon_info(a, "bogus", &s, &n, NULL, NULL), MPS_ERR_INVALID);
	/* the flat lines of OP_STATS stay what tools parse */
	mps_value *lines;
	CT_OK(mps_stats(a, &lines, &n));
	int have = 0;
	for (size_t i = 0; i < n; i++) {
		have += strncmp(lines[i].u.s.ptr, "pid=", 4) == 0 ||
		    strncmp(lines[i].u.s.ptr, "requests=", 9) == 0 ||
		    strncmp(lines[i].u.s.ptr, "max_clients=", 12) == 0;
	}
	CT_TRUE(have == 3);
	mps_values_free(lines, n);

	/* memory per container, largest first */
	CT_OK(mps_create_simple(a, "mem.big", MPS_KIND_LIST, MPS_TYPE_STRING));
	CT_OK(mps_create_simple(a, "mem.small", MPS_KIND_LIST, MPS_TYPE_INT64));
	static char text[1000];
	memset(text, 'x', sizeof(text) - 1);
	mps_value vals[64];
	for (int i = 0; i < 64; i++) {
		vals[i] = mps_str(text);
	}
	for (int i = 0; i < 16; i++) {
		CT_OK(mps_list_extend(a, "mem.big", vals, 64, NULL));
	}
	mps_memory *mem;
	size_t      nmem;
	CT_OK(mps_daemon_info(a, "memory", &s, &n, &mem, &nmem));
	int64_t big = -1, small = -1, sum = 0;
	for (size_t i = 0; i < nmem; i++) {
		sum += mem[i].bytes;
		if (i > 0) {
			CT_TRUE(mem[i - 1].bytes >= mem[i].bytes);
		}
		if (strcmp(mem[i].name, "mem.big") == 0) {
			big = mem[i].bytes;
			CT_TRUE(mem[i].kind == MPS_KIND_LIST && i == 0);
		}
		if (strcmp(mem[i].name, "mem.small") == 0) {
			small = mem[i].bytes;
		}
	}
	CT_TRUE(big >= 1024 * 999 && small > 0 && small < big);
	CT_TRUE((v = stat_of(s, n, "store_memory", NULL)) != NULL && atoll(v) >= sum);
	free(s);
	free(mem);
	/* persistence moves with commits and snapshots */
	uint64_t rev;
	CT_OK(mps_snapshot(a, &rev));
	CT_OK(mps_daemon_info(a, "persistence", &s, &n, NULL, NULL));
	CT_TRUE((v = stat_of(s, n, "snapshot_revision", NULL)) != NULL &&
	        strtoull(v, NULL, 10) == rev);
	long long t = atoll(stat_of(s, n, "snapshot_time", NULL));
	CT_TRUE(llabs(t - (long long) time(NULL)) < 600);
	CT_TRUE(atoll(stat_of(s, n, "commit_batches", NULL)) > 0);
	free(s);
	mps_close(a);
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
	unsetenv("MPSTORE_CLIENT_NAME");
	if (mpst_daemon_start(&d, NULL) != 0) {
		fprintf(stderr, "cannot start mpstored (see %s)\n", d.log);
		return 1;
	}
	static const ct_test tests[] = {
		{"names", test_names},
		{"holders_and_clients", test_holders_and_clients},
		{"waiters", test_waiters},
		{"info", test_info},
		{NULL, NULL},
	};
	ct_run(tests);
	mpst_daemon_cleanup(&d);
	return 0;
}
