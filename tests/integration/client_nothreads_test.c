/*
 * No library thread on the request path (issue 12): a handle making only
 * synchronous calls has no thread but its keepalive, however many calls
 * and calling threads; a pull watch adds none (its SUB socket is the
 * library's own, not nng's: no "nng:" thread ever appears); the process's
 * voluntary context switches stay under 3 per call (a call sleeps once,
 * waiting for its reply; with a reader thread or nng's threads it was
 * 7-20). The first asynchronous batch starts the handle's reader thread,
 * which this test must see (so the counting is not blind).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "client_test_util.h"
#include "support.h"

#define CALLS 2000

static mpst_daemon d;
static mps_client *c;

static void stop_daemon(void) { mpst_daemon_cleanup(&d); }

/* Threads of this process; *nng gets how many are nng's. */
static int threads(int *nng)
{
	DIR *dp = opendir("/proc/self/task");
	CT_TRUE(dp != NULL);
	int            n = 0;
	struct dirent *e;
	*nng = 0;
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		char  path[300], comm[64] = "";
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (f != NULL) {
			if (fgets(comm, sizeof(comm), f) != NULL && strncmp(comm, "nng:", 4) == 0)
				(*nng)++;
			fclose(f);
		}
	}
	closedir(dp);
	return n;
}

static void *caller(void *arg)
{
	(void)arg;
	for (int i = 0; i < CALLS / 4; i++)
		CT_OK(mps_counter_add(c, "nt.ctr", 1, NULL));
	return NULL;
}

int main(void)
{
	int nng;
	ct_on_fail = stop_daemon;
	CT_TRUE(mpst_daemon_start(&d, NULL) == 0);
	int base = threads(&nng);
	CT_OK(mps_open(&c, d.url, 10000));
	CT_TRUE(mps_server(c)->lease_ms > 0);
	CT_TRUE(threads(&nng) == base + 1); /* the keepalive */
	CT_OK(mps_create_simple(c, "nt.ctr", MPS_KIND_VALUE, MPS_TYPE_INT64));

	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	for (int i = 0; i < CALLS; i++) {
		mps_value v;
		CT_OK(mps_counter_add(c, "nt.ctr", 1, NULL));
		CT_OK(mps_value_get(c, "nt.ctr", &v));
	}
	getrusage(RUSAGE_SELF, &r1);
	long vol = r1.ru_nvcsw - r0.ru_nvcsw;
	fprintf(stderr, "%d calls: %ld voluntary context switches (%.2f per call)\n", 2 * CALLS,
	    vol, (double)vol / (2 * CALLS));
	CT_TRUE(vol < 3 * 2 * CALLS);
	CT_TRUE(threads(&nng) == base + 1);

	/* several calling threads share the connection, still no thread of ours */
	pthread_t th[4];
	for (int t = 0; t < 4; t++)
		CT_TRUE(pthread_create(&th[t], NULL, caller, NULL) == 0);
	for (int t = 0; t < 4; t++)
		pthread_join(th[t], NULL);
	CT_TRUE(threads(&nng) == base + 1);

	/* a pull watch: its own SUB socket, no thread */
	mps_watcher *w;
	CT_OK(mps_watch(c, "nt.ctr", NULL, &w));
	CT_OK(mps_counter_add(c, "nt.ctr", 1, NULL));
	const mps_watch_event *ev = NULL;
	long long until = mpst_now_ms() + 20000;
	while (ev == NULL && mpst_now_ms() < until) {
		mps_err e = mps_watch_next(w, &ev, 500);
		CT_TRUE(e == MPS_OK || e == MPS_ERR_TIMEOUT);
	}
	CT_TRUE(ev != NULL && ev->type == MPS_WATCH_CHANGE);
	CT_TRUE(threads(&nng) == base + 1 && nng == 0);

	/* the first asynchronous request starts the reader thread */
	mps_batch *b;
	mps_op     op = {.code = MPS_OP_PING};
	CT_OK(mps_batch_alloc(c, &b));
	CT_OK(mps_batch_append(b, &op));
	CT_OK(mps_batch_submit(b, NULL, NULL));
	mps_batch_wait(b);
	CT_TRUE(threads(&nng) == base + 2 && nng == 0);
	mps_batch_free(b);

	mps_unwatch(w);
	mps_close(c);
	CT_TRUE(threads(&nng) == base);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("ok\n");
	return 0;
}
