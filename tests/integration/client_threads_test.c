/*
 * Many threads on one handle share its one connection (leader/follower,
 * sp_req.c). While 4 threads wait in queue gets and 4 in lock acquires
 * that the daemon parks with no timeout, 16 threads make 300 fast calls
 * each and a batch exec each: every fast call completes (the parked ones
 * cannot be holding the connection: nothing would end their wait before
 * the fast threads are done), every result is the caller's own (no
 * cross-talk between replies), every increment counts once. Then the
 * parked calls are released: each queued item reaches exactly one
 * consumer, the locker gets the lock, each semaphore waiter a unit. Once with coalescing,
 * once with one request per call.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_test_util.h"
#include "support.h"

#define FAST     16
#define CALLS    300
#define CONSUMER 4
#define LOCKER   4
#define ITEMS    40

static mpst_daemon d;
static mps_client *c;
static int         got[ITEMS];
static pthread_mutex_t got_mtx = PTHREAD_MUTEX_INITIALIZER;

static void stop_daemon(void) { mpst_daemon_cleanup(&d); }

static void *fast(void *arg)
{
	int  t = (int)(intptr_t)arg;
	char own[32], key[32];
	snprintf(own, sizeof(own), "th.v%d", t);
	for (int i = 0; i < CALLS; i++) {
		mps_value v = mps_int(t * 1000000 + i), k, out;
		snprintf(key, sizeof(key), "k%d", t);
		k = mps_str(key);
		CT_OK(mps_value_set(c, own, &v));
		CT_OK(mps_value_get(c, own, &out));
		CT_TRUE(out.type == MPS_INT && out.u.i == t * 1000000 + i);
		CT_OK(mps_dict_set(c, "th.d", &k, &v));
		CT_OK(mps_dict_get(c, "th.d", &k, &out));
		CT_TRUE(out.type == MPS_INT && out.u.i == t * 1000000 + i);
		CT_OK(mps_counter_add(c, "th.ctr", 1, NULL));
	}
	/* a batch of this thread's own: its results in order */
	mps_batch *b;
	mps_result r;
	mps_op     ops[2] = {{.code = MPS_OP_VALUE_GET, .name = own},
	        {.code = MPS_OP_VALUE_ADD, .name = own, .value = mps_int(1)}};
	CT_OK(mps_batch_alloc(c, &b));
	CT_OK(mps_batch_append(b, &ops[0]));
	CT_OK(mps_batch_append(b, &ops[1]));
	CT_OK(mps_batch_exec(b));
	CT_OK(mps_batch_result(b, 0, &r));
	CT_TRUE(r.value.type == MPS_INT && r.value.u.i == t * 1000000 + CALLS - 1);
	CT_OK(mps_batch_result(b, 1, &r));
	CT_TRUE(r.value.type == MPS_INT && r.value.u.i == t * 1000000 + CALLS);
	mps_batch_free(b);
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (;;) {
		mps_value v;
		CT_OK(mps_queue_get(c, "th.q", 60000, &v)); /* parked until the producer puts */
		CT_TRUE(v.type == MPS_INT);
		if (v.u.i < 0)
			return NULL; /* the end */
		CT_TRUE(v.u.i < ITEMS);
		pthread_mutex_lock(&got_mtx);
		got[v.u.i]++;
		pthread_mutex_unlock(&got_mtx);
	}
}

/* One lock acquire (a session holds a lock once), the others semaphore
 * units: all parked until another handle lets them through. */
static void *locker(void *arg)
{
	if ((intptr_t)arg == 0) {
		CT_OK(mps_lock_acquire(c, "th.lock", -1, NULL)); /* another handle holds it */
		CT_OK(mps_lock_release(c, "th.lock"));
	} else {
		CT_OK(mps_sem_acquire(c, "th.sem", -1, NULL)); /* no unit until released */
	}
	return NULL;
}

static void run(const char *coalesce)
{
	mps_client *h2;
	setenv("MPSTORE_COALESCE", coalesce, 1);
	CT_OK(mps_open(&c, d.url, 10000));
	CT_OK(mps_open(&h2, d.url, 10000));
	unsetenv("MPSTORE_COALESCE");
	mps_delete(c, "th.q");
	mps_delete(c, "th.ctr");
	CT_OK(mps_create_simple(c, "th.q", MPS_KIND_QUEUE, MPS_TYPE_INT64));
	CT_OK(mps_create_simple(c, "th.lock", MPS_KIND_LOCK, MPS_TYPE_ANY));
	mps_delete(c, "th.sem");
	mps_create_opts so = {.kind = MPS_KIND_SEMAPHORE, .count = 0};
	CT_OK(mps_create(c, "th.sem", &so));
	CT_OK(mps_create_simple(c, "th.ctr", MPS_KIND_VALUE, MPS_TYPE_INT64));
	CT_OK(mps_create_simple(c, "th.d", MPS_KIND_DICT, MPS_TYPE_ANY));
	for (int t = 0; t < FAST; t++) {
		char own[32];
		snprintf(own, sizeof(own), "th.v%d", t);
		CT_OK(mps_create_simple(c, own, MPS_KIND_VALUE, MPS_TYPE_INT64));
	}
	memset(got, 0, sizeof(got));
	CT_OK(mps_lock_acquire(h2, "th.lock", 5000, NULL));

	pthread_t cons[CONSUMER], lock[LOCKER], th[FAST];
	for (int i = 0; i < CONSUMER; i++)
		CT_TRUE(pthread_create(&cons[i], NULL, consumer, NULL) == 0);
	for (int i = 0; i < LOCKER; i++)
		CT_TRUE(pthread_create(&lock[i], NULL, locker, (void *)(intptr_t)i) == 0);
	for (int t = 0; t < FAST; t++)
		CT_TRUE(pthread_create(&th[t], NULL, fast, (void *)(intptr_t)t) == 0);
	for (int t = 0; t < FAST; t++)
		pthread_join(th[t], NULL);
	int64_t n = 0;
	CT_OK(mps_counter_get(c, "th.ctr", &n));
	CT_TRUE(n == FAST * CALLS);

	/* release the parked ones */
	for (int i = 0; i < ITEMS; i++) {
		mps_value v = mps_int(i);
		CT_OK(mps_queue_put(h2, "th.q", &v, 0, NULL));
	}
	for (int i = 0; i < CONSUMER; i++) {
		mps_value v = mps_int(-1);
		CT_OK(mps_queue_put(h2, "th.q", &v, 0, NULL));
	}
	CT_OK(mps_lock_release(h2, "th.lock"));
	for (int i = 1; i < LOCKER; i++)
		CT_OK(mps_sem_release(h2, "th.sem", NULL));
	for (int i = 0; i < CONSUMER; i++)
		pthread_join(cons[i], NULL);
	for (int i = 0; i < LOCKER; i++)
		pthread_join(lock[i], NULL);
	for (int i = 0; i < ITEMS; i++)
		CT_TRUE(got[i] == 1);
	mps_close(h2);
	mps_close(c);
}

int main(void)
{
	ct_on_fail = stop_daemon;
	CT_TRUE(mpst_daemon_start(&d, NULL) == 0);
	run("1");
	run("0");
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("ok\n");
	return 0;
}
