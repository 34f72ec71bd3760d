/*
 * persist_limits_test - --max-containers, --max-elements and --max-memory
 * on a real daemon: each is reported by `stats`; the request that crosses
 * it gets ERR_LIMIT with a message naming the flag; reads, deletes, pops
 * and other containers go on; after a restart nothing stored is lost, and
 * a restart with lower limits still loads everything (and refuses more).
 */
#include "persist_common.h"

static char last_refusal[600];

static void expect_limit(mps_err e, const char *flag, const char *what)
{
	snprintf(last_refusal, sizeof(last_refusal), "%s", mps_last_error());
	PT_TRUE(e == MPS_ERR_LIMIT, "%s: %s (%s), want ERR_LIMIT", what, mps_err_name(e),
	    mps_last_error());
	PT_TRUE(strstr(mps_last_error(), flag) != NULL, "%s: the error '%s' does not name %s", what,
	    mps_last_error(), flag);
}

int main(void)
{
	pt_init();
	alarm(240);
	const char *args[] = {"--max-memory", "2M", "--max-containers", "5", "--max-elements", "100",
	    "--history", "1000", NULL};
	mpst_daemon d;
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	PT_TRUE(pt_stat(c, "max_memory") == 2 * 1024 * 1024, "stats max_memory=%lld",
	    pt_stat(c, "max_memory"));
	PT_TRUE(pt_stat(c, "max_containers") == 5, "stats max_containers");
	PT_TRUE(pt_stat(c, "max_elements") == 100, "stats max_elements");
	PT_TRUE(pt_stat(c, "used_memory") >= 0 && pt_stat(c, "store_memory") == 0,
	    "stats used_memory / store_memory of an empty store");

	/* --max-containers */
	PT_OK(mps_create_simple(c, "l", MPS_KIND_LIST, MPS_TYPE_INT64));
	PT_OK(mps_create_simple(c, "d", MPS_KIND_DICT, MPS_TYPE_INT64));
	PT_OK(mps_create_simple(c, "q", MPS_KIND_QUEUE, MPS_TYPE_INT64));
	PT_OK(mps_create_simple(c, "big", MPS_KIND_LIST, MPS_TYPE_STRING));
	PT_OK(mps_create_simple(c, "v", MPS_KIND_VALUE, MPS_TYPE_INT64));
	expect_limit(mps_create_simple(c, "sixth", MPS_KIND_LIST, MPS_TYPE_INT64), "--max-containers",
	    "a sixth container");
	PT_OK(mps_create_simple(c, "l", MPS_KIND_LIST, MPS_TYPE_INT64)); /* exists: fine */
	PT_TRUE(pt_stat(c, "containers") == 5, "containers=%lld", pt_stat(c, "containers"));
	printf("ok  --max-containers: the sixth is refused: %s\n", last_refusal);

	/* --max-elements: list, dict, queue */
	for (int i = 0; i < 100; i++) {
		mps_value x = mps_int(i);
		PT_OK(mps_list_append(c, "l", &x, NULL));
		char      kb[16];
		snprintf(kb, sizeof(kb), "k%d", i);
		mps_value key = mps_str(kb);
		PT_OK(mps_dict_set(c, "d", &key, &x));
		PT_OK(mps_queue_put(c, "q", &x, 0, NULL));
	}
	mps_value x = mps_int(100), key = mps_str("k100"), two[2] = {mps_int(1), mps_int(2)};
	expect_limit(mps_list_append(c, "l", &x, NULL), "--max-elements", "append 101");
	expect_limit(mps_list_extend(c, "l", two, 2, NULL), "--max-elements", "extend past 100");
	expect_limit(mps_dict_set(c, "d", &key, &x), "--max-elements", "dict key 101");
	expect_limit(mps_queue_put(c, "q", &x, 0, NULL), "--max-elements", "put 101");
	/* setting an existing key is no new element; reads go on */
	mps_value k0 = mps_str("k0"), got;
	PT_OK(mps_dict_set(c, "d", &k0, &x));
	int64_t len;
	PT_OK(mps_list_len(c, "l", &len));
	PT_TRUE(len == 100, "list length %lld", (long long)len);
	/* a pop makes room for one */
	PT_OK(mps_list_pop(c, "l", &got));
	mps_value_free(&got);
	PT_OK(mps_list_append(c, "l", &x, NULL));
	PT_OK(mps_queue_get(c, "q", 0, &got));
	PT_TRUE(got.type == MPS_INT && got.u.i == 0, "queue head");
	mps_value_free(&got);
	printf("ok  --max-elements: element 101 refused in list, dict and queue: %s\n", last_refusal);

	/* --max-memory: 20 KB strings until the store (and its history) is full */
	static char chunk[20000];
	memset(chunk, 'm', sizeof(chunk) - 1);
	int     n = 0;
	mps_err e;
	for (;;) {
		mps_value s = mps_str(chunk);
		e = mps_list_append(c, "big", &s, NULL);
		if (e != MPS_OK)
			break;
		PT_TRUE(++n < 100, "2 MB took %d appends of 20 KB", n);
	}
	expect_limit(e, "--max-memory", "the append past 2 MB");
	long long used = pt_stat(c, "used_memory");
	PT_TRUE(used <= 2 * 1024 * 1024 && used > 2 * 1024 * 1024 - 60000,
	    "used_memory %lld after the refusal", used);
	PT_TRUE(pt_stat(c, "history_memory") > 0, "the history counts");
	printf("ok  --max-memory: append %d refused at used_memory=%lld: %s\n", n, used, last_refusal);
	/* other writes that add data are refused too; reads, pops, deletes,
	 * counters of fixed size... go on */
	mps_value s = mps_str(chunk);
	expect_limit(mps_list_append(c, "big", &s, NULL), "--max-memory", "another append");
	PT_OK(mps_list_len(c, "big", &len));
	PT_TRUE(len == n, "big has %lld elements, %d acknowledged", (long long)len, n);
	PT_OK(mps_list_get(c, "big", 0, &got));
	PT_TRUE(got.type == MPS_STRING && got.u.s.len == sizeof(chunk) - 1, "big[0]");
	mps_value_free(&got);
	PT_OK(mps_list_pop(c, "big", &got));
	mps_value_free(&got);
	n--;
	PT_OK(mps_queue_get(c, "q", 0, &got));
	mps_value_free(&got);
	PT_OK(mps_delete(c, "d"));
	PT_OK(mps_create_simple(c, "d2", MPS_KIND_DICT, MPS_TYPE_INT64)); /* room for a small one */
	printf("ok  past --max-memory: reads, pops, gets and deletes work\n");

	pt_buf before = {0};
	pt_state_text(c, &before);
	mps_close(c);

	/* restart with the same limits: everything is there */
	pt_stop(&d);
	pt_restart(&d);
	c = pt_connect(&d);
	pt_buf after = {0};
	pt_state_text(c, &after);
	pt_same_text("state after a restart", before.s, after.s);
	PT_OK(mps_list_len(c, "big", &len));
	PT_TRUE(len == n, "big has %lld elements after the restart, want %d", (long long)len, n);
	mps_close(c);
	pt_stop(&d);
	printf("ok  restart: nothing lost (%zu bytes of state)\n", before.n);

	/* restart with lower limits: all of it loads, more is refused */
	const char *low[] = {"--db", d.db, "--max-memory", "100K", "--max-elements", "10", NULL};
	mpst_daemon d2;
	pt_start(&d2, low);
	c = pt_connect(&d2);
	pt_buf after2 = {0};
	pt_state_text(c, &after2);
	pt_same_text("state under lower limits", before.s, after2.s);
	/* (memory is checked first: both limits are passed) */
	expect_limit(mps_list_append(c, "l", &x, NULL), "--max-memory", "append under 100K");
	PT_OK(mps_list_pop(c, "l", &got));
	mps_value_free(&got);
	PT_OK(mps_list_clear(c, "big"));
	PT_OK(mps_delete(c, "big"));
	mps_close(c);
	pt_stop(&d2);
	pt_done(&d2);
	pt_done(&d);
	pt_buf_free(&before);
	pt_buf_free(&after);
	pt_buf_free(&after2);
	printf("ok  lower limits: everything loaded, reads and deletes work, more is refused\n");
	printf("persist_limits_test: all passed\n");
	return 0;
}
