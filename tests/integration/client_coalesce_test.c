/*
 * Concurrent synchronous calls on one handle share requests (coalesce.c):
 * 16 threads make 32,000 calls; every caller gets its own result (values
 * it set, its own missing keys, its own increments), nothing is lost or
 * applied twice, and the daemon receives far fewer requests than calls.
 * With MPSTORE_COALESCE=0 each call is a request of its own.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_test_util.h"
#include "support.h"

#define THREADS 16
#define ROUNDS  500

static mpst_daemon d;
static mps_client *c;
static char        dict[32], counter[32];

static void stop_daemon(void) { mpst_daemon_cleanup(&d); }

static void *worker(void *arg)
{
	int  t = (int)(intptr_t)arg;
	char key[64], missing[64];
	for (int k = 0; k < ROUNDS; k++) {
		snprintf(key, sizeof(key), "t%d:%d", t, k);
		snprintf(missing, sizeof(missing), "none:%d:%d", t, k);
		mps_value kv = mps_str(key), mv = mps_str(missing), v = mps_int(t * 100000 + k), got;
		CT_OK(mps_dict_set(c, dict, &kv, &v));
		CT_OK(mps_dict_get(c, dict, &kv, &got));
		CT_TRUE(got.type == MPS_INT && got.u.i == t * 100000 + k); /* its own value */
		mps_value_free(&got);
		CT_CHECK(mps_dict_get(c, dict, &mv, &got), MPS_ERR_NO_KEY); /* its own failure */
		int64_t n = 0;
		CT_OK(mps_counter_add(c, counter, 1, &n));
		CT_TRUE(n >= 1 && n <= THREADS * ROUNDS);
	}
	return NULL;
}

static long long requests(void)
{
	mps_value *lines = NULL;
	size_t     n = 0;
	long long  r = -1;
	CT_OK(mps_stats(c, &lines, &n));
	for (size_t i = 0; i < n; i++)
		if (lines[i].type == MPS_STRING && strncmp(lines[i].u.s.ptr, "requests=", 9) == 0)
			r = atoll(lines[i].u.s.ptr + 9);
	mps_values_free(lines, n);
	CT_TRUE(r >= 0);
	return r;
}

/* One run of THREADS x ROUNDS x 4 calls; returns the requests it took. */
static long long run(const char *tag)
{
	snprintf(dict, sizeof(dict), "d_%s", tag);
	snprintf(counter, sizeof(counter), "n_%s", tag);
	CT_OK(mps_create_simple(c, dict, MPS_KIND_DICT, MPS_TYPE_INT64));
	CT_OK(mps_create_simple(c, counter, MPS_KIND_VALUE, MPS_TYPE_INT64));
	long long before = requests(), t0 = mpst_now_ms();
	pthread_t th[THREADS];
	for (int t = 0; t < THREADS; t++)
		CT_TRUE(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t) == 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	long long ms = mpst_now_ms() - t0;
	long long used = requests() - before - 1; /* less the stats call itself */
	int64_t   n = 0;
	CT_OK(mps_counter_get(c, counter, &n));
	CT_TRUE(n == THREADS * ROUNDS); /* every increment once */
	CT_OK(mps_dict_len(c, dict, &n));
	CT_TRUE(n == THREADS * ROUNDS);
	printf("%s: %d calls in %lld requests (%.1f calls per request), %lld ms\n", tag,
	    THREADS * ROUNDS * 4, used, (double)(THREADS * ROUNDS * 4) / (double)used, ms);
	return used;
}

int main(void)
{
	ct_on_fail = stop_daemon;
	CT_TRUE(mpst_daemon_start(&d, (const char *const[]){"--durability", "log", NULL}) == 0);
	const long long calls = THREADS * ROUNDS * 4;

	unsetenv("MPSTORE_COALESCE");
	CT_OK(mps_open(&c, d.url, 10000));
	long long shared = run("on");
	mps_close(c);
	CT_TRUE(shared < calls * 8 / 10); /* requests were shared */

	setenv("MPSTORE_COALESCE", "0", 1);
	CT_OK(mps_open(&c, d.url, 10000));
	long long own = run("off");
	mps_close(c);
	CT_TRUE(own >= calls); /* one request per call */

	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("ok\n");
	return 0;
}
