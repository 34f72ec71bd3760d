/*
 * OP_CHANGES read from the log (the daemon keeps no history in memory:
 * --history 0) while writers commit: a reply never holds a change above
 * the revision it reports. The log can hold a group the commit thread has
 * written but not yet published; a reader that got it would see it again
 * when it asks from the reported revision + 1 (docs/protocol.md, OP_CHANGES).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "mpstore.pb-c.h"
#include "support.h"

#define NWRITERS 3
#define RUN_MS   1500

static mpst_daemon d;
static atomic_int  running = 1;
static atomic_long failures, writes;

static int open_req(nng_socket *s)
{
	if (nng_req0_open(s) != 0)
		return -1;
	nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO, 10000);
	nng_socket_set_ms(*s, NNG_OPT_SENDTIMEO, 10000);
	nng_socket_set_ms(*s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	return nng_dial(*s, d.url, NULL, 0);
}

/* One op; the decoded response (free it) or NULL. */
static Mpstore__Response *call1(nng_socket s, Mpstore__Op *op)
{
	Mpstore__Op     *ops[] = {op};
	Mpstore__Request rq = MPSTORE__REQUEST__INIT;
	rq.version = 1;
	rq.id = 1;
	rq.ops = ops;
	rq.n_ops = 1;
	size_t   len = mpstore__request__get_packed_size(&rq);
	uint8_t *buf = malloc(len);
	if (buf == NULL)
		return NULL;
	mpstore__request__pack(&rq, buf);
	int rv = nng_send(s, buf, len, 0);
	free(buf);
	void  *rbuf;
	size_t rlen;
	if (rv != 0 || nng_recv(s, &rbuf, &rlen, NNG_FLAG_ALLOC) != 0)
		return NULL;
	Mpstore__Response *r = mpstore__response__unpack(NULL, rlen, rbuf);
	nng_free(rbuf, rlen);
	if (r != NULL && (r->status != 0 || r->n_results != 1)) {
		mpstore__response__free_unpacked(r, NULL);
		r = NULL;
	}
	return r;
}

static void *writer(void *arg)
{
	(void)arg;
	nng_socket s;
	if (open_req(&s) != 0) {
		failures++;
		return NULL;
	}
	Mpstore__Value one = MPSTORE__VALUE__INIT;
	one.v_case = MPSTORE__VALUE__V_INT_VALUE;
	one.int_value = 1;
	Mpstore__Op add = MPSTORE__OP__INIT;
	add.code = MPSTORE__OP_CODE__OP_VALUE_ADD;
	add.name = "c";
	add.value = &one;
	while (running) {
		Mpstore__Response *r = call1(s, &add);
		if (r == NULL || r->results[0]->status != 0)
			failures++;
		else
			writes++;
		if (r != NULL)
			mpstore__response__free_unpacked(r, NULL);
	}
	nng_close(s);
	return NULL;
}

static void test_changes_never_above_reported_revision(void **state)
{
	(void)state;
	nng_socket s;
	assert_int_equal(open_req(&s), 0);
	Mpstore__Op create = MPSTORE__OP__INIT;
	create.code = MPSTORE__OP_CODE__OP_CREATE;
	create.name = "c";
	create.kind = MPSTORE__KIND__KIND_VALUE;
	create.elem_type = MPSTORE__ELEM_TYPE__TYPE_INT64;
	Mpstore__Response *r = call1(s, &create);
	assert_non_null(r);
	assert_int_equal(r->results[0]->status, 0);
	mpstore__response__free_unpacked(r, NULL);

	pthread_t w[NWRITERS];
	for (int i = 0; i < NWRITERS; i++)
		assert_int_equal(pthread_create(&w[i], NULL, writer, NULL), 0);
	long      reads = 0, nonempty = 0, above = 0;
	uint64_t  seen = 0;
	long long end = mpst_now_ms() + RUN_MS;
	Mpstore__Op ch = MPSTORE__OP__INIT;
	ch.code = MPSTORE__OP_CODE__OP_CHANGES;
	ch.name = "c";
	while (mpst_now_ms() < end) {
		ch.from_revision = seen > 4 ? seen - 4 : 1;
		r = call1(s, &ch);
		if (r == NULL) {
			failures++;
			break;
		}
		const Mpstore__Result *res = r->results[0];
		if (res->status != 0) {
			fprintf(stderr, "OP_CHANGES: %s\n", res->error);
			failures++;
		}
		reads++;
		nonempty += res->n_changes > 0;
		for (size_t i = 0; i < res->n_changes; i++)
			if (res->changes[i]->revision > res->revision) {
				if (above++ == 0)
					fprintf(stderr, "change at revision %llu in a reply at revision %llu\n",
					    (unsigned long long)res->changes[i]->revision,
					    (unsigned long long)res->revision);
			}
		if (res->revision > seen)
			seen = res->revision;
		mpstore__response__free_unpacked(r, NULL);
	}
	running = 0;
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(w[i], NULL);
	nng_close(s);
	fprintf(stderr, "%ld reads (%ld with changes) during %ld writes\n", reads, nonempty,
	    (long)writes);
	assert_int_equal(failures, 0);
	assert_int_equal(above, 0);
	assert_true(reads > 50);
	assert_true(nonempty > reads / 2); /* --history 0: every one read the log */
	assert_true(writes > 300);
}

static int setup(void **state)
{
	(void)state;
	return mpst_daemon_start(&d, (const char *const[]){"--durability", "log", "--history", "0",
	    "--snapshot-interval", "0:0", NULL});
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(mpst_daemon_stop(&d), 0);
	mpst_daemon_cleanup(&d);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_changes_never_above_reported_revision),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
