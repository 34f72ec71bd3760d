/* client_ops_test.c - every op of the protocol through libmpstore against a
 * real mpstored: values, lists, dicts, sync kinds, batches, pipelining,
 * transactions, errors, and a blocked call not holding up other threads. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "client_test_util.h"
#include "support.h"

static mpst_daemon d;
static mps_client *c;

static void
test_hello(void)
{
	const mps_server_info *s = mps_server(c);
	CT_TRUE(s->protocol_version == MPS_PROTOCOL_VERSION);
	CT_TRUE(s->version != NULL && s->version[0]);
	CT_TRUE(s->client_id != 0);
	CT_OK(mps_ping(c));
}

static void
test_admin(void)
{
	CT_OK(mps_create_simple(c, "adm.a", MPS_KIND_LIST, MPS_TYPE_INT64));
	CT_OK(mps_create_simple(c, "adm.a", MPS_KIND_LIST, MPS_TYPE_INT64)); /* idempotent */
	CT_CHECK(mps_create_simple(c, "adm.a", MPS_KIND_DICT, MPS_TYPE_ANY), MPS_ERR_EXISTS);
	mps_create_opts o = {.kind = MPS_KIND_DICT, .key_type = MPS_KEY_INT64};
	CT_OK(mps_create(c, "adm.b", &o));
	mps_info *infos;
	size_t    n;
	CT_OK(mps_ls(c, "adm.", &infos, &n));
	CT_TRUE(n == 2);
	int seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(infos[i].name, "adm.a") == 0) {
			CT_TRUE(infos[i].kind == MPS_KIND_LIST && infos[i].elem_type == MPS_TYPE_INT64);
			seen++;
		}
		if (strcmp(infos[i].name, "adm.b") == 0) {
			CT_TRUE(infos[i].kind == MPS_KIND_DICT && infos[i].key_type == MPS_KEY_INT64);
			seen++;
		}
	}
	CT_TRUE(seen == 2);
	mps_infos_free(infos, n);
	mps_info info;
	CT_OK(mps_info_get(c, "adm.a", &info));
	CT_TRUE(info.kind == MPS_KIND_LIST && strcmp(info.name, "adm.a") == 0);
	mps_info_free(&info);
	CT_OK(mps_delete(c, "adm.a"));
	CT_CHECK(mps_info_get(c, "adm.a", &info), MPS_ERR_NOT_FOUND);
	CT_TRUE(strlen(mps_last_error()) > 0);
	CT_OK(mps_delete(c, "adm.b"));
	mps_value *lines;
	CT_OK(mps_stats(c, &lines, &n));
	mps_values_free(lines, n);
	uint64_t rev;
	CT_OK(mps_snapshot(c, &rev));
}

static void
test_value(void)
{
	int64_t i;
	CT_OK(mps_create_simple(c, "cnt", MPS_KIND_VALUE, MPS_TYPE_INT64));
	CT_OK(mps_counter_add(c, "cnt", 5, &i));
	CT_TRUE(i == 5);
	CT_OK(mps_counter_add(c, "cnt", -2, &i));
	CT_TRUE(i == 3);
	CT_OK(mps_counter_get(c, "cnt", &i));
	CT_TRUE(i == 3);
	mps_value v = mps_int(10), exp = mps_int(3), cur;
	int       sw;
	CT_OK(mps_value_cas(c, "cnt", &exp, &v, &sw, &cur));
	CT_TRUE(sw && cur.type == MPS_INT && cur.u.i == 10);
	CT_OK(mps_value_cas(c, "cnt", &exp, &v, &sw, &cur));
	CT_TRUE(!sw && cur.u.i == 10);
	mps_value s = mps_str("x");
	CT_CHECK(mps_value_set(c, "cnt", &s), MPS_ERR_WRONG_TYPE);

	CT_OK(mps_create_simple(c, "dbl", MPS_KIND_VALUE, MPS_TYPE_DOUBLE));
	double dv;
	CT_OK(mps_value_add_double(c, "dbl", 1.5, &dv));
	CT_OK(mps_value_add_double(c, "dbl", 1.0, &dv));
	CT_TRUE(dv == 2.5);

	CT_OK(mps_create_simple(c, "anyv", MPS_KIND_VALUE, MPS_TYPE_ANY));
	s = mps_str("hello");
	CT_OK(mps_value_set(c, "anyv", &s));
	CT_OK(mps_value_get(c, "anyv", &v));
	CT_TRUE(mps_value_equal(&v, &s));
	CT_TRUE(v.u.s.ptr[5] == '\0');
	mps_value_free(&v);
}

