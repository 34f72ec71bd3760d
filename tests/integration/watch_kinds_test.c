/* watch_kinds_test.c - every op of every kind (list, dict, value, queue,
 * array, namespace, lock, create/delete, a txn over two containers) reaches
 * watchers as its change, in revision order: one watching everything, one
 * a single container, one a prefix, one with a callback; each receives
 * exactly the matching containers. Then a watch from an old revision
 * (OP_CHANGES) sees the same, and a resync-first watch starts with the
 * full states. */
#include <string.h>

#include "watch_util.h"

static mpst_daemon d;
static mps_client *c;

typedef struct exp_ch {
	uint64_t rev;
	char     name[32];
	int      change;
} exp_ch;
static exp_ch exp_[256];
static size_t nexp;

static void
stop_daemon(void)
{
	mpst_daemon_cleanup(&d);
}

static uint64_t
X(mps_op op, mps_change_type t)
{
	uint64_t rev = wt_exec(c, &op);
	exp_[nexp].rev = rev;
	snprintf(exp_[nexp].name, sizeof(exp_[nexp].name), "%s", op.name);
	exp_[nexp].change = t;
	nexp++;
	return rev;
}

static uint64_t
create(const char *name, mps_kind k, mps_elem_type t, int64_t count)
{
	return X((mps_op){.code = MPS_OP_CREATE, .name = name, .kind = k, .elem_type = t, .count = count},
	    MPS_CH_CREATE);
}

static int
match_all(const char *n)
{
	(void) n;
	return 1;
}
static int
match_list(const char *n)
{
	return strcmp(n, "k.list") == 0;
}
static int
match_d(const char *n)
{
	return strncmp(n, "k.d", 3) == 0;
}
static int
match_k(const char *n)
{
	return strncmp(n, "k.", 2) == 0;
}

/* What the watcher logged is exactly the expected changes it matches. */
static void
check(const char *who, const wt_log *l, int (*match)(const char *))
{
	size_t j = 0;
	for (size_t i = 0; i < nexp; i++) {
		if (!match(exp_[i].name)) {
			continue;
		}
		if (j >= l->n || l->v[j].rev != exp_[i].rev || strcmp(l->v[j].name, exp_[i].name) != 0 ||
		    l->v[j].change != exp_[i].change) {
			fprintf(stderr, "%s: event %zu: got rev %llu %s %s, want rev %llu %s %s\n", who, j,
			    j < l->n ? (unsigned long long) l->v[j].rev : 0ull, j < l->n ? l->v[j].name : "-",
			    j < l->n ? mps_change_type_name(l->v[j].change) : "-",
			    (unsigned long long) exp_[i].rev, exp_[i].name,
			    mps_change_type_name(exp_[i].change));
			ct_die();
		}
		int want_type = exp_[i].change == MPS_CH_CREATE   ? MPS_WATCH_CREATED
		              : exp_[i].change == MPS_CH_DELETE ? MPS_WATCH_DELETED
		                                                : MPS_WATCH_CHANGE;
		CT_TRUE(l->v[j].type == want_type);
		j++;
	}
	if (j != l->n) {
		fprintf(stderr, "%s: %zu events, want %zu (extra: rev %llu %s)\n", who, l->n, j,
		    (unsigned long long) l->v[j].rev, l->v[j].name);
		ct_die();
	}
}

static const wt_ev *
find(const wt_log *l, uint64_t rev, const char *name)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].rev == rev && strcmp(l->v[i].name, name) == 0) {
			return &l->v[i];
		}
	}
	return NULL;
}

