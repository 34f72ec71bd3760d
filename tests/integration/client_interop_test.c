/*
 * libmpstore's own SP transport against nng's reference sockets (issue
 * 12), over ipc:// and tcp://:
 *  - an nng REP socket with contexts (in this test) answers canned valid
 *    Responses; requests whose container name starts with "slow." are
 *    held and answered later, so replies come out of order: 8 threads of
 *    synchronous calls and 16 asynchronous batches in flight on one handle
 *    each get their own answer;
 *  - libmpstore's own SUB against an nng PUB socket: a watch on a prefix
 *    gets the changes published under it, in order, and not the others.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>

#include "client_test_util.h"
#include "mpstore.pb-c.h"
#include "support.h"

#define NCTX     32
#define THREADS  8
#define CALLS    100
#define NBATCH   16
#define NCHANGES 50

/* ---- a fake daemon: nng REP with contexts ---- */

enum { S_RECV, S_HELD, S_SEND };

typedef struct srv_ctx {
	nng_ctx   ctx;
	nng_aio  *aio;
	int       state;
	long long due;   /* S_HELD: send when now >= due */
	nng_msg  *reply; /* S_HELD */
} srv_ctx;

static nng_socket      rep, pub;
static srv_ctx         ctxs[NCTX];
static pthread_mutex_t srv_mtx = PTHREAD_MUTEX_INITIALIZER;
static int             srv_stop;
static long long       held_total;

/* Published changes, for OP_CHANGES. */
static Mpstore__Change *published[4 * NCHANGES];
static int              npublished;
static uint64_t         revision = 100;

/* The value a get of name answers: the number after its last '.'. */
static int64_t name_value(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot != NULL ? atoll(dot + 1) : -1;
}

static nng_msg *answer(const Mpstore__Request *rq)
{
	Mpstore__Response r = MPSTORE__RESPONSE__INIT;
	r.version           = 1;
	r.id                = rq->id;
	r.revision          = revision;
	r.n_results         = rq->n_ops;
	r.results           = calloc(rq->n_ops ? rq->n_ops : 1, sizeof(*r.results));
	Mpstore__Result *res  = calloc(rq->n_ops ? rq->n_ops : 1, sizeof(*res));
	Mpstore__Value  *vals = calloc(rq->n_ops ? rq->n_ops : 1, sizeof(*vals));
	for (size_t i = 0; i < rq->n_ops; i++) {
		const Mpstore__Op *op = rq->ops[i];
		mpstore__result__init(&res[i]);
		mpstore__value__init(&vals[i]);
		r.results[i] = &res[i];
		switch (op->code) {
		case MPSTORE__OP_CODE__OP_HELLO:
			vals[i].v_case       = MPSTORE__VALUE__V_STRING_VALUE;
			vals[i].string_value = "fake-1.0";
			res[i].value         = &vals[i];
			res[i].count         = 1; /* protocol; token 0: no lease, no keepalive */
			res[i].revision      = revision;
			break;
		case MPSTORE__OP_CODE__OP_VALUE_GET:
			vals[i].v_case    = MPSTORE__VALUE__V_INT_VALUE;
			vals[i].int_value = name_value(op->name);
			res[i].value      = &vals[i];
			break;
		case MPSTORE__OP_CODE__OP_CHANGES:
			res[i].revision = revision;
			res[i].next     = -1;
			res[i].changes  = calloc(4 * NCHANGES, sizeof(*res[i].changes));
			for (int k = 0; k < npublished; k++)
				if (published[k]->revision >= op->from_revision)
					res[i].changes[res[i].n_changes++] = published[k];
			break;
		default:
			break;
		}
	}
	nng_msg *m;
	size_t   len = mpstore__response__get_packed_size(&r);
	CT_TRUE(nng_msg_alloc(&m, len) == 0);
	mpstore__response__pack(&r, nng_msg_body(m));
	for (size_t i = 0; i < rq->n_ops; i++)
		free(res[i].changes);
	free(vals);
	free(res);
	free(r.results);
	return m;
}

/* A context receives, answers (now, or later for "slow." names: later
 * requests overtake it), and receives again, on one aio. */
static void ctx_cb(void *arg)
{
	srv_ctx *s  = arg;
	int      rv = nng_aio_result(s->aio);
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (s->state == S_SEND) {
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(s->aio));
			nng_aio_set_msg(s->aio, NULL);
		}
		s->state = S_RECV;
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	if (rv != 0) {
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	nng_msg *m = nng_aio_get_msg(s->aio);
	nng_aio_set_msg(s->aio, NULL);
	Mpstore__Request *rq = mpstore__request__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
	nng_msg_free(m);
	CT_TRUE(rq != NULL);
	pthread_mutex_lock(&srv_mtx);
	nng_msg *reply = answer(rq);
	if (rq->n_ops > 0 && rq->ops[0]->name != NULL && strncmp(rq->ops[0]->name, "slow.", 5) == 0) {
		s->reply = reply;
		s->due   = mpst_now_ms() + 50 + rand() % 100;
		s->state = S_HELD;
		held_total++;
		reply = NULL;
	} else {
		s->state = S_SEND;
	}
	pthread_mutex_unlock(&srv_mtx);
	mpstore__request__free_unpacked(rq, NULL);
	if (reply != NULL) {
		nng_aio_set_msg(s->aio, reply);
		nng_ctx_send(s->ctx, s->aio);
	}
}