static void
test_list(void)
{
	int64_t   n;
	mps_value v, *vals;
	size_t    nv;
	CT_OK(mps_create_simple(c, "l", MPS_KIND_LIST, MPS_TYPE_ANY));
	CT_CHECK(mps_list_pop(c, "l", &v), MPS_ERR_EMPTY);
	mps_value a = mps_int(1), b = mps_str("two"), x = mps_double(3.5);
	CT_OK(mps_list_append(c, "l", &a, &n));
	CT_TRUE(n == 1);
	mps_value ext[] = {b, x};
	CT_OK(mps_list_extend(c, "l", ext, 2, &n));
	CT_TRUE(n == 3);
	mps_value z = mps_int(0);
	CT_OK(mps_list_insert(c, "l", 0, &z)); /* 0 1 "two" 3.5 */
	CT_OK(mps_list_get(c, "l", -1, &v));
	CT_TRUE(mps_value_equal(&v, &x));
	mps_value_free(&v);
	CT_CHECK(mps_list_get(c, "l", 10, &v), MPS_ERR_INDEX);
	CT_OK(mps_list_slice(c, "l", 1, 3, 1, &vals, &nv));
	CT_TRUE(nv == 2 && mps_value_equal(&vals[0], &a) && mps_value_equal(&vals[1], &b));
	mps_values_free(vals, nv);
	CT_OK(mps_list_slice(c, "l", 0, 0, 0, &vals, &nv));
	CT_TRUE(nv == 4);
	mps_values_free(vals, nv);
	mps_value nine = mps_int(9);
	CT_OK(mps_list_set(c, "l", 1, &nine)); /* 0 9 "two" 3.5 */
	CT_OK(mps_list_index(c, "l", &b, &n));
	CT_TRUE(n == 2);
	CT_OK(mps_list_remove(c, "l", &b)); /* 0 9 3.5 */
	CT_TRUE(mps_list_remove(c, "l", &b) != MPS_OK);
	CT_OK(mps_list_pop_index(c, "l", 0, &v));
	CT_TRUE(v.type == MPS_INT && v.u.i == 0);
	CT_OK(mps_list_pop(c, "l", &v));
	CT_TRUE(v.type == MPS_DOUBLE && v.u.d == 3.5);
	CT_OK(mps_list_len(c, "l", &n));
	CT_TRUE(n == 1);
	CT_OK(mps_list_clear(c, "l"));
	CT_OK(mps_list_len(c, "l", &n));
	CT_TRUE(n == 0);
	/* wrong kind / type */
	CT_OK(mps_create_simple(c, "li", MPS_KIND_LIST, MPS_TYPE_INT64));
	CT_CHECK(mps_list_append(c, "li", &b, NULL), MPS_ERR_WRONG_TYPE);
	CT_CHECK(mps_counter_add(c, "li", 1, NULL), MPS_ERR_WRONG_KIND);
	CT_CHECK(mps_list_append(c, "nosuch", &a, NULL), MPS_ERR_NOT_FOUND);
}

