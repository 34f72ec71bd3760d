/*
 * seedgen.c - writes the seed corpora of the fuzz targets:
 *   fuzz_seedgen DIR   ->  DIR/request/seed-*, DIR/sp/seed-*, DIR/persist/seed-*
 * Requests touch every op of every kind, txns, waits with timeouts, limits
 * and the numbers and strings at the edges; the persistence seeds are
 * made by running such ops on a store and keeping what the daemon would
 * store (its change records as log rows, its dumps as snapshot rows); the
 * SP seeds are handshakes and frames. Run by hand when the protocol grows
 * (docs/fuzzing.md); the outputs are committed in tests/fuzz/corpus/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sp.h"
#include "store.h"
#include "wire.h"

#define OPC(s) MPSTORE__OP_CODE__OP_##s
#define KIND(s) MPSTORE__KIND__KIND_##s
#define T(s) MPSTORE__ELEM_TYPE__TYPE_##s

static const char *outdir;
static int         nfiles;

static void write_file(const char *sub, const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", outdir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", outdir, sub, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
	nfiles++;
}

/* ---- requests ---- */

static Mpstore__Value vals[64];
static size_t         nvals;

static Mpstore__Value *vi(int64_t i)
{
	Mpstore__Value *v = &vals[nvals++ % 64];
	mpstore__value__init(v);
	v->v_case = MPSTORE__VALUE__V_INT_VALUE;
	v->int_value = i;
	return v;
}

static Mpstore__Value *vs(const char *s)
{
	Mpstore__Value *v = &vals[nvals++ % 64];
	mpstore__value__init(v);
	v->v_case = MPSTORE__VALUE__V_STRING_VALUE;
	v->string_value = (char *)s;
	return v;
}

static Mpstore__Value *vd(double d)
{
	Mpstore__Value *v = &vals[nvals++ % 64];
	mpstore__value__init(v);
	v->v_case = MPSTORE__VALUE__V_DOUBLE_VALUE;
	v->double_value = d;
	return v;
}

static Mpstore__Op ops[64];
static size_t      nops;

static Mpstore__Op *op(Mpstore__OpCode code, const char *name)
{
	Mpstore__Op *o = &ops[nops++];
	mpstore__op__init(o);
	o->code = code;
	o->name = (char *)name;
	return o;
}

static Mpstore__Op *create(const char *name, Mpstore__Kind k, Mpstore__ElemType t, int64_t count)
{
	Mpstore__Op *o = op(OPC(CREATE), name);
	o->kind = k;
	o->elem_type = t;
	o->count = count;
	return o;
}

static void emit_request(const char *name, uint64_t client, int txn)
{
	Mpstore__Request rq = MPSTORE__REQUEST__INIT;
	Mpstore__Txn     t = MPSTORE__TXN__INIT;
	Mpstore__Op     *pops[64];
	for (size_t i = 0; i < nops; i++)
		pops[i] = &ops[i];
	rq.version = 1;
	rq.id = 1;
	rq.client_id = client;
	if (txn) {
		t.success = pops;
		t.n_success = nops;
		rq.txn = &t;
	} else {
		rq.ops = pops;
		rq.n_ops = nops;
	}
	mpw_buf b;
	mpw_init(&b, NULL, 0);
	if (mpw_request(&b, &rq) != 0)
		exit(1);
	write_file("request", name, mpw_data(&b), mpw_len(&b));
	mpw_fini(&b);
	nops = 0;
	nvals = 0;
}

