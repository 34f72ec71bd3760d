/* watch_mirror_test.c - mirrors of a list, a dict and a counter stay equal
 * to the daemon's state under concurrent writers: each writer waits until
 * its own write is visible in the mirror (mps_mirror_wait_revision), and at
 * the end every mirror equals a dump taken at the same revision.
 * MPSTORE_SOAK=1 writes for 30 s instead of 2. */
#include <stdatomic.h>
#include <string.h>

#include "watch_util.h"

#define NWRITERS 4

static mpst_daemon d;
static mps_mirror *ml, *md, *mc;
static atomic_int  run = 1;
static atomic_int  waits;

static void
stop_daemon(void)
{
	mpst_daemon_cleanup(&d);
}

static void *
writer(void *arg)
{
	unsigned    seed = (unsigned) (uintptr_t) arg;
	mps_client *c;
	mps_batch  *b;
	CT_OK(mps_open(&c, d.url, 10000));
	CT_OK(mps_batch_alloc(c, &b));
	while (atomic_load(&run)) {
		mps_batch_reset(b);
		char      key[8];
		int       r = (int) (rand_r(&seed) % 100);
		mps_value v = mps_int(rand_r(&seed) % 1000);
		snprintf(key, sizeof(key), "k%u", rand_r(&seed) % 50);
		mps_op op = {.name = "m.list", .value = v};
		if (r < 25) {
			op.code = MPS_OP_LIST_APPEND;
		} else if (r < 35) {
			op.code = MPS_OP_LIST_POP;
		} else if (r < 40) {
			op = (mps_op){.code = MPS_OP_LIST_INSERT, .name = "m.list", .index = rand_r(&seed) % 20,
			    .value = v};
		} else if (r < 45) {
			op = (mps_op){.code = MPS_OP_LIST_SET, .name = "m.list", .index = rand_r(&seed) % 5,
			    .value = v};
		} else if (r < 70) {
			op = (mps_op){.code = MPS_OP_DICT_SET, .name = "m.dict", .key = mps_str(key), .value = v};
		} else if (r < 80) {
			op = (mps_op){.code = MPS_OP_DICT_DEL, .name = "m.dict", .key = mps_str(key)};
		} else if (r < 81) {
			op = (mps_op){.code = MPS_OP_DICT_CLEAR, .name = "m.dict"};
		} else {
			op = (mps_op){.code = MPS_OP_VALUE_ADD, .name = "m.ctr", .value = mps_int(1)};
		}
		CT_OK(mps_batch_append(b, &op));
		CT_OK(mps_batch_exec(b));
		mps_result res;
		CT_OK(mps_batch_result(b, 0, &res));
		if (res.status != MPS_OK) {
			continue; /* pop of an empty list, set out of range, ... */
		}
		if (op.code == MPS_OP_VALUE_ADD && rand_r(&seed) % 8 == 0) {
			/* my write is visible locally once the mirror is at its revision */
			CT_OK(mps_mirror_wait_revision(mc, res.revision, 10000));
			mps_value now;
			CT_OK(mps_mirror_value(mc, &now));
			CT_TRUE(now.type == MPS_INT && now.u.i >= res.value.u.i);
			atomic_fetch_add(&waits, 1);
		}
	}
	mps_batch_free(b);
	mps_close(c);
	return NULL;
}

static void
compare(mps_client *c, mps_mirror *m, const char *name)
{
	mps_dump dump;
	CT_OK(mps_dump_get(c, name, &dump));
	CT_OK(mps_mirror_wait_revision(m, dump.revision, 10000));
	mps_value *k, *v;
	size_t     n;
	uint64_t   rev;
	CT_OK(mps_mirror_items(m, &k, &v, &n, &rev));
	CT_TRUE(rev == dump.revision); /* nothing writes any more */
	if (dump.info.kind == MPS_KIND_VALUE) {
		CT_TRUE(n == 1 && mps_value_equal(&v[0], &dump.value));
	} else {
		if (n != dump.nvalues) {
			fprintf(stderr, "%s: mirror has %zu elements, daemon %zu\n", name, n, dump.nvalues);
			ct_die();
		}
		for (size_t i = 0; i < n; i++) {
			CT_TRUE(mps_value_equal(&v[i], &dump.values[i]));
			if (dump.info.kind == MPS_KIND_DICT) {
				CT_TRUE(mps_value_equal(&k[i], &dump.keys[i]));
			}
		}
	}
	printf("%s: %zu elements equal at revision %llu\n", name, n, (unsigned long long) rev);
	mps_values_free(k, n);
	mps_values_free(v, n);
	mps_dump_free(&dump);
}

