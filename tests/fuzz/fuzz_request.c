/*
 * fuzz_request.c - libFuzzer target: request decode, then every decoded op
 * run against an in-memory store, as the daemon's dispatch would run it.
 *
 * The input is the body of a REQ message: a packed mpstore.Request (the
 * decoder is schema/wire.c's, with its string rules). Each op of the batch,
 * or each op of the txn's success branch (as a txn runs: one revision,
 * nothing waits), goes to mpsd_store_exec with the client_id as session; a
 * parked op waits until the next op has run, then its deadline passes (or
 * its session ends). Small limits make the limit paths reachable.
 *
 * Oracles besides ASan/UBSan and leaks: every result and change encodes
 * and decodes again (wire.c both ways); every change a kind records
 * applies to a replica store (the watchers' and recovery's path: a change
 * the daemon logs must replay), and the data kinds end up the same there;
 * the store's memory count is exact after each op. A violation calls
 * abort(), which libFuzzer reports.
 *
 * docs/fuzzing.md says how to run it longer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "wire.h"

#define MAX_PARKED 64

typedef struct fz fz;

typedef struct call {
	mpsd_arena      arena;
	Mpstore__Result res;
	mpsd_exec       x;
	fz             *f;
	int             done;
} call;

struct fz {
	mpsd_store *st, *replica;
	call       *parked[MAX_PARKED];
	size_t      nparked;
};

static void *pb_alloc(void *d, size_t n) { return mpsd_arena_alloc(d, n); }
static void  pb_free(void *d, void *p) { (void)d; (void)p; }

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_request: %s\n", what);
		abort();
	}
}

/* Encode, decode and re-encode: the codec agrees with itself. */
static void roundtrip_result(const Mpstore__Result *res)
{
	Mpstore__Response  resp = MPSTORE__RESPONSE__INIT;
	Mpstore__Result   *r[1] = {(Mpstore__Result *)res};
	mpw_buf            b1, b2;
	mpsd_arena         a;
	ProtobufCAllocator al = {pb_alloc, pb_free, &a};
	resp.version = 1;
	resp.results = r;
	resp.n_results = 1;
	mpw_init(&b1, NULL, 0);
	mpw_init(&b2, NULL, 0);
	mpsd_arena_init(&a);
	if (mpw_response(&b1, &resp) == 0) {
		Mpstore__Response *back = mpw_response_unpack(&al, mpw_len(&b1), mpw_data(&b1));
		check(back != NULL, "a packed response does not decode");
		check(mpw_response(&b2, back) == 0, "a decoded response does not encode");
		check(mpw_len(&b1) == mpw_len(&b2) &&
		          memcmp(mpw_data(&b1), mpw_data(&b2), mpw_len(&b1)) == 0,
		    "a response reads back differently");
	}
	mpw_fini(&b1);
	mpw_fini(&b2);
	mpsd_arena_fini(&a);
}

/* A recorded change goes through the wire and applies to the replica. */
static void replay_change(fz *f, const Mpstore__Change *ch)
{
	mpw_buf            b;
	mpsd_arena         a;
	ProtobufCAllocator al = {pb_alloc, pb_free, &a};
	char               err[512] = "";
	mpw_init(&b, NULL, 0);
	mpsd_arena_init(&a);
	if (mpw_change(&b, ch) == 0) {
		Mpstore__Change *back = mpw_change_unpack(&al, mpw_len(&b), mpw_data(&b));
		check(back != NULL, "a packed change does not decode");
		int rv = mpsd_store_apply(f->replica, back, err, sizeof(err));
		if (rv != 0) {
			fprintf(stderr, "change type %d to '%s' (revision %llu): %s\n", (int)back->type,
			    back->name, (unsigned long long)back->revision, err);
			check(0, "a change the store recorded does not apply to a replica");
		}
	}
	mpw_fini(&b);
	mpsd_arena_fini(&a);
}

/* The changes an exec just recorded, to the replica in the order made. */
static void replay_new(call *k)
{
	for (size_t i = 0; i < k->x.nchanges; i++)
		replay_change(k->f, k->x.changes[i]);
	k->x.nchanges = 0;
	check(mpsd_store_memory_check(k->f->st) == 0, "the memory count is off");
}