static void requests(void)
{
	/* a list: every list op */
	create("l", KIND(LIST), T(INT64), 0);
	op(OPC(LIST_APPEND), "l")->value = vi(1);
	Mpstore__Op *o = op(OPC(LIST_EXTEND), "l");
	static Mpstore__Value *three[3];
	three[0] = vi(2), three[1] = vi(3), three[2] = vi(2);
	o->values = three;
	o->n_values = 3;
	o = op(OPC(LIST_INSERT), "l");
	o->index = -1;
	o->value = vi(9);
	op(OPC(LIST_GET), "l")->index = -2;
	o = op(OPC(LIST_SLICE), "l");
	o->index = 1;
	o->stop = -1;
	o->flags = MPSTORE__OP_FLAG__FLAG_HAS_STOP;
	o = op(OPC(LIST_SET), "l");
	o->index = 0;
	o->value = vi(7);
	o = op(OPC(LIST_POP), "l");
	o->index = 1;
	o->flags = MPSTORE__OP_FLAG__FLAG_HAS_INDEX;
	op(OPC(LIST_REMOVE), "l")->value = vi(2);
	op(OPC(LIST_INDEX), "l")->value = vi(3);
	op(OPC(LIST_LEN), "l");
	op(OPC(DUMP), "l");
	op(OPC(LIST_CLEAR), "l");
	op(OPC(INFO), "l");
	op(OPC(LIST_CONTAINERS), "");
	op(OPC(DELETE), "l");
	emit_request("list", 1, 0);

	/* a dict and a namespace */
	create("d", KIND(DICT), T(ANY), 0);
	o = op(OPC(DICT_SET), "d");
	o->key = vs("a");
	o->value = vd(1.5);
	o = op(OPC(DICT_SETDEFAULT), "d");
	o->key = vs("b");
	o->value = vs("a string long enough to live on the heap");
	o = op(OPC(DICT_UPDATE), "d");
	static Mpstore__Value *uk[2], *uv[2];
	uk[0] = vs("c"), uk[1] = vs("a"), uv[0] = vi(3), uv[1] = vi(4);
	o->keys = uk;
	o->values = uv;
	o->n_keys = o->n_values = 2;
	op(OPC(DICT_GET), "d")->key = vs("a");
	op(OPC(DICT_CONTAINS), "d")->key = vs("z");
	o = op(OPC(DICT_KEYS), "d");
	o->index = 1;
	o->count = 1;
	op(OPC(DICT_ITEMS), "d");
	op(OPC(DICT_VALUES), "d");
	op(OPC(DICT_POP), "d")->key = vs("b");
	op(OPC(DICT_DEL), "d")->key = vs("c");
	op(OPC(DICT_LEN), "d");
	create("ns", KIND(NAMESPACE), T(ANY), 0);
	o = op(OPC(DICT_SET), "ns");
	o->key = vs("attr");
	o->value = vi(1);
	op(OPC(DICT_GET), "ns")->key = vs("missing");
	create("di", KIND(DICT), T(STRING), 0)->key_type = MPSTORE__KEY_TYPE__KEY_INT64;
	o = op(OPC(DICT_SET), "di");
	o->key = vi(-5);
	o->value = vs("x");
	op(OPC(DICT_CLEAR), "d");
	emit_request("dict", 2, 0);

	/* a queue: puts, gets that wait, task_done, join */
	create("q", KIND(QUEUE), T(STRING), 2);
	op(OPC(QUEUE_GET), "q")->timeout_ms = 50;
	op(OPC(QUEUE_PUT), "q")->value = vs("one");
	op(OPC(QUEUE_PUT), "q")->value = vs("two");
	o = op(OPC(QUEUE_PUT), "q");
	o->value = vs("three");
	o->timeout_ms = -1;
	op(OPC(QUEUE_GET), "q");
	op(OPC(QUEUE_TASK_DONE), "q");
	op(OPC(QUEUE_SIZE), "q");
	op(OPC(QUEUE_EMPTY), "q");
	op(OPC(QUEUE_FULL), "q");
	op(OPC(QUEUE_JOIN), "q")->timeout_ms = 10;
	emit_request("queue", 3, 0);

	/* values and counters */
	create("v", KIND(VALUE), T(INT64), 5);
	op(OPC(VALUE_ADD), "v")->value = vi(INT64_MAX);
	op(OPC(VALUE_ADD), "v")->value = vi(-7);
	o = op(OPC(VALUE_CAS), "v");
	o->expected = vi(-2);
	o->value = vi(10);
	op(OPC(VALUE_GET), "v");
	create("a", KIND(VALUE), T(ANY), 0)->value = vs("initial");
	op(OPC(VALUE_SET), "a")->value = vd(2.5);
	op(OPC(VALUE_ADD), "a")->value = vd(1e308);
	emit_request("value", 0, 0);

	/* sync kinds, held and waited on by one session */
	create("lk", KIND(LOCK), T(ANY), 0);
	create("rl", KIND(RLOCK), T(ANY), 0);
	create("sm", KIND(BOUNDED_SEMAPHORE), T(ANY), 2);
	create("ev", KIND(EVENT), T(ANY), 0);
	create("cv", KIND(CONDITION), T(ANY), 0);
	create("br", KIND(BARRIER), T(ANY), 2);
	op(OPC(LOCK_ACQUIRE), "lk");
	op(OPC(LOCK_ACQUIRE), "rl");
	op(OPC(LOCK_ACQUIRE), "rl");
	op(OPC(SEM_ACQUIRE), "sm");
	op(OPC(SEM_RELEASE), "sm")->count = 2;
	op(OPC(EVENT_WAIT), "ev")->timeout_ms = 5;
	op(OPC(EVENT_SET), "ev");
	op(OPC(LOCK_ACQUIRE), "cv");
	op(OPC(COND_NOTIFY), "cv")->count = 3;
	op(OPC(COND_WAIT), "cv")->timeout_ms = 20;
	op(OPC(BARRIER_WAIT), "br")->timeout_ms = 30;
	op(OPC(BARRIER_INFO), "br");
	op(OPC(BARRIER_ABORT), "br");
	op(OPC(BARRIER_RESET), "br");
	op(OPC(LOCK_LOCKED), "lk");
	op(OPC(LOCK_RELEASE), "rl");
	op(OPC(SEM_VALUE), "sm");
	emit_request("sync", 5, 0);

	/* an array */
	create("ar", KIND(ARRAY), T(DOUBLE), 8);
	o = op(OPC(LIST_SET), "ar");
	o->index = 2;
	static Mpstore__Value *run[2];
	run[0] = vd(1), run[1] = vd(2);
	o->values = run;
	o->n_values = 2;
	op(OPC(LIST_GET), "ar")->index = -1;
	op(OPC(LIST_SLICE), "ar")->index = -3;
	emit_request("array", 6, 0);

	/* a txn */
	create("t", KIND(LIST), T(STRING), 0);
	op(OPC(LIST_APPEND), "t")->value = vs("in a txn");
	op(OPC(QUEUE_GET), "t");
	emit_request("txn", 7, 1);

	/* numbers at the edges */
	create("e", KIND(LIST), T(INT64), 0);
	o = op(OPC(LIST_INSERT), "e");
	o->index = INT64_MIN;
	o->value = vi(1);
	o = op(OPC(LIST_SLICE), "e");
	o->index = INT64_MAX;
	o->stop = INT64_MIN;
	o->flags = MPSTORE__OP_FLAG__FLAG_HAS_STOP;
	create("eq", KIND(QUEUE), T(INT64), 0);
	op(OPC(QUEUE_GET), "eq")->timeout_ms = INT64_MAX;
	create("es", KIND(SEMAPHORE), T(ANY), INT64_MAX);
	op(OPC(SEM_RELEASE), "es")->count = INT64_MAX;
	create("ea", KIND(ARRAY), T(BOOL), 16 << 20);
	o = op(OPC(DICT_KEYS), "e");
	o->index = INT64_MAX;
	o->count = -1;
	emit_request("numbers", 9, 0);

	/* strings: valid multi-byte, then a name that is not UTF-8 */
	create("caf\xc3\xa9 \xf0\x9f\x98\x80", KIND(LIST), T(STRING), 0);
	op(OPC(LIST_APPEND), "caf\xc3\xa9 \xf0\x9f\x98\x80")->value = vs("\xe6\x97\xa5\xe6\x9c\xac");
	emit_request("utf8", 1, 0);
	create("bad\xed\xa0\x80", KIND(LIST), T(STRING), 0);
	emit_request("surrogate", 1, 0);
}