int
main(void)
{
	int secs = getenv("MPSTORE_SOAK") != NULL ? 30 : 2;
	CT_TRUE(mpst_daemon_start(&d, NULL) == 0);
	ct_on_fail = stop_daemon;
	mps_client *c;
	CT_OK(mps_open(&c, d.url, 5000));
	CT_OK(mps_create_simple(c, "m.list", MPS_KIND_LIST, MPS_TYPE_INT64));
	CT_OK(mps_create_simple(c, "m.ctr", MPS_KIND_VALUE, MPS_TYPE_INT64));
	mps_value v0[] = {mps_int(1), mps_int(2), mps_int(3)};
	CT_OK(mps_list_extend(c, "m.list", v0, 3, NULL));
	mps_watch_opts o = {.pub_url = d.pub_url};
	CT_OK(mps_mirror_open(c, "m.list", &o, 5000, &ml));
	CT_TRUE(mps_mirror_kind(ml) == MPS_KIND_LIST && mps_mirror_len(ml) == 3);
	mps_value x;
	CT_OK(mps_mirror_get(ml, -1, &x));
	CT_TRUE(x.type == MPS_INT && x.u.i == 3);
	CT_CHECK(mps_mirror_get(ml, 3, &x), MPS_ERR_INDEX);
	/* the dict does not exist yet: it appears when created */
	CT_OK(mps_mirror_open(c, "m.dict", &o, 5000, &md));
	CT_TRUE(mps_mirror_kind(md) == MPS_KIND_NONE);
	CT_OK(mps_create_simple(c, "m.dict", MPS_KIND_DICT, MPS_TYPE_ANY));
	CT_OK(mps_mirror_open(c, "m.ctr", &o, 5000, &mc));
	mps_mirror *mx;
	CT_CHECK(mps_mirror_open(c, "m.none*", &o, 5000, &mx), MPS_ERR_INVALID);
	CT_OK(mps_create_simple(c, "m.lock", MPS_KIND_LOCK, MPS_TYPE_ANY));
	CT_CHECK(mps_mirror_open(c, "m.lock", &o, 5000, &mx), MPS_ERR_WRONG_KIND);

	pthread_t th[NWRITERS];
	for (int i = 0; i < NWRITERS; i++) {
		pthread_create(&th[i], NULL, writer, (void *) (uintptr_t) (i + 7));
	}
	mpst_sleep_ms(secs * 1000);
	atomic_store(&run, 0);
	for (int i = 0; i < NWRITERS; i++) {
		pthread_join(th[i], NULL);
	}
	CT_TRUE(atomic_load(&waits) > 0);
	CT_TRUE(mps_mirror_kind(md) == MPS_KIND_DICT);
	compare(c, ml, "m.list");
	compare(c, md, "m.dict");
	compare(c, mc, "m.ctr");
	mps_value key = mps_str("k1"), got;
	mps_err   e   = mps_mirror_dict_get(md, &key, &got);
	CT_TRUE(e == MPS_OK || e == MPS_ERR_NO_KEY);
	mps_value_free(&got);
	mps_mirror_close(ml);
	mps_mirror_close(md);
	mps_mirror_close(mc);
	/* Closing a mirror ends its thread's receive at once: 50 closes take
	 * far less than the 50 x 100 ms receive slices (2.5 s on average)
	 * they took when a close waited for the slice to end. */
	int64_t closing = 0;
	for (int i = 0; i < 50; i++) {
		CT_OK(mps_mirror_open(c, "m.ctr", &o, 5000, &mc));
		int64_t t0 = mpst_now_ms();
		mps_mirror_close(mc);
		closing += mpst_now_ms() - t0;
	}
	printf("50 mirror closes: %lld ms\n", (long long) closing);
	CT_TRUE(closing < 50 * 100 / 4);
	mps_close(c);
	ct_on_fail = NULL;
	int st = mpst_daemon_stop(&d);
	if (st != 0) {
		fprintf(stderr, "mpstored exited with %d; its log:\n", st);
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "tail -20 %s >&2", d.log);
		if (system(cmd) != 0) {
			fprintf(stderr, "(no log)\n");
		}
	}
	CT_TRUE(st == 0);
	mpst_daemon_cleanup(&d);
	printf("watch_mirror_test: ok (%d own writes seen locally)\n", atomic_load(&waits));
	return 0;
}