static int resume_cb(void *owner, mpsd_waiter *w, int expired)
{
	call *k = owner;
	mpstore__result__init(&k->res);
	k->x.w = w;
	k->x.expired = expired;
	k->x.res = &k->res;
	int rv = mpsd_store_exec(k->x.st, &k->x);
	replay_new(k);
	if (rv != MPSD_PARK) {
		mpsd_waiter_free(w);
		k->x.w = NULL;
		k->done = 1;
		roundtrip_result(&k->res);
	}
	return rv;
}

static void drop_cb(void *owner)
{
	call *k = owner;
	k->x.w = NULL;
	k->done = 2;
}

/* Replay what woken calls changed; free the finished ones. */
static void settle(fz *f)
{
	size_t j = 0;
	for (size_t i = 0; i < f->nparked; i++) {
		call *k = f->parked[i];
		if (k->done) {
			mpsd_arena_fini(&k->arena);
			free(k);
		} else {
			f->parked[j++] = k;
		}
	}
	f->nparked = j;
}

static void run_op(fz *f, const Mpstore__Op *op, uint64_t sid, int in_txn, uint64_t *txn_rev)
{
	switch (op->code) {
	case MPSTORE__OP_CODE__OP_HELLO:
	case MPSTORE__OP_CODE__OP_PING:
	case MPSTORE__OP_CODE__OP_SNAPSHOT:
	case MPSTORE__OP_CODE__OP_BACKUP:
	case MPSTORE__OP_CODE__OP_REGISTER_SCHEMA:
	case MPSTORE__OP_CODE__OP_GET_SCHEMA:
	case MPSTORE__OP_CODE__OP_CHANGES:
	case MPSTORE__OP_CODE__OP_STATS:
	case MPSTORE__OP_CODE__OP_NONE: return; /* daemon-level (dispatch.c) */
	default: break;
	}
	/* dispatch.c refuses codes the protocol does not define */
	if (protobuf_c_enum_descriptor_get_value(&mpstore__op_code__descriptor, (int)op->code) == NULL)
		return;
	call *k = calloc(1, sizeof(*k));
	check(k != NULL, "out of memory");
	mpsd_arena_init(&k->arena);
	mpstore__result__init(&k->res);
	k->f = f;
	k->x.st = f->st;
	k->x.session_id = sid;
	k->x.op = op;
	k->x.res = &k->res;
	k->x.arena = &k->arena;
	k->x.park_owner = k;
	k->x.in_txn = in_txn;
	k->x.nowait = in_txn;
	k->x.txn_rev = *txn_rev;
	int rv = mpsd_store_exec(f->st, &k->x);
	*txn_rev = k->x.txn_rev;
	check(rv == MPSD_PARK || (rv >= 0 && rv <= MPSTORE__STATUS__ERR_ABORTED), "a bad status");
	check(rv == 0 || rv == MPSD_PARK || (k->res.error != NULL && k->res.error[0] != '\0'),
	    "a failure without a message");
	replay_new(k); /* also what a wait changed before parking */
	check(rv != MPSD_PARK || !in_txn, "an op parked in a txn");
	if (rv == MPSD_PARK && f->nparked < MAX_PARKED) {
		f->parked[f->nparked++] = k;
	} else {
		if (rv == MPSD_PARK) { /* too many: this one gives up */
			mpsd_waiter_free(k->x.w);
			k->x.w = NULL;
		}
		roundtrip_result(&k->res);
		mpsd_arena_fini(&k->arena);
		free(k);
	}
	mpsd_store_run_wakeups(f->st, resume_cb);
	settle(f);
}

static void end_sessions(fz *f)
{
	for (uint64_t sid = 1; sid < 4; sid++) {
		mpsd_arena      a;
		Mpstore__Result r;
		mpsd_exec       x;
		memset(&x, 0, sizeof(x));
		mpsd_arena_init(&a);
		mpstore__result__init(&r);
		x.st = f->st;
		x.arena = &a;
		x.res = &r;
		x.session_id = sid;
		mpsd_store_session_gone(f->st, &x, sid, drop_cb);
		for (size_t i = 0; i < x.nchanges; i++)
			replay_change(f, x.changes[i]);
		mpsd_arena_fini(&a);
		mpsd_store_run_wakeups(f->st, resume_cb);
		settle(f);
	}
	/* waits with no session (client_id 0) and no deadline: the daemon
	 * drops them with their connection */
	for (size_t i = 0; i < f->nparked; i++) {
		call *k = f->parked[i];
		check(k->x.session_id == 0, "a waiter outlived its session");
		mpsd_waiter_free(k->x.w);
		mpsd_arena_fini(&k->arena);
		free(k);
	}
	f->nparked = 0;
}