static void *holder_main(void *arg)
{
	(void)arg;
	while (!srv_stop) {
		mpst_sleep_ms(10);
		pthread_mutex_lock(&srv_mtx);
		for (int i = 0; i < NCTX; i++) {
			srv_ctx *s = &ctxs[i];
			if (s->state == S_HELD && mpst_now_ms() >= s->due) {
				nng_msg *m = s->reply;
				s->reply   = NULL;
				s->state   = S_SEND;
				nng_aio_set_msg(s->aio, m);
				nng_ctx_send(s->ctx, s->aio);
			}
		}
		pthread_mutex_unlock(&srv_mtx);
	}
	return NULL;
}

/* ---- the client side ---- */

static mps_client *c;

static void *caller(void *arg)
{
	int t = (int)(intptr_t)arg;
	for (int i = 0; i < CALLS; i++) {
		char      name[64];
		int64_t   want = t * 100000 + i;
		mps_value v;
		snprintf(name, sizeof(name), "%s.%" PRId64, (i % 5 == 0) ? "slow" : "fast", want);
		CT_OK(mps_value_get(c, name, &v));
		CT_TRUE(v.type == MPS_INT && v.u.i == want);
	}
	return NULL;
}

static int batch_got[NBATCH];

static void batch_cb(mps_batch *b, mps_err e, void *arg)
{
	int        k = (int)(intptr_t)arg;
	mps_result r;
	CT_OK(e);
	CT_OK(mps_batch_result(b, 0, &r));
	CT_TRUE(r.value.type == MPS_INT);
	batch_got[k] = (int)r.value.u.i;
}

static void requests(const char *url)
{
	setenv("MPSTORE_COALESCE", "0", 1); /* one request per call: many in flight */
	CT_OK(mps_open(&c, url, 10000));
	unsetenv("MPSTORE_COALESCE");
	CT_TRUE(strcmp(mps_server(c)->version, "fake-1.0") == 0);
	long long held0 = held_total;

	pthread_t th[THREADS];
	for (int t = 0; t < THREADS; t++)
		CT_TRUE(pthread_create(&th[t], NULL, caller, (void *)(intptr_t)t) == 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);

	/* asynchronous: all in flight at once, slow ones overtaken */
	mps_batch *b[NBATCH];
	for (int k = 0; k < NBATCH; k++) {
		char name[32];
		snprintf(name, sizeof(name), "%s.%d", k % 2 ? "slow" : "fast", 7000 + k);
		mps_op op = {.code = MPS_OP_VALUE_GET, .name = name};
		batch_got[k] = -1;
		CT_OK(mps_batch_alloc(c, &b[k]));
		CT_OK(mps_batch_append(b[k], &op));
		CT_OK(mps_batch_submit(b[k], batch_cb, (void *)(intptr_t)k));
	}
	for (int k = 0; k < NBATCH; k++) {
		mps_batch_wait(b[k]);
		CT_TRUE(batch_got[k] == 7000 + k);
		mps_batch_free(b[k]);
	}
	CT_TRUE(held_total - held0 >= THREADS * CALLS / 5 + NBATCH / 2); /* out of order for real */
	mps_close(c);
}

/* ---- PUB ---- */

static void publish(const char *name, uint64_t rev, int64_t v)
{
	Mpstore__Change *ch  = calloc(1, sizeof(*ch));
	Mpstore__Value  *val = calloc(1, sizeof(*val));
	mpstore__change__init(ch);
	mpstore__value__init(val);
	val->v_case    = MPSTORE__VALUE__V_INT_VALUE;
	val->int_value = v;
	ch->revision   = rev;
	ch->name       = strdup(name);
	ch->kind       = MPSTORE__KIND__KIND_VALUE;
	ch->type       = MPSTORE__CHANGE_TYPE__CH_SET;
	ch->value      = val;
	Mpstore__Notification n = MPSTORE__NOTIFICATION__INIT;
	n.n_changes             = 1;
	n.changes               = &ch;
	size_t   nl  = strlen(name) + 1;
	size_t   len = nl + mpstore__notification__get_packed_size(&n);
	nng_msg *m;
	CT_TRUE(nng_msg_alloc(&m, len) == 0);
	memcpy(nng_msg_body(m), name, nl);
	mpstore__notification__pack(&n, (uint8_t *)nng_msg_body(m) + nl);
	pthread_mutex_lock(&srv_mtx);
	revision = rev;
	if (strncmp(name, "it.", 3) == 0) {
		published[npublished++] = ch; /* what OP_CHANGES lists for the watch */
	} else {
		free(ch->name);
		free(val);
		free(ch);
	}
	pthread_mutex_unlock(&srv_mtx);
	CT_TRUE(nng_sendmsg(pub, m, 0) == 0);
}