/* ---- persistence ---- */

typedef struct out {
	uint8_t *b;
	size_t   n, cap;
} out;

static void put(out *o, const void *p, size_t n)
{
	if (o->n + n > o->cap) {
		o->cap = (o->n + n) * 2 + 256;
		o->b = realloc(o->b, o->cap);
	}
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void put_varint(out *o, uint64_t v)
{
	uint8_t b[10];
	size_t  n = 0;
	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	put(o, b, n);
}

/* A row: tag, length, bytes. */
static void put_row(out *o, uint8_t tag, const out *row)
{
	put(o, &tag, 1);
	put_varint(o, row->n);
	put(o, row->b, row->n);
}

static void pack_change(const Mpstore__Change *ch, out *o)
{
	mpw_buf w;
	mpw_init(&w, NULL, 0);
	mpw_change(&w, ch);
	put(o, mpw_data(&w), mpw_len(&w));
	mpw_fini(&w);
}

/* One log record (docs/persistence.md). */
static void put_rec(out *o, const Mpstore__Change *ch)
{
	out d = {0};
	pack_change(ch, &d);
	put_varint(o, ch->revision);
	put_varint(o, (uint64_t)ch->kind);
	put_varint(o, strlen(ch->name));
	put(o, ch->name, strlen(ch->name));
	put_varint(o, d.n);
	put(o, d.b, d.n);
	free(d.b);
}

typedef struct snap {
	out *o;
} snap;

static int snap_emit(void *arg, const Mpstore__Change *ch)
{
	snap *s = arg;
	out   row = {0}, d = {0};
	pack_change(ch, &d);
	uint8_t nl = (uint8_t)strlen(ch->name);
	put(&row, &nl, 1);
	put(&row, ch->name, nl);
	put(&row, d.b, d.n);
	put_row(s->o, 0, &row);
	free(row.b);
	free(d.b);
	return 0;
}

static int snap_visit(void *arg, mpsd_container *c)
{
	return mpsd_store_dump(NULL, c, 2, snap_emit, arg);
}

static void *pb_alloc(void *d, size_t n) { return mpsd_arena_alloc(d, n); }
static void  pb_free(void *d, void *p) { (void)d; (void)p; }

/* Run a request's ops on st, the changes into one log row each. */
static void run_logged(mpsd_store *st, const char *seedname, out *logrows)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/request/seed-%s", outdir, seedname);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		exit(1);
	uint8_t buf[8192];
	size_t  n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	mpsd_arena         a;
	ProtobufCAllocator al = {pb_alloc, pb_free, &a};
	mpsd_arena_init(&a);
	Mpstore__Request *rq = mpw_request_unpack(&al, n, buf);
	for (size_t i = 0; rq != NULL && i < rq->n_ops; i++) {
		Mpstore__Result res = MPSTORE__RESULT__INIT;
		mpsd_exec       x;
		memset(&x, 0, sizeof(x));
		x.st = st;
		x.session_id = rq->client_id;
		x.op = rq->ops[i];
		x.res = &res;
		x.arena = &a;
		x.nowait = 1;
		mpsd_store_exec(st, &x);
		if (x.nchanges == 0)
			continue;
		out row = {0};
		for (size_t k = 0; k < x.nchanges; k++)
			put_rec(&row, x.changes[k]);
		put_row(logrows, 1, &row);
		free(row.b);
	}
	mpsd_arena_fini(&a);
}

