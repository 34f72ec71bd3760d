/*
 * watch_bench.c - watch throughput and latency against a running mpstored:
 * W writer threads (own handle each, one counter increment per request)
 * write for S seconds while 1, then N, subscribers watch every counter
 * ("wb.*", pull form, each its own SUB socket); reports events delivered
 * per second per subscriber, the watches' catch-up counters, and the
 * latency from a write's reply to its notification reaching subscriber 0
 * (p50/p99; 0 when the notification came first).
 *
 *   watch_bench [--url URL] [--pub URL] [--writers 50] [--subs 1,10] [--secs 5]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpstore/mpstore.h"

#define MAXREV (1u << 23)

static const char *url, *pub;
static int         nwriters = 50, secs = 5;
static atomic_int  run;
static int64_t    *t_reply, *t_note; /* by revision - rev0, microseconds */
static uint64_t    rev0;

static int64_t
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *
writer(void *arg)
{
	int         id = (int) (intptr_t) arg;
	mps_client *c;
	mps_batch  *b;
	char        name[16];
	snprintf(name, sizeof(name), "wb.c%d", id % 8);
	if (mps_open(&c, url, 10000) != MPS_OK || mps_batch_alloc(c, &b) != MPS_OK) {
		fprintf(stderr, "writer: %s\n", mps_last_error());
		exit(1);
	}
	mps_op op = {.code = MPS_OP_VALUE_ADD, .name = name, .value = mps_int(1)};
	while (atomic_load(&run)) {
		mps_batch_reset(b);
		mps_batch_append(b, &op);
		if (mps_batch_exec(b) != MPS_OK) {
			continue;
		}
		mps_result r;
		if (mps_batch_result(b, 0, &r) == MPS_OK && r.status == MPS_OK && r.revision > rev0 &&
		    r.revision - rev0 < MAXREV) {
			t_reply[r.revision - rev0] = now_us();
		}
	}
	mps_batch_free(b);
	mps_close(c);
	return NULL;
}

typedef struct sub {
	int             id;
	mps_client     *c;
	mps_watcher    *w;
	pthread_t       th;
	uint64_t        events;
	mps_watch_stats st;
} sub;