static void
test_dict(void)
{
	mps_value k1 = mps_str("a"), k2 = mps_str("b"), v1 = mps_int(1), v2 = mps_str("B"), out;
	int       yes;
	int64_t   n;
	CT_OK(mps_create_simple(c, "d", MPS_KIND_DICT, MPS_TYPE_ANY));
	CT_OK(mps_dict_set(c, "d", &k1, &v1));
	CT_OK(mps_dict_set(c, "d", &k2, &v2));
	CT_OK(mps_dict_get(c, "d", &k2, &out));
	CT_TRUE(mps_value_equal(&out, &v2));
	mps_value_free(&out);
	mps_value missing = mps_str("zz"), dflt = mps_int(-1);
	CT_CHECK(mps_dict_get(c, "d", &missing, &out), MPS_ERR_NO_KEY);
	CT_OK(mps_dict_get_default(c, "d", &missing, &dflt, &out));
	CT_TRUE(mps_value_equal(&out, &dflt));
	CT_OK(mps_dict_contains(c, "d", &k1, &yes));
	CT_TRUE(yes);
	CT_OK(mps_dict_contains(c, "d", &missing, &yes));
	CT_TRUE(!yes);
	CT_OK(mps_dict_len(c, "d", &n));
	CT_TRUE(n == 2);
	mps_value uk[] = {mps_str("c"), mps_str("a")}, uv[] = {mps_int(3), mps_int(100)};
	CT_OK(mps_dict_update(c, "d", uk, uv, 2)); /* a=100 b="B" c=3 */
	mps_value *keys, *vals;
	size_t     nk;
	CT_OK(mps_dict_items(c, "d", &keys, &vals, &nk));
	CT_TRUE(nk == 3);
	CT_TRUE(mps_value_equal(&keys[0], &k1) && vals[0].u.i == 100); /* insertion order */
	CT_TRUE(mps_value_equal(&keys[2], &uk[0]));
	mps_values_free(keys, nk);
	mps_values_free(vals, nk);
	CT_OK(mps_dict_keys(c, "d", &keys, &nk));
	CT_TRUE(nk == 3);
	mps_values_free(keys, nk);
	CT_OK(mps_dict_values(c, "d", &vals, &nk));
	CT_TRUE(nk == 3);
	mps_values_free(vals, nk);
	/* paging */
	int64_t next;
	CT_OK(mps_dict_page(c, "d", MPS_OP_DICT_KEYS, 0, 2, &keys, NULL, &nk, &next));
	CT_TRUE(nk == 2 && next > 0);
	mps_values_free(keys, nk);
	CT_OK(mps_dict_page(c, "d", MPS_OP_DICT_KEYS, next, 2, &keys, NULL, &nk, &next));
	CT_TRUE(nk == 1 && next == -1);
	mps_values_free(keys, nk);
	CT_OK(mps_dict_setdefault(c, "d", &k1, &dflt, &out));
	CT_TRUE(out.u.i == 100);
	mps_value k4 = mps_str("d");
	CT_OK(mps_dict_setdefault(c, "d", &k4, &dflt, &out));
	CT_TRUE(out.u.i == -1);
	CT_OK(mps_dict_pop(c, "d", &k4, NULL, &out));
	CT_TRUE(out.u.i == -1);
	CT_CHECK(mps_dict_pop(c, "d", &k4, NULL, &out), MPS_ERR_NO_KEY);
	CT_OK(mps_dict_pop(c, "d", &k4, &v1, &out));
	CT_TRUE(out.u.i == 1);
	CT_OK(mps_dict_del(c, "d", &k1));
	CT_CHECK(mps_dict_del(c, "d", &k1), MPS_ERR_NO_KEY);
	CT_OK(mps_dict_clear(c, "d"));
	CT_OK(mps_dict_len(c, "d", &n));
	CT_TRUE(n == 0);
	/* int64 keys */
	mps_create_opts o = {.kind = MPS_KIND_DICT, .key_type = MPS_KEY_INT64};
	CT_OK(mps_create(c, "di", &o));
	mps_value ik = mps_int(42);
	CT_OK(mps_dict_set(c, "di", &ik, &v2));
	CT_CHECK(mps_dict_set(c, "di", &k1, &v2), MPS_ERR_WRONG_TYPE);
	CT_OK(mps_dict_get(c, "di", &ik, &out));
	CT_TRUE(mps_value_equal(&out, &v2));
	mps_value_free(&out);
	/* namespace */
	CT_OK(mps_create_simple(c, "ns", MPS_KIND_NAMESPACE, MPS_TYPE_ANY));
	CT_OK(mps_ns_set(c, "ns", "x", &v1));
	CT_OK(mps_ns_get(c, "ns", "x", &out));
	CT_TRUE(out.u.i == 1);
	CT_OK(mps_ns_items(c, "ns", &keys, &vals, &nk));
	CT_TRUE(nk == 1);
	mps_values_free(keys, nk);
	mps_values_free(vals, nk);
	CT_OK(mps_ns_del(c, "ns", "x"));
	/* dump */
	mps_dump dump;
	CT_OK(mps_dump_get(c, "di", &dump));
	CT_TRUE(dump.info.kind == MPS_KIND_DICT && dump.nkeys == 1 && dump.nvalues == 1);
	mps_dump_free(&dump);
}