static void persist(void)
{
	static const char *const reqs[] = {"list", "dict", "queue", "value", "sync", "array"};
	mpsd_store *st = mpsd_store_alloc();
	out         logrows = {0}, snaprows = {0}, f = {0};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		run_logged(st, reqs[i], &logrows);
		/* a log of its own, replayed from nothing */
		out one = {0};
		uint8_t mode = 0;
		put(&one, &mode, 1);
		put_varint(&one, 0); /* snapshot revision */
		put_varint(&one, 0); /* token */
		put(&one, logrows.b, logrows.n);
		write_file("persist", reqs[i], one.b, one.n);
		free(one.b);
	}
	/* the whole store as a snapshot, then more changes in the log */
	snap s = {&snaprows};
	mpsd_store_foreach(st, snap_visit, &s);
	uint64_t rev = mpsd_store_revision(st);
	out      later = {0};
	run_logged(st, "list", &later);
	uint8_t mode = 0;
	put(&f, &mode, 1);
	put_varint(&f, rev);
	put_varint(&f, mpsd_store_token(st));
	put(&f, snaprows.b, snaprows.n);
	put(&f, later.b, later.n);
	write_file("persist", "snapshot-and-log", f.b, f.n);
	/* the same with raw meta values and log headers */
	f.n = 0;
	mode = 3;
	put(&f, &mode, 1);
	/* format: MPSP_FORMAT_VERSION (persist.h) */
	int64_t meta[7] = {2, (int64_t)mpsd_store_token(st), (int64_t)rev, 0, 1, 0, (int64_t)rev};
	for (size_t i = 0; i < snaprows.n;) { /* count the snapshot rows */
		size_t len = 0, shift = 0, k = i + 1;
		while (snaprows.b[k] & 0x80)
			len |= (size_t)(snaprows.b[k++] & 0x7f) << shift, shift += 7;
		len |= (size_t)snaprows.b[k++] << shift;
		i = k + len;
		meta[5]++;
	}
	for (int i = 0; i < 7; i++)
		put_varint(&f, (uint64_t)(meta[i] << 1) ^ (uint64_t)(meta[i] >> 63));
	put(&f, snaprows.b, snaprows.n);
	write_file("persist", "raw-meta", f.b, f.n);
	/* log rows with answers (mode bit 2): two clients, and a later answer
	 * in a slot taken before (id + 1024) */
	f.n = 0;
	mode = 4;
	put(&f, &mode, 1);
	put_varint(&f, 0);
	put_varint(&f, 0);
	for (size_t i = 0, k = 0; i < logrows.n; k++) {
		size_t len = 0, shift = 0, j = i + 1;
		while (logrows.b[j] & 0x80)
			len |= (size_t)(logrows.b[j++] & 0x7f) << shift, shift += 7;
		len |= (size_t)logrows.b[j++] << shift;
		out row = {0};
		put_varint(&row, len);
		put(&row, logrows.b + j, len);
		for (uint64_t c = 1; c <= 2; c++) {
			char ans[32];
			int  n = snprintf(ans, sizeof(ans), "answer %zu of %llu", k, (unsigned long long)c);
			put_varint(&row, 0x5eed0000u + c);
			put_varint(&row, k % 3 == 2 ? k + 1024 : k + 1);
			put_varint(&row, (uint64_t)n);
			put(&row, ans, (size_t)n);
		}
		put_row(&f, 1, &row);
		free(row.b);
		i = j + len;
	}
	write_file("persist", "answers", f.b, f.n);
	free(f.b);
	free(later.b);
	free(logrows.b);
	free(snaprows.b);
	mpsd_store_free(st);
}