static void watch(const char *url, const char *pub_url)
{
	CT_OK(mps_open(&c, url, 10000));
	mps_watch_opts o = {.pub_url = pub_url, .flags = MPS_WATCH_F_NO_AUDIT};
	mps_watcher   *w;
	CT_OK(mps_watch(c, "it.*", &o, &w));
	mpst_sleep_ms(300); /* let nng's PUB see the subscriber */
	uint64_t rev = revision;
	for (int i = 1; i <= NCHANGES; i++) {
		publish(i % 3 == 0 ? "other.x" : "it.v", ++rev, i); /* others: filtered out */
	}
	int       next = 1;
	long long until = mpst_now_ms() + 30000;
	while (next <= NCHANGES) {
		if (next % 3 == 0) {
			next++;
			continue;
		}
		const mps_watch_event *ev;
		CT_TRUE(mpst_now_ms() < until);
		mps_err e = mps_watch_next(w, &ev, 500);
		if (e == MPS_ERR_TIMEOUT)
			continue;
		CT_OK(e);
		CT_TRUE(ev->type == MPS_WATCH_CHANGE && strcmp(ev->name, "it.v") == 0);
		CT_TRUE(ev->value.type == MPS_INT && ev->value.u.i == next);
		next++;
	}
	mps_watch_stats st;
	mps_watch_stats_get(w, &st);
	CT_TRUE(st.notifications > 0); /* they came over SUB, not only by catch-up */
	mps_unwatch(w);
	mps_close(c);
}

static void serve(const char *url, const char *pub_url)
{
	CT_TRUE(nng_listen(rep, url, NULL, 0) == 0);
	CT_TRUE(nng_listen(pub, pub_url, NULL, 0) == 0);
}

int main(void)
{
	char dir[] = "/tmp/mpst-interop.XXXXXX";
	CT_TRUE(mkdtemp(dir) != NULL);
	CT_TRUE(nng_rep0_open(&rep) == 0 && nng_pub0_open(&pub) == 0);
	for (int i = 0; i < NCTX; i++) {
		ctxs[i].state = S_RECV;
		CT_TRUE(nng_ctx_open(&ctxs[i].ctx, rep) == 0);
		CT_TRUE(nng_aio_alloc(&ctxs[i].aio, ctx_cb, &ctxs[i]) == 0);
		nng_ctx_recv(ctxs[i].ctx, ctxs[i].aio);
	}
	pthread_t holder;
	CT_TRUE(pthread_create(&holder, NULL, holder_main, NULL) == 0);

	char ipc[300], ipc_pub[300], tcp[64], tcp_pub[64];
	snprintf(ipc, sizeof(ipc), "ipc://%s/rep.ipc", dir);
	snprintf(ipc_pub, sizeof(ipc_pub), "ipc://%s/pub.ipc", dir);
	serve(ipc, ipc_pub);
	/* tcp: nng picks free ports */
	nng_listener  l;
	nng_sockaddr  sa;
	CT_TRUE(nng_listen(rep, "tcp://127.0.0.1:0", &l, 0) == 0);
	CT_TRUE(nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa) == 0);
	snprintf(tcp, sizeof(tcp), "tcp://127.0.0.1:%u", (unsigned)ntohs(sa.s_in.sa_port));
	CT_TRUE(nng_listen(pub, "tcp://127.0.0.1:0", &l, 0) == 0);
	CT_TRUE(nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa) == 0);
	snprintf(tcp_pub, sizeof(tcp_pub), "tcp://127.0.0.1:%u", (unsigned)ntohs(sa.s_in.sa_port));

	requests(ipc);
	requests(tcp);
	watch(ipc, ipc_pub);
	watch(tcp, tcp_pub);

	srv_stop = 1;
	pthread_join(holder, NULL);
	nng_close(rep);
	nng_close(pub);
	for (int i = 0; i < NCTX; i++)
		nng_aio_free(ctxs[i].aio);
	for (int k = 0; k < npublished; k++) {
		free(published[k]->name);
		free(published[k]->value);
		free(published[k]);
	}
	char path[400];
	snprintf(path, sizeof(path), "%s/rep.ipc", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pub.ipc", dir);
	unlink(path);
	rmdir(dir);
	printf("ok\n");
	return 0;
}