static void
test_array(void)
{
	mps_create_opts o = {.kind = MPS_KIND_ARRAY, .elem_type = MPS_TYPE_INT64, .count = 10};
	int64_t         n;
	mps_value       v = mps_int(7), out, *vals;
	size_t          nv;
	CT_OK(mps_create(c, "arr", &o));
	CT_OK(mps_array_len(c, "arr", &n));
	CT_TRUE(n == 10);
	CT_OK(mps_array_set(c, "arr", 3, &v));
	CT_OK(mps_array_get(c, "arr", 3, &out));
	CT_TRUE(out.u.i == 7);
	CT_CHECK(mps_array_get(c, "arr", 10, &out), MPS_ERR_INDEX);
	CT_OK(mps_array_slice(c, "arr", 2, 5, 1, &vals, &nv));
	CT_TRUE(nv == 3 && vals[1].u.i == 7);
	mps_values_free(vals, nv);
	CT_CHECK(mps_list_append(c, "arr", &v, NULL), MPS_ERR_WRONG_KIND);
}

static void
test_queue(void)
{
	mps_create_opts o = {.kind = MPS_KIND_QUEUE, .count = 2};
	mps_value       v = mps_int(1), out;
	int64_t         qs;
	int             yes;
	CT_OK(mps_create(c, "q", &o));
	CT_CHECK(mps_queue_get(c, "q", 0, &out), MPS_ERR_EMPTY);
	long long t0 = mpst_now_ms();
	CT_CHECK(mps_queue_get(c, "q", 200, &out), MPS_ERR_TIMEOUT);
	CT_TRUE(mpst_now_ms() - t0 >= 150);
	CT_OK(mps_queue_put(c, "q", &v, 0, &qs));
	v = mps_int(2);
	CT_OK(mps_queue_put(c, "q", &v, 0, &qs));
	CT_TRUE(qs == 2);
	CT_CHECK(mps_queue_put(c, "q", &v, 0, &qs), MPS_ERR_FULL);
	CT_OK(mps_queue_full(c, "q", &yes));
	CT_TRUE(yes);
	CT_OK(mps_queue_size(c, "q", &qs));
	CT_TRUE(qs == 2);
	CT_OK(mps_queue_get(c, "q", -1, &out));
	CT_TRUE(out.u.i == 1);
	CT_OK(mps_queue_get(c, "q", 100, &out));
	CT_TRUE(out.u.i == 2);
	CT_OK(mps_queue_empty(c, "q", &yes));
	CT_TRUE(yes);
	CT_OK(mps_queue_task_done(c, "q"));
	CT_OK(mps_queue_task_done(c, "q"));
	CT_OK(mps_queue_join(c, "q", 1000));
}

typedef struct getter {
	const char *url;
	mps_value   got;
	mps_err     err;
	mps_client *shared;
} getter;

static void *
getter_main(void *arg)
{
	getter *g = arg;
	g->err    = mps_queue_get(g->shared, "q2", 10000, &g->got);
	return NULL;
}

/* A blocked get on one thread does not hold up other threads' calls on the
 * same handle. */
static void
test_blocking_concurrency(void)
{
	CT_OK(mps_create_simple(c, "q2", MPS_KIND_QUEUE, MPS_TYPE_ANY));
	getter    g = {.shared = c};
	pthread_t t;
	CT_TRUE(pthread_create(&t, NULL, getter_main, &g) == 0);
	mpst_sleep_ms(100);
	long long t0 = mpst_now_ms();
	for (int i = 0; i < 20; i++) {
		CT_OK(mps_ping(c));
	}
	CT_TRUE(mpst_now_ms() - t0 < 2000);
	mps_value v = mps_str("wake");
	CT_OK(mps_queue_put(c, "q2", &v, 0, NULL));
	pthread_join(t, NULL);
	CT_OK(g.err);
	CT_TRUE(mps_value_equal(&g.got, &v));
	mps_value_free(&g.got);
}