static void *
subscriber(void *arg)
{
	sub *s = arg;
	while (atomic_load(&run) != 2) {
		const mps_watch_event *ev;
		if (mps_watch_next(s->w, &ev, 100) != MPS_OK) {
			continue;
		}
		if (ev->type != MPS_WATCH_CHANGE) {
			continue;
		}
		s->events++;
		if (s->id == 0 && ev->revision > rev0 && ev->revision - rev0 < MAXREV) {
			t_note[ev->revision - rev0] = now_us();
		}
	}
	mps_watch_stats_get(s->w, &s->st);
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

static void
phase(int nsubs)
{
	mps_client *c;
	if (mps_open(&c, url, 10000) != MPS_OK) {
		fprintf(stderr, "watch_bench: %s\n", mps_last_error());
		exit(1);
	}
	for (int i = 0; i < 8; i++) {
		char n[16];
		snprintf(n, sizeof(n), "wb.c%d", i);
		mps_create_simple(c, n, MPS_KIND_VALUE, MPS_TYPE_INT64);
	}
	memset(t_reply, 0, MAXREV * sizeof(*t_reply));
	memset(t_note, 0, MAXREV * sizeof(*t_note));
	sub *subs = calloc((size_t) nsubs, sizeof(*subs));
	for (int i = 0; i < nsubs; i++) {
		mps_watch_opts o = {.pub_url = pub};
		subs[i].id       = i;
		if (mps_open(&subs[i].c, url, 10000) != MPS_OK ||
		    mps_watch(subs[i].c, "wb.*", &o, &subs[i].w) != MPS_OK) {
			fprintf(stderr, "watch_bench: %s\n", mps_last_error());
			exit(1);
		}
	}
	rev0 = mps_watch_revision(subs[0].w);
	atomic_store(&run, 1);
	for (int i = 0; i < nsubs; i++) {
		pthread_create(&subs[i].th, NULL, subscriber, &subs[i]);
	}
	pthread_t *wt = calloc((size_t) nwriters, sizeof(*wt));
	int64_t    t0 = now_us();
	for (int i = 0; i < nwriters; i++) {
		pthread_create(&wt[i], NULL, writer, (void *) (intptr_t) i);
	}
	struct timespec ts = {secs, 0};
	nanosleep(&ts, NULL);
	atomic_store(&run, 0);
	for (int i = 0; i < nwriters; i++) {
		pthread_join(wt[i], NULL);
	}
	double wsecs = (double) (now_us() - t0) / 1e6;
	/* let the subscribers drain, then stop them */
	uint64_t last = 0;
	for (int i = 0; i < 100; i++) {
		struct timespec t = {0, 50000000};
		nanosleep(&t, NULL);
		uint64_t r = mps_watch_revision(subs[0].w);
		if (r == last && i > 10) {
			break;
		}
		last = r;
	}
	atomic_store(&run, 2);
	uint64_t total = 0, writes = 0, lost = 0, catchups = 0, resyncs = 0, holes = 0;
	for (int i = 0; i < nsubs; i++) {
		pthread_join(subs[i].th, NULL);
		total += subs[i].events;
		lost += subs[i].st.lost;
		catchups += subs[i].st.catchups;
		resyncs += subs[i].st.resyncs;
		holes += subs[i].st.audit_holes;
	}
	size_t   nl  = 0;
	int64_t *lat = malloc(MAXREV * sizeof(*lat));
	for (size_t r = 1; r < MAXREV; r++) {
		if (t_reply[r] != 0) {
			writes++;
			if (t_note[r] != 0) {
				lat[nl++] = t_note[r] > t_reply[r] ? t_note[r] - t_reply[r] : 0;
			}
		}
	}
	qsort(lat, nl, sizeof(*lat), cmp64);
	printf("subscribers=%d writers=%d secs=%.1f writes/s=%.0f events/s/subscriber=%.0f "
	       "events/s total=%.0f latency_us p50=%lld p99=%lld (n=%zu) catchups=%llu lost=%llu "
	       "resyncs=%llu audit_holes=%llu\n",
	    nsubs, nwriters, wsecs, writes / wsecs, total / (double) nsubs / wsecs, total / wsecs,
	    nl ? (long long) lat[nl / 2] : -1LL, nl ? (long long) lat[nl * 99 / 100] : -1LL, nl,
	    (unsigned long long) catchups, (unsigned long long) lost, (unsigned long long) resyncs, (unsigned long long) holes);
	fflush(stdout);
	free(lat);
	for (int i = 0; i < nsubs; i++) {
		mps_unwatch(subs[i].w);
		mps_close(subs[i].c);
	}
	free(subs);
	free(wt);
	mps_close(c);
}

int
main(int argc, char **argv)
{
	const char *subs = "1,10";
	url              = getenv("MPSTORE_URL");
	pub              = getenv("MPSTORE_PUB_URL");
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--url") == 0) {
			url = argv[i + 1];
		} else if (strcmp(argv[i], "--pub") == 0) {
			pub = argv[i + 1];
		} else if (strcmp(argv[i], "--writers") == 0) {
			nwriters = atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--subs") == 0) {
			subs = argv[i + 1];
		} else if (strcmp(argv[i], "--secs") == 0) {
			secs = atoi(argv[i + 1]);
		} else {
			fprintf(stderr, "usage: watch_bench [--url URL] [--pub URL] [--writers N] "
			                "[--subs 1,10] [--secs S]\n");
			return 2;
		}
	}
	t_reply = calloc(MAXREV, sizeof(*t_reply));
	t_note  = calloc(MAXREV, sizeof(*t_note));
	for (const char *p = subs; *p;) {
		int n = atoi(p);
		if (n > 0) {
			phase(n);
		}
		p = strchr(p, ',');
		if (p == NULL) {
			break;
		}
		p++;
	}
	return 0;
}
