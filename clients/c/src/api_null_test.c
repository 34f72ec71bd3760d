/* api_null_test.c - the public entry points of client.c, op.c, batch.c,
 * watch.c and mirror.c refuse a NULL handle, batch, watch or mirror with
 * MPS_ERR_INVALID (or their documented neutral answer) and a message,
 * instead of crashing. No daemon needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mpstore/mpstore.h"

/* The thread's last error names the problem. */
static void said(void)
{
	assert_true(strlen(mps_last_error()) > 0);
}

static void test_client(void **state)
{
	(void)state;
	mps_client   *c = (mps_client *)1;
	mps_open_opts o = {0};
	assert_int_equal(mps_open_with(NULL, &o), MPS_ERR_INVALID);
	said();
	assert_int_equal(mps_open_with(&c, NULL), MPS_ERR_INVALID);
	said();
	assert_int_equal(mps_open(NULL, "ipc:///nowhere", 100), MPS_ERR_INVALID);
	said();
	assert_int_equal(mps_ping(NULL), MPS_ERR_INVALID);
	said();
	assert_null(mps_server(NULL));
	said();
	assert_null(mps_client_name(NULL));
	said();
	mps_op op = {.code = MPS_OP_PING};
	assert_int_equal(mps_exec_op(NULL, &op), MPS_ERR_INVALID);
	said();
	mps_close(NULL);
}

static void test_batch(void **state)
{
	(void)state;
	mps_batch *b = (mps_batch *)1;
	mps_op     op = {.code = MPS_OP_PING};
	mps_result r;
	assert_int_equal(mps_batch_alloc(NULL, &b), MPS_ERR_INVALID);
	said();
	assert_null(b);
	assert_int_equal(mps_batch_append(NULL, &op), MPS_ERR_INVALID);
	assert_int_equal(mps_batch_exec(NULL), MPS_ERR_INVALID);
	assert_int_equal(mps_batch_submit(NULL, NULL, NULL), MPS_ERR_INVALID);
	assert_int_equal(mps_batch_result(NULL, 0, &r), MPS_ERR_INVALID);
	assert_int_equal(mps_txn_compare(NULL, "x", MPS_TARGET_EXISTS, MPS_CMP_EQ, NULL, NULL),
	    MPS_ERR_INVALID);
	assert_int_equal(mps_txn_else(NULL), MPS_ERR_INVALID);
	said();
	assert_int_equal(mps_batch_len(NULL), 0);
	assert_int_equal(mps_batch_nresults(NULL), 0);
	assert_int_equal(mps_batch_revision(NULL), 0);
	assert_int_equal(mps_txn_succeeded(NULL), 0);
	said();
	mps_batch_reset(NULL);
	mps_batch_wait(NULL);
	mps_batch_free(NULL);
}

static void test_watch_and_mirror(void **state)
{
	(void)state;
	mps_watcher           *w = (mps_watcher *)1;
	const mps_watch_event *ev;
	mps_watch_stats        st;
	assert_int_equal(mps_watch(NULL, "x", NULL, &w), MPS_ERR_INVALID);
	said();
	assert_null(w);
	assert_int_equal(mps_watch_next(NULL, &ev, 0), MPS_ERR_INVALID);
	assert_int_equal(mps_watch_fd(NULL), -1);
	assert_int_equal(mps_watch_revision(NULL), 0);
	memset(&st, 0xff, sizeof(st));
	mps_watch_stats_get(NULL, &st);
	assert_int_equal(st.delivered, 0);
	said();
	mps_unwatch(NULL);

	mps_mirror *m = (mps_mirror *)1;
	mps_value   v, *keys, *vals;
	size_t      n;
	assert_int_equal(mps_mirror_open(NULL, "x", NULL, 100, &m), MPS_ERR_INVALID);
	said();
	assert_int_equal(mps_mirror_get(NULL, 0, &v), MPS_ERR_INVALID);
	assert_int_equal(mps_mirror_dict_get(NULL, &v, &v), MPS_ERR_INVALID);
	assert_int_equal(mps_mirror_value(NULL, &v), MPS_ERR_INVALID);
	assert_int_equal(mps_mirror_items(NULL, &keys, &vals, &n, NULL), MPS_ERR_INVALID);
	assert_int_equal(mps_mirror_foreach(NULL, NULL, NULL), MPS_ERR_INVALID);
	assert_int_equal(mps_mirror_wait_revision(NULL, 1, 0), MPS_ERR_INVALID);
	said();
	assert_int_equal(mps_mirror_revision(NULL), 0);
	assert_int_equal(mps_mirror_kind(NULL), MPS_KIND_NONE);
	assert_int_equal(mps_mirror_len(NULL), 0);
	mps_mirror_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client),
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_watch_and_mirror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