static void
test_sync_kinds(void)
{
	uint64_t t1, t2;
	int      locked;
	int64_t  depth, sv;
	CT_OK(mps_create_simple(c, "lk", MPS_KIND_LOCK, MPS_TYPE_ANY));
	CT_CHECK(mps_lock_release(c, "lk"), MPS_ERR_NOT_OWNER);
	CT_OK(mps_lock_acquire(c, "lk", 0, &t1));
	CT_OK(mps_lock_locked(c, "lk", &locked, NULL));
	CT_TRUE(locked);
	/* another session cannot take it */
	mps_client *c2;
	CT_OK(mps_open(&c2, d.url, 2000));
	CT_TRUE(mps_lock_acquire(c2, "lk", 0, NULL) != MPS_OK);
	CT_CHECK(mps_lock_release(c2, "lk"), MPS_ERR_NOT_OWNER);
	CT_OK(mps_lock_release(c, "lk"));
	CT_OK(mps_lock_acquire(c2, "lk", 1000, &t2));
	CT_TRUE(t2 > t1);
	CT_OK(mps_lock_release(c2, "lk"));

	CT_OK(mps_create_simple(c, "rl", MPS_KIND_RLOCK, MPS_TYPE_ANY));
	CT_OK(mps_rlock_acquire(c, "rl", 0, NULL, &depth));
	CT_OK(mps_rlock_acquire(c, "rl", 0, NULL, &depth));
	CT_TRUE(depth == 2);
	CT_OK(mps_lock_release(c, "rl"));
	CT_OK(mps_lock_release(c, "rl"));
	CT_CHECK(mps_lock_release(c, "rl"), MPS_ERR_NOT_OWNER);

	mps_create_opts so = {.kind = MPS_KIND_BOUNDED_SEMAPHORE, .count = 2};
	CT_OK(mps_create(c, "sem", &so));
	CT_OK(mps_sem_acquire(c, "sem", 0, &sv));
	CT_TRUE(sv == 1);
	CT_OK(mps_sem_acquire(c, "sem", 0, &sv));
	CT_TRUE(mps_sem_acquire(c, "sem", 0, &sv) != MPS_OK);
	CT_OK(mps_sem_release(c, "sem", &sv));
	CT_OK(mps_sem_release(c, "sem", &sv));
	CT_TRUE(mps_sem_release(c, "sem", &sv) != MPS_OK); /* bounded */
	CT_OK(mps_sem_value(c, "sem", &sv));
	CT_TRUE(sv == 2);

	int set;
	CT_OK(mps_create_simple(c, "ev", MPS_KIND_EVENT, MPS_TYPE_ANY));
	CT_OK(mps_event_is_set(c, "ev", &set));
	CT_TRUE(!set);
	CT_OK(mps_event_wait(c, "ev", 100, &set));
	CT_TRUE(!set);
	CT_OK(mps_event_set(c, "ev"));
	CT_OK(mps_event_wait(c, "ev", 100, &set));
	CT_TRUE(set);
	CT_OK(mps_event_clear(c, "ev"));

	int     notified;
	int64_t woken;
	CT_OK(mps_create_simple(c, "cv", MPS_KIND_CONDITION, MPS_TYPE_ANY));
	CT_OK(mps_cond_acquire(c, "cv", 0, NULL));
	CT_OK(mps_cond_wait(c, "cv", 100, &notified));
	CT_TRUE(!notified);
	CT_OK(mps_cond_notify(c, "cv", 1, &woken));
	CT_TRUE(woken == 0);
	CT_OK(mps_cond_notify_all(c, "cv", &woken));
	CT_OK(mps_cond_release(c, "cv"));

	mps_create_opts bo = {.kind = MPS_KIND_BARRIER, .count = 1};
	int64_t         idx, parties, waiting;
	int             broken;
	CT_OK(mps_create(c, "bar", &bo));
	CT_OK(mps_barrier_wait(c, "bar", 1000, &idx));
	CT_TRUE(idx == 0);
	CT_OK(mps_barrier_info(c, "bar", &parties, &waiting, &broken));
	CT_TRUE(parties == 1 && !broken);
	CT_OK(mps_barrier_abort(c, "bar"));
	CT_CHECK(mps_barrier_wait(c, "bar", 100, &idx), MPS_ERR_BROKEN);
	CT_OK(mps_barrier_reset(c, "bar"));
	mps_close(c2);
}