/* ---- SP framing ---- */

static void sp(void)
{
	static const uint8_t cuts[8] = {1, 2, 3, 5, 8, 13, 21, 34};
	for (int ipc = 0; ipc < 2; ipc++) {
		out o = {0};
		uint8_t mode = (uint8_t)(ipc | 8); /* 1 MiB limit */
		put(&o, &mode, 1);
		put(&o, cuts, 8);
		uint8_t hs[8], hdr[MPS_SP_HDR_MAX];
		mps_sp_handshake(hs, MPS_SP_REQ0);
		put(&o, hs, 8);
		for (int m = 0; m < 3; m++) {
			uint8_t body[32] = {0, 0, 0, 1, 0x80, 0, 0, (uint8_t)(m + 1), 0x08, 0x01};
			size_t  blen = m == 0 ? 10 : m == 1 ? 4 : 32;
			if (m == 1)
				body[0] = 0x80; /* the request id right away */
			put(&o, hdr, mps_sp_hdr(hdr, ipc, blen));
			put(&o, body, blen);
		}
		write_file("sp", ipc ? "ipc" : "tcp", o.b, o.n);
		free(o.b);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seedgen DIR (tests/fuzz/corpus)\n");
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);
	requests();
	persist();
	sp();
	printf("%d seed files written under %s\n", nfiles, outdir);
	return 0;
}