/* A container's dump as bytes. */
typedef struct dumpbuf {
	mpw_buf b;
} dumpbuf;

static int dump_cb(void *arg, const Mpstore__Change *ch)
{
	Mpstore__Change c = *ch;
	c.revision = 0; /* a replica's revisions may differ (rolled-back txns) */
	c.prev_revision = 0;
	if (c.info != NULL) {
		Mpstore__ContainerInfo i = *c.info;
		i.revision = 0;
		c.info = &i;
		return mpw_change(&((dumpbuf *)arg)->b, &c);
	}
	return mpw_change(&((dumpbuf *)arg)->b, &c);
}

/* The data kinds read the same on the replica: what watchers and recovery
 * rebuild from the change records is what the store holds. (Sync kinds
 * are not compared: applied changes release their holders on purpose.) */
static int same_visit(void *arg, mpsd_container *c)
{
	fz *f = arg;
	switch (c->k->kind) {
	case MPSTORE__KIND__KIND_VALUE:
	case MPSTORE__KIND__KIND_LIST:
	case MPSTORE__KIND__KIND_DICT:
	case MPSTORE__KIND__KIND_QUEUE:
	case MPSTORE__KIND__KIND_ARRAY:
	case MPSTORE__KIND__KIND_NAMESPACE: break;
	default: return 0;
	}
	mpsd_container *r = mpsd_store_find(f->replica, c->name);
	check(r != NULL, "a container is missing on the replica");
	dumpbuf a, b;
	mpw_init(&a.b, NULL, 0);
	mpw_init(&b.b, NULL, 0);
	mpsd_store_dump(f->st, c, 1000, dump_cb, &a);
	mpsd_store_dump(f->replica, r, 1000, dump_cb, &b);
	if (mpw_len(&a.b) != mpw_len(&b.b) || memcmp(mpw_data(&a.b), mpw_data(&b.b), mpw_len(&a.b)) != 0) {
		fprintf(stderr, "container '%s' (%s) differs on the replica\n", c->name, c->k->name);
		check(0, "the replica differs from the store");
	}
	mpw_fini(&a.b);
	mpw_fini(&b.b);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mpsd_arena         a;
	ProtobufCAllocator al = {pb_alloc, pb_free, &a};
	const char        *why = NULL;
	mpsd_arena_init(&a);
	Mpstore__Request *rq = mpw_request_decode(&al, size, data, &why);
	if (rq == NULL) {
		check(why != NULL && why[0] != '\0', "a refusal without a reason");
		mpsd_arena_fini(&a);
		return 0;
	}
	fz          f = {mpsd_store_alloc(), mpsd_store_alloc(), {0}, 0};
	mpsd_limits l = {1u << 22, 64, 4096};
	check(f.st != NULL && f.replica != NULL, "out of memory");
	mpsd_store_set_limits(f.st, &l);
	uint64_t sid = rq->client_id % 4; /* a few sessions that hold and wait; 0 is none */
	uint64_t txn_rev = 0;
	if (rq->txn != NULL && rq->n_ops == 0) {
		for (size_t i = 0; i < rq->txn->n_success && i < 1000; i++)
			run_op(&f, rq->txn->success[i], sid, 1, &txn_rev);
	} else {
		for (size_t i = 0; i < rq->n_ops && i < 1000; i++) {
			run_op(&f, rq->ops[i], (sid + i) % 4, 0, &txn_rev);
			/* now the deadlines of some parked ops pass */
			if (i % 2 == 1) {
				mpsd_store_expire(f.st, mpsd_now_ms() + 60000, resume_cb);
				settle(&f);
			}
		}
	}
	mpsd_store_expire(f.st, INT64_MAX - 1, resume_cb);
	settle(&f);
	end_sessions(&f);
	check(f.nparked == 0, "waiters left after their sessions ended");
	check(mpsd_store_nwaiters(f.st) == 0, "the store counts waiters that are gone");
	check(mpsd_store_memory_check(f.st) == 0, "the memory count is off");
	check(mpsd_store_count(f.st) == mpsd_store_count(f.replica),
	    "the replica has another number of containers");
	mpsd_store_foreach(f.st, same_visit, &f);
	mpsd_store_free(f.st);
	mpsd_store_free(f.replica);
	mpsd_arena_fini(&a);
	return 0;
}