static void
test_batch(void)
{
	mps_batch *b;
	mps_result r;
	CT_OK(mps_create_simple(c, "bc", MPS_KIND_VALUE, MPS_TYPE_INT64));
	CT_OK(mps_batch_alloc(c, &b));
	for (int i = 0; i < 16; i++) {
		mps_op op = {.code = MPS_OP_VALUE_ADD, .name = "bc", .value = mps_int(1)};
		CT_OK(mps_batch_append(b, &op));
	}
	mps_op bad = {.code = MPS_OP_LIST_LEN, .name = "bc"};
	CT_OK(mps_batch_append(b, &bad));
	CT_TRUE(mps_batch_len(b) == 17);
	CT_OK(mps_batch_exec(b));
	CT_TRUE(mps_batch_nresults(b) == 17);
	CT_OK(mps_batch_result(b, 15, &r));
	CT_TRUE(r.status == MPS_OK && r.value.type == MPS_INT && r.value.u.i == 16);
	CT_OK(mps_batch_result(b, 16, &r));
	CT_TRUE(r.status == MPS_ERR_WRONG_KIND);
	CT_CHECK(mps_batch_result(b, 17, &r), MPS_ERR_INDEX);
	/* reuse */
	mps_batch_reset(b);
	mps_op get = {.code = MPS_OP_VALUE_GET, .name = "bc"};
	CT_OK(mps_batch_append(b, &get));
	CT_OK(mps_batch_exec(b));
	CT_OK(mps_batch_result(b, 0, &r));
	CT_TRUE(r.value.u.i == 16);
	CT_OK(mps_batch_exec(b)); /* again, same ops */
	CT_OK(mps_batch_result(b, 0, &r));
	CT_TRUE(r.value.u.i == 16);
	mps_batch_free(b);
}

/* ---- pipelining: 16 batches in flight, each resubmitted from its callback */

typedef struct pipe_state {
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	int             remaining; /* submissions left */
	int             active;
	int             errors;
	long long       acked;
} pipe_state;

static void
pipe_cb(mps_batch *b, mps_err err, void *arg)
{
	pipe_state *ps = arg;
	mps_result  r;
	int         again;
	pthread_mutex_lock(&ps->mtx);
	if (err != MPS_OK) {
		ps->errors++;
	} else {
		for (size_t i = 0; i < mps_batch_nresults(b); i++) {
			if (mps_batch_result(b, i, &r) != MPS_OK || r.status != MPS_OK) {
				ps->errors++;
			} else {
				ps->acked++;
			}
		}
	}
	again = ps->remaining > 0;
	if (again) {
		ps->remaining--;
	}
	pthread_mutex_unlock(&ps->mtx);
	/* resubmit the same ops: the batch's message and memory are reused */
	if (again && mps_batch_submit(b, pipe_cb, ps) == MPS_OK) {
		return;
	}
	pthread_mutex_lock(&ps->mtx);
	ps->active--;
	pthread_cond_broadcast(&ps->cv);
	pthread_mutex_unlock(&ps->mtx);
}