int
main(void)
{
	CT_TRUE(mpst_daemon_start(&d, NULL) == 0);
	ct_on_fail = stop_daemon;
	CT_OK(mps_open(&c, d.url, 5000));
	mps_watch_opts o = {.pub_url = d.pub_url};
	mps_watcher   *wall, *wlist, *wd, *wcb;
	CT_OK(mps_watch(c, "", &o, &wall));
	CT_OK(mps_watch(c, "k.list", &o, &wlist));
	CT_OK(mps_watch(c, "k.d*", &o, &wd));
	wt_log lcb;
	wt_log_init(&lcb);
	mps_watch_opts ocb = {.pub_url = d.pub_url, .cb = wt_log_cb, .cb_arg = &lcb};
	CT_OK(mps_watch(c, "k.*", &ocb, &wcb));
	uint64_t start = mps_watch_revision(wall);

	mps_value v12[] = {mps_int(2), mps_int(3)};
	mps_value ks[]  = {mps_str("b"), mps_str("c")};
	/* list */
	create("k.list", MPS_KIND_LIST, MPS_TYPE_INT64, 0);
	uint64_t r_app = X((mps_op){.code = MPS_OP_LIST_APPEND, .name = "k.list", .value = mps_int(1)},
	    MPS_CH_LIST_INSERT);
	X((mps_op){.code = MPS_OP_LIST_EXTEND, .name = "k.list", .values = v12, .nvalues = 2},
	    MPS_CH_LIST_INSERT);
	X((mps_op){.code = MPS_OP_LIST_INSERT, .name = "k.list", .index = 0, .value = mps_int(0)},
	    MPS_CH_LIST_INSERT);
	uint64_t r_set = X((mps_op){.code = MPS_OP_LIST_SET, .name = "k.list", .index = 1,
	                       .value = mps_int(7)}, MPS_CH_LIST_SET);
	X((mps_op){.code = MPS_OP_LIST_POP, .name = "k.list"}, MPS_CH_LIST_DELETE);
	uint64_t r_pop0 = X((mps_op){.code = MPS_OP_LIST_POP, .name = "k.list", .index = 0,
	                        .flags = MPS_FLAG_HAS_INDEX}, MPS_CH_LIST_DELETE);
	X((mps_op){.code = MPS_OP_LIST_REMOVE, .name = "k.list", .value = mps_int(7)},
	    MPS_CH_LIST_DELETE);
	X((mps_op){.code = MPS_OP_LIST_APPEND, .name = "k.list", .value = mps_int(5)},
	    MPS_CH_LIST_INSERT);
	X((mps_op){.code = MPS_OP_LIST_CLEAR, .name = "k.list"}, MPS_CH_CLEAR);
	/* a container whose name extends the single watched one */
	create("k.listx", MPS_KIND_LIST, MPS_TYPE_ANY, 0);
	X((mps_op){.code = MPS_OP_LIST_APPEND, .name = "k.listx", .value = mps_int(1)},
	    MPS_CH_LIST_INSERT);
	/* dict */
	create("k.dict", MPS_KIND_DICT, MPS_TYPE_ANY, 0);
	uint64_t r_dset = X((mps_op){.code = MPS_OP_DICT_SET, .name = "k.dict", .key = mps_str("a"),
	                        .value = mps_int(1)}, MPS_CH_DICT_SET);
	X((mps_op){.code = MPS_OP_DICT_UPDATE, .name = "k.dict", .keys = ks, .nkeys = 2, .values = v12,
	    .nvalues = 2}, MPS_CH_DICT_SET);
	X((mps_op){.code = MPS_OP_DICT_SETDEFAULT, .name = "k.dict", .key = mps_str("d"),
	    .value = mps_int(4)}, MPS_CH_DICT_SET);
	X((mps_op){.code = MPS_OP_DICT_DEL, .name = "k.dict", .key = mps_str("a")}, MPS_CH_DICT_DELETE);
	X((mps_op){.code = MPS_OP_DICT_POP, .name = "k.dict", .key = mps_str("b")}, MPS_CH_DICT_DELETE);
	X((mps_op){.code = MPS_OP_DICT_CLEAR, .name = "k.dict"}, MPS_CH_CLEAR);
	create("k.dx", MPS_KIND_DICT, MPS_TYPE_ANY, 0);
	/* value / counter */
	create("k.val", MPS_KIND_VALUE, MPS_TYPE_INT64, 0);
	X((mps_op){.code = MPS_OP_VALUE_SET, .name = "k.val", .value = mps_int(5)}, MPS_CH_SET);
	uint64_t r_add = X((mps_op){.code = MPS_OP_VALUE_ADD, .name = "k.val", .value = mps_int(2)},
	    MPS_CH_SET);
	X((mps_op){.code = MPS_OP_VALUE_CAS, .name = "k.val", .expected = mps_int(7), .value = mps_int(9)},
	    MPS_CH_SET);
	/* queue */
	create("k.q", MPS_KIND_QUEUE, MPS_TYPE_ANY, 0);
	X((mps_op){.code = MPS_OP_QUEUE_PUT, .name = "k.q", .value = mps_str("x")}, MPS_CH_QUEUE_PUT);
	X((mps_op){.code = MPS_OP_QUEUE_PUT, .name = "k.q", .value = mps_str("y")}, MPS_CH_QUEUE_PUT);
	uint64_t r_get = X((mps_op){.code = MPS_OP_QUEUE_GET, .name = "k.q"}, MPS_CH_QUEUE_GET);
	X((mps_op){.code = MPS_OP_QUEUE_TASK_DONE, .name = "k.q"}, MPS_CH_STATE);
	/* array */
	create("k.arr", MPS_KIND_ARRAY, MPS_TYPE_INT64, 4);
	uint64_t r_aset = X((mps_op){.code = MPS_OP_LIST_SET, .name = "k.arr", .index = 2,
	                        .value = mps_int(5)}, MPS_CH_LIST_SET);
	/* namespace */
	create("k.ns", MPS_KIND_NAMESPACE, MPS_TYPE_ANY, 0);
	X((mps_op){.code = MPS_OP_DICT_SET, .name = "k.ns", .key = mps_str("x"), .value = mps_int(1)},
	    MPS_CH_DICT_SET);
	X((mps_op){.code = MPS_OP_DICT_DEL, .name = "k.ns", .key = mps_str("x")}, MPS_CH_DICT_DELETE);
	/* a sync kind */
	create("k.lock", MPS_KIND_LOCK, MPS_TYPE_ANY, 0);
	X((mps_op){.code = MPS_OP_LOCK_ACQUIRE, .name = "k.lock"}, MPS_CH_STATE);
	X((mps_op){.code = MPS_OP_LOCK_RELEASE, .name = "k.lock"}, MPS_CH_STATE);
	/* a transaction over two containers: one revision, two changes */
	{
		mps_batch *b;
		CT_OK(mps_batch_alloc(c, &b));
		mps_value yes = mps_bool(1);
		CT_OK(mps_txn_compare(b, "k.val", MPS_TARGET_EXISTS, MPS_CMP_EQ, NULL, &yes));
		mps_op o1 = {.code = MPS_OP_DICT_SET, .name = "k.dict", .key = mps_str("t"), .value = mps_int(1)};
		mps_op o2 = {.code = MPS_OP_VALUE_SET, .name = "k.val", .value = mps_int(100)};
		mps_op o3 = {.code = MPS_OP_LIST_APPEND, .name = "k.dx", .value = mps_int(1)};
		(void) o3;
		CT_OK(mps_batch_append(b, &o1));
		CT_OK(mps_batch_append(b, &o2));
		CT_OK(mps_batch_exec(b));
		CT_TRUE(mps_txn_succeeded(b));
		mps_result r;
		CT_OK(mps_batch_result(b, 0, &r));
		uint64_t rev = r.revision;
		CT_OK(mps_batch_result(b, 1, &r));
		CT_TRUE(r.revision == rev);
		exp_[nexp++] = (exp_ch){rev, "k.dict", MPS_CH_DICT_SET};
		exp_[nexp++] = (exp_ch){rev, "k.val", MPS_CH_SET};
		mps_batch_free(b);
	}
	/* deletes */
	X((mps_op){.code = MPS_OP_DELETE, .name = "k.list"}, MPS_CH_DELETE);
	uint64_t last = X((mps_op){.code = MPS_OP_DELETE, .name = "k.dict"}, MPS_CH_DELETE);
	/* something after, outside every prefix but "" */
	create("other", MPS_KIND_LIST, MPS_TYPE_ANY, 0);
	last = X((mps_op){.code = MPS_OP_LIST_APPEND, .name = "other", .value = mps_int(1)},
	    MPS_CH_LIST_INSERT);
	for (size_t i = 1; i < nexp; i++) {
		CT_TRUE(exp_[i].rev >= exp_[i - 1].rev);
	}

	wt_log lall, llist, ld;
	wt_log_init(&lall);
	wt_log_init(&llist);
	wt_log_init(&ld);
	wt_pull(wall, &lall, last, 300, 10000);
	uint64_t last_list = 0, last_d = 0;
	for (size_t i = 0; i < nexp; i++) {
		last_list = match_list(exp_[i].name) ? exp_[i].rev : last_list;
		last_d    = match_d(exp_[i].name) ? exp_[i].rev : last_d;
	}
	wt_pull(wlist, &llist, last_list, 300, 10000);
	wt_pull(wd, &ld, last_d, 300, 10000);
	check("all", &lall, match_all);
	check("k.list", &llist, match_list);
	check("k.d*", &ld, match_d);
	for (int i = 0; i < 200 && mps_watch_revision(wcb) < last; i++) {
		mpst_sleep_ms(50);
	}
	mpst_sleep_ms(200);
	mps_unwatch(wcb);
	check("k.* (callback)", &lcb, match_k);

	/* the fields of some changes */
	const wt_ev *e = find(&lall, r_app, "k.list");
	CT_TRUE(e && e->index == 0 && e->nvalues == 1 && e->ival == 1);
	e = find(&lall, r_set, "k.list");
	CT_TRUE(e && e->index == 1 && e->ival == 7);
	e = find(&lall, r_pop0, "k.list");
	CT_TRUE(e && e->index == 0 && e->count == 1);
	e = find(&lall, r_dset, "k.dict");
	CT_TRUE(e && e->nkeys == 1 && e->nvalues == 1 && e->ival == 1);
	e = find(&lall, r_add, "k.val");
	CT_TRUE(e && e->ival == 7);
	e = find(&lall, r_get, "k.q");
	CT_TRUE(e && e->count == 1);
	e = find(&lall, r_aset, "k.arr");
	CT_TRUE(e && e->index == 2 && e->ival == 5);

	/* from an old revision: the same changes, from the daemon's history */
	mps_watch_opts oold = {.pub_url = d.pub_url, .from_revision = start + 1};
	mps_watcher   *wold;
	wt_log         lold;
	wt_log_init(&lold);
	CT_OK(mps_watch(c, "", &oold, &wold));
	wt_pull(wold, &lold, last, 300, 10000);
	check("from old revision", &lold, match_all);
	CT_TRUE(lold.v[0].recovered);
	mps_unwatch(wold);

	/* resync first: the full state of every k.* container, one revision */
	mps_watch_opts ors = {.pub_url = d.pub_url, .flags = MPS_WATCH_F_RESYNC_FIRST};
	mps_watcher   *wrs;
	CT_OK(mps_watch(c, "k.*", &ors, &wrs));
	const mps_watch_event *ev;
	size_t                 n = 0, count = 0;
	do {
		CT_OK(mps_watch_next(wrs, &ev, 5000));
		CT_TRUE(ev->type == MPS_WATCH_RESYNC && ev->resync_index == n);
		count = ev->resync_count;
		if (strcmp(ev->name, "k.val") == 0) {
			CT_TRUE(ev->value.type == MPS_INT && ev->value.u.i == 100);
		}
		if (strcmp(ev->name, "k.arr") == 0) {
			CT_TRUE(ev->nvalues == 4 && ev->values[2].u.i == 5);
		}
		if (strcmp(ev->name, "k.q") == 0) {
			CT_TRUE(ev->nvalues == 1 && ev->values[0].type == MPS_STRING);
		}
		n++;
	} while (n < count);
	CT_TRUE(count == 7); /* listx, dx, val, q, arr, ns, lock */
	mps_unwatch(wrs);
	/* a single container that does not exist: one resync saying so */
	CT_OK(mps_watch(c, "k.none", &ors, &wrs));
	CT_OK(mps_watch_next(wrs, &ev, 5000));
	CT_TRUE(ev->type == MPS_WATCH_RESYNC && ev->kind == MPS_KIND_NONE && ev->resync_count == 0);
	mps_unwatch(wrs);

	mps_watch_stats st;
	mps_watch_stats_get(wall, &st);
	printf("all: %llu notifications, %llu heartbeats, %llu gaps, %llu catch-ups, %llu lost\n",
	    (unsigned long long) st.notifications, (unsigned long long) st.heartbeats,
	    (unsigned long long) st.gaps, (unsigned long long) st.catchups,
	    (unsigned long long) st.lost);
	mps_unwatch(wall);
	mps_unwatch(wlist);
	mps_unwatch(wd);
	mps_close(c);
	ct_on_fail = NULL;
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("watch_kinds_test: ok (%zu changes)\n", nexp);
	return 0;
}