static void
test_pipeline(void)
{
	enum { INFLIGHT = 16, OPS = 8, ROUNDS = 400 };
	mps_batch *bs[INFLIGHT];
	pipe_state ps = {.remaining = ROUNDS - INFLIGHT, .active = INFLIGHT};
	pthread_mutex_init(&ps.mtx, NULL);
	pthread_cond_init(&ps.cv, NULL);
	CT_OK(mps_create_simple(c, "pc", MPS_KIND_VALUE, MPS_TYPE_INT64));
	for (int i = 0; i < INFLIGHT; i++) {
		CT_OK(mps_batch_alloc(c, &bs[i]));
		for (int k = 0; k < OPS; k++) {
			mps_op op = {.code = MPS_OP_VALUE_ADD, .name = "pc", .value = mps_int(1)};
			CT_OK(mps_batch_append(bs[i], &op));
		}
	}
	for (int i = 0; i < INFLIGHT; i++) {
		CT_OK(mps_batch_submit(bs[i], pipe_cb, &ps));
	}
	pthread_mutex_lock(&ps.mtx);
	while (ps.active > 0) {
		pthread_cond_wait(&ps.cv, &ps.mtx);
	}
	pthread_mutex_unlock(&ps.mtx);
	for (int i = 0; i < INFLIGHT; i++) {
		mps_batch_wait(bs[i]);
		mps_batch_free(bs[i]);
	}
	CT_TRUE(ps.errors == 0);
	CT_TRUE(ps.acked == (long long) ROUNDS * OPS);
	int64_t v;
	CT_OK(mps_counter_get(c, "pc", &v));
	CT_TRUE(v == (int64_t) ROUNDS * OPS);
}

static void
test_txn(void)
{
	mps_batch *b;
	mps_result r;
	int64_t    v;
	CT_OK(mps_create_simple(c, "tx", MPS_KIND_VALUE, MPS_TYPE_INT64));
	CT_OK(mps_counter_add(c, "tx", 5, NULL));
	CT_OK(mps_batch_alloc(c, &b));
	mps_value five = mps_int(5);
	CT_OK(mps_txn_compare(b, "tx", MPS_TARGET_VALUE, MPS_CMP_EQ, NULL, &five));
	mps_op set6 = {.code = MPS_OP_VALUE_SET, .name = "tx", .value = mps_int(6)};
	CT_OK(mps_batch_append(b, &set6));
	CT_OK(mps_txn_else(b));
	mps_op get = {.code = MPS_OP_VALUE_GET, .name = "tx"};
	CT_OK(mps_batch_append(b, &get));
	CT_OK(mps_batch_exec(b));
	CT_TRUE(mps_txn_succeeded(b));
	CT_OK(mps_counter_get(c, "tx", &v));
	CT_TRUE(v == 6);
	/* same txn again: the guard fails, the else branch runs */
	CT_OK(mps_batch_exec(b));
	CT_TRUE(!mps_txn_succeeded(b));
	CT_TRUE(mps_batch_nresults(b) == 1);
	CT_OK(mps_batch_result(b, 0, &r));
	CT_TRUE(r.status == MPS_OK && r.value.u.i == 6);
	mps_batch_free(b);
}

static void
test_closed_and_connect(void)
{
	mps_client *x;
	CT_CHECK(mps_open(&x, "ipc:///nonexistent/dir/mpstore.ipc", 500), MPS_ERR_CONNECT);
	CT_TRUE(x == NULL);
	CT_CHECK(mps_open(&x, "bogus://url", 500), MPS_ERR_CONNECT);
	/* $MPSTORE_URL is used when url is NULL */
	setenv("MPSTORE_URL", d.url, 1);
	CT_OK(mps_open(&x, NULL, 2000));
	mps_close(x);
	unsetenv("MPSTORE_URL");
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
	if (mpst_daemon_start(&d, NULL) != 0) {
		fprintf(stderr, "cannot start mpstored (see %s)\n", d.log);
		return 1;
	}
	CT_OK(mps_open(&c, d.url, 5000));
	struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{"hello", test_hello},
		{"admin", test_admin},
		{"value", test_value},
		{"list", test_list},
		{"dict", test_dict},
		{"array", test_array},
		{"queue", test_queue},
		{"blocking_concurrency", test_blocking_concurrency},
		{"sync_kinds", test_sync_kinds},
		{"batch", test_batch},
		{"pipeline", test_pipeline},
		{"txn", test_txn},
		{"closed_and_connect", test_closed_and_connect},
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		fprintf(stderr, "[ RUN  ] %s\n", tests[i].name);
		tests[i].fn();
		fprintf(stderr, "[  OK  ] %s\n", tests[i].name);
	}
	mps_close(c);
	mpst_daemon_cleanup(&d);
	return 0;
}
