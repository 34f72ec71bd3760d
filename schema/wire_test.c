/*
 * wire_test.c - the hand-written codec against protobuf-c, on random
 * messages of every shape: the encoders must produce protobuf-c's bytes,
 * the decoders must read them back to the same message, and broken bytes
 * (truncated, flipped) must be refused or read as protobuf-c reads them,
 * never crash. MPSTORE_WIRE_ITERS raises the number of random messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

/* ---- a tiny arena so that generated and decoded messages free at once ---- */

typedef struct blk {
	struct blk *next;
	max_align_t data[];
} blk;

typedef struct arena {
	blk *head;
} arena;

static void *a_alloc(void *d, size_t n)
{
	arena *a = d;
	blk   *b = malloc(sizeof(blk) + n);
	if (b == NULL)
		return NULL;
	b->next = a->head;
	a->head = b;
	return b->data;
}

static void a_free(void *d, void *p)
{
	(void)d;
	(void)p;
}

static void a_fini(arena *a)
{
	while (a->head != NULL) {
		blk *n = a->head->next;
		free(a->head);
		a->head = n;
	}
}

/* ---- random messages ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int chance(int pct) { return (int)(rnd() % 100) < pct; }

/* interesting integers: zero, small, big, negative */
static uint64_t rint64(void)
{
	switch (rnd() % 6) {
	case 0: return 0;
	case 1: return rnd() % 128;
	case 2: return rnd() % 100000;
	case 3: return (uint64_t)-(int64_t)(rnd() % 1000 + 1);
	case 4: return UINT64_MAX;
	default: return rnd();
	}
}

static char *rstr(arena *a)
{
	static const char *pool[] = {"", "a", "bench:counter", "key:123", "héllo wörld",
	    "a rather longer string that needs a two-byte length prefix once it passes "
	    "one hundred and twenty seven bytes, which this one does, easily, honestly"};
	const char *s = pool[rnd() % (sizeof(pool) / sizeof(pool[0]))];
	char       *c = a_alloc(a, strlen(s) + 1);
	strcpy(c, s);
	return c;
}

static ProtobufCBinaryData rbytes(arena *a)
{
	ProtobufCBinaryData d = {0, NULL};
	d.len = rnd() % 4 == 0 ? 0 : rnd() % 300;
	if (d.len > 0) {
		d.data = a_alloc(a, d.len);
		for (size_t i = 0; i < d.len; i++)
			d.data[i] = (uint8_t)rnd();
	}
	return d;
}

static Mpstore__Value *rvalue(arena *a)
{
	Mpstore__Value *v = a_alloc(a, sizeof(*v));
	mpstore__value__init(v);
	switch (rnd() % 7) {
	case 0: break; /* unset */
	case 1:
		v->v_case = MPSTORE__VALUE__V_INT_VALUE;
		v->int_value = (int64_t)rint64();
		break;
	case 2: {
		static const double d[] = {0.0, -0.0, 1.5, -2.25e300, 3.14159};
		v->v_case = MPSTORE__VALUE__V_DOUBLE_VALUE;
		v->double_value = d[rnd() % 5];
		break;
	}
	case 3:
		v->v_case = MPSTORE__VALUE__V_BOOL_VALUE;
		v->bool_value = (protobuf_c_boolean)(rnd() % 2);
		break;
	case 4:
		v->v_case = MPSTORE__VALUE__V_STRING_VALUE;
		v->string_value = rstr(a);
		break;
	case 5:
		v->v_case = MPSTORE__VALUE__V_BYTES_VALUE;
		v->bytes_value = rbytes(a);
		break;
	default:
		v->v_case = MPSTORE__VALUE__V_MESSAGE_VALUE;
		v->message_value = rbytes(a);
		break;
	}
	return v;
}

static Mpstore__Value *maybe_value(arena *a) { return chance(50) ? rvalue(a) : NULL; }

static Mpstore__Value **rvalues(arena *a, size_t *n)
{
	*n = chance(50) ? 0 : rnd() % 5;
	Mpstore__Value **v = *n ? a_alloc(a, *n * sizeof(*v)) : NULL;
	for (size_t i = 0; i < *n; i++)
		v[i] = rvalue(a);
	return v;
}

static int renum(void) { return chance(30) ? 0 : (int)(rnd() % 40); }

static Mpstore__Op *rop(arena *a)
{
	Mpstore__Op *o = a_alloc(a, sizeof(*o));
	mpstore__op__init(o);
	o->code = (Mpstore__OpCode)renum();
	if (chance(80))
		o->name = rstr(a);
	o->value = maybe_value(a);
	o->key = maybe_value(a);
	o->index = (int64_t)(chance(50) ? 0 : rint64());
	o->stop = (int64_t)(chance(70) ? 0 : rint64());
	o->values = rvalues(a, &o->n_values);
	o->keys = rvalues(a, &o->n_keys);
	o->expected = chance(20) ? rvalue(a) : NULL;
	o->timeout_ms = (int64_t)(chance(70) ? 0 : rint64());
	o->count = (int64_t)(chance(70) ? 0 : rint64());
	o->kind = (Mpstore__Kind)renum();
	o->elem_type = (Mpstore__ElemType)renum();
	o->key_type = (Mpstore__KeyType)renum();
	if (chance(20))
		o->message_type = rstr(a);
	o->from_revision = chance(70) ? 0 : rint64();
	if (chance(20))
		o->data = rbytes(a);
	o->flags = (uint32_t)(chance(70) ? 0 : rnd());
	return o;
}

static Mpstore__Op **rops(arena *a, size_t *n, size_t max)
{
	*n = rnd() % (max + 1);
	Mpstore__Op **v = *n ? a_alloc(a, *n * sizeof(*v)) : NULL;
	for (size_t i = 0; i < *n; i++)
		v[i] = rop(a);
	return v;
}

static Mpstore__Request *rrequest(arena *a)
{
	Mpstore__Request *m = a_alloc(a, sizeof(*m));
	mpstore__request__init(m);
	m->version = (uint32_t)(chance(80) ? 1 : rnd());
	m->id = rint64();
	m->client_id = rint64();
	if (chance(30)) {
		Mpstore__Txn *t = a_alloc(a, sizeof(*t));
		mpstore__txn__init(t);
		t->n_compare = rnd() % 3;
		t->compare = t->n_compare ? a_alloc(a, t->n_compare * sizeof(*t->compare)) : NULL;
		for (size_t i = 0; i < t->n_compare; i++) {
			Mpstore__Compare *c = a_alloc(a, sizeof(*c));
			mpstore__compare__init(c);
			c->name = rstr(a);
			c->target = (Mpstore__CompareTarget)(rnd() % 5);
			c->op = (Mpstore__CompareOp)(rnd() % 6);
			c->key = maybe_value(a);
			c->value = maybe_value(a);
			t->compare[i] = c;
		}
		t->success = rops(a, &t->n_success, 3);
		t->failure = rops(a, &t->n_failure, 2);
		m->txn = t;
	} else {
		m->ops = rops(a, &m->n_ops, 20);
	}
	if (chance(20))
		m->auth = rbytes(a);
	return m;
}

static Mpstore__ContainerInfo *rinfo(arena *a)
{
	Mpstore__ContainerInfo *c = a_alloc(a, sizeof(*c));
	mpstore__container_info__init(c);
	c->name = rstr(a);
	c->kind = (Mpstore__Kind)renum();
	c->elem_type = (Mpstore__ElemType)renum();
	c->key_type = (Mpstore__KeyType)renum();
	if (chance(30))
		c->message_type = rstr(a);
	c->length = (int64_t)rint64();
	c->revision = rint64();
	c->capacity = (int64_t)rint64();
	c->memory = (int64_t)(chance(50) ? 0 : rint64());
	return c;
}

static Mpstore__Party *rparty(arena *a)
{
	Mpstore__Party *p = a_alloc(a, sizeof(*p));
	mpstore__party__init(p);
	p->conn = (uint32_t)rint64();
	p->client_id = rint64();
	if (chance(70))
		p->name = rstr(a);
	p->pid = (int64_t)rint64();
	p->peer_pid = (int64_t)(chance(50) ? 0 : rint64());
	if (chance(50))
		p->addr = rstr(a);
	p->age_ms = (int64_t)rint64();
	p->idle_ms = (int64_t)(chance(50) ? 0 : rint64());
	p->requests = chance(50) ? 0 : rint64();
	p->parked = (int64_t)(chance(50) ? 0 : rint64());
	p->token = chance(50) ? 0 : rint64();
	p->count = (int64_t)(chance(50) ? 0 : rint64());
	p->timeout_ms = (int64_t)(chance(50) ? 0 : rint64());
	p->remaining_ms = (int64_t)(chance(50) ? 0 : rint64());
	p->op = (Mpstore__OpCode)renum();
	if (chance(30))
		p->container = rstr(a);
	p->kind = (Mpstore__Kind)renum();
	return p;
}

static Mpstore__Party **rparties(arena *a, size_t *n)
{
	*n = chance(80) ? 0 : rnd() % 4;
	Mpstore__Party **v = *n ? a_alloc(a, *n * sizeof(*v)) : NULL;
	for (size_t k = 0; k < *n; k++)
		v[k] = rparty(a);
	return v;
}

static Mpstore__Change *rchange(arena *a)
{
	Mpstore__Change *c = a_alloc(a, sizeof(*c));
	mpstore__change__init(c);
	c->revision = rint64();
	c->name = rstr(a);
	c->kind = (Mpstore__Kind)renum();
	c->type = (Mpstore__ChangeType)renum();
	c->index = (int64_t)rint64();
	c->count = (int64_t)rint64();
	c->value = maybe_value(a);
	c->keys = rvalues(a, &c->n_keys);
	c->values = rvalues(a, &c->n_values);
	c->info = chance(20) ? rinfo(a) : NULL;
	c->prev_revision = rint64();
	return c;
}

static Mpstore__Response *rresponse(arena *a)
{
	Mpstore__Response *m = a_alloc(a, sizeof(*m));
	mpstore__response__init(m);
	m->version = 1;
	m->id = rint64();
	m->status = (Mpstore__Status)renum();
	if (chance(20))
		m->error = rstr(a);
	m->revision = rint64();
	m->succeeded = (protobuf_c_boolean)(rnd() % 2);
	m->n_results = rnd() % 17;
	m->results = m->n_results ? a_alloc(a, m->n_results * sizeof(*m->results)) : NULL;
	for (size_t i = 0; i < m->n_results; i++) {
		Mpstore__Result *r = a_alloc(a, sizeof(*r));
		mpstore__result__init(r);
		r->status = (Mpstore__Status)renum();
		if (chance(20))
			r->error = rstr(a);
		r->value = maybe_value(a);
		r->values = rvalues(a, &r->n_values);
		r->keys = rvalues(a, &r->n_keys);
		r->count = (int64_t)(chance(50) ? 0 : rint64());
		r->flag = (protobuf_c_boolean)(rnd() % 2);
		r->revision = rint64();
		r->token = chance(70) ? 0 : rint64();
		r->next = (int64_t)(chance(70) ? 0 : rint64());
		if (chance(15)) {
			r->n_containers = rnd() % 3;
			r->containers = r->n_containers ? a_alloc(a, r->n_containers * sizeof(void *)) : NULL;
			for (size_t k = 0; k < r->n_containers; k++)
				r->containers[k] = rinfo(a);
		}
		if (chance(15)) {
			r->n_changes = rnd() % 3;
			r->changes = r->n_changes ? a_alloc(a, r->n_changes * sizeof(void *)) : NULL;
			for (size_t k = 0; k < r->n_changes; k++)
				r->changes[k] = rchange(a);
		}
		r->info = chance(15) ? rinfo(a) : NULL;
		r->holders = rparties(a, &r->n_holders);
		r->waiters = rparties(a, &r->n_waiters);
		r->clients = rparties(a, &r->n_clients);
		m->results[i] = r;
	}
	return m;
}

/* ---- the three message types behind one interface ---- */

typedef struct mtype {
	const char *name;
	void *(*gen)(arena *);
	int (*enc)(mpw_buf *, const void *);
	void *(*dec)(ProtobufCAllocator *, size_t, const uint8_t *);
	const ProtobufCMessageDescriptor *desc;
} mtype;

static void *gen_req(arena *a) { return rrequest(a); }
static void *gen_resp(arena *a) { return rresponse(a); }
static void *gen_chg(arena *a) { return rchange(a); }
static int   enc_req(mpw_buf *b, const void *m) { return mpw_request(b, m); }
static int   enc_resp(mpw_buf *b, const void *m) { return mpw_response(b, m); }
static int   enc_chg(mpw_buf *b, const void *m) { return mpw_change(b, m); }
static void *dec_req(ProtobufCAllocator *al, size_t n, const uint8_t *d) { return mpw_request_unpack(al, n, d); }
static void *dec_resp(ProtobufCAllocator *al, size_t n, const uint8_t *d) { return mpw_response_unpack(al, n, d); }
static void *dec_chg(ProtobufCAllocator *al, size_t n, const uint8_t *d) { return mpw_change_unpack(al, n, d); }

static const mtype types[] = {
    {"Request", gen_req, enc_req, dec_req, &mpstore__request__descriptor},
    {"Response", gen_resp, enc_resp, dec_resp, &mpstore__response__descriptor},
    {"Change", gen_chg, enc_chg, dec_chg, &mpstore__change__descriptor},
};

/* protobuf-c's bytes of m */
static uint8_t *pbc_pack(const void *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(*len + 1);
	assert_non_null(p);
	assert_int_equal(protobuf_c_message_pack(m, p), *len);
	return p;
}

/* our bytes of m, in a small stack buffer so that growing is exercised */
static uint8_t *mpw_pack(const mtype *t, const void *m, size_t *len)
{
	uint8_t mem[64];
	mpw_buf b;
	mpw_init(&b, mem, sizeof(mem));
	assert_int_equal(t->enc(&b, m), 0);
	*len = mpw_len(&b);
	uint8_t *p = malloc(*len + 1);
	assert_non_null(p);
	memcpy(p, mpw_data(&b), *len);
	mpw_fini(&b);
	return p;
}

static int iters(int dflt)
{
	const char *e = getenv("MPSTORE_WIRE_ITERS");
	return e != NULL && atoi(e) > 0 ? atoi(e) : dflt;
}

/* Encoders: protobuf-c's bytes; decoders: the same message back. */
static void test_roundtrip(void **state)
{
	(void)state;
	for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
		const mtype *t = &types[ti];
		for (int i = 0; i < iters(2000); i++) {
			arena              a = {NULL};
			ProtobufCAllocator al = {a_alloc, a_free, &a};
			void              *m = t->gen(&a);
			size_t             n1, n2, n3;
			uint8_t           *ours = mpw_pack(t, m, &n1);
			uint8_t           *theirs = pbc_pack(m, &n2);
			if (n1 != n2 || memcmp(ours, theirs, n1) != 0)
				fail_msg("%s %d: encodings differ (%zu vs %zu bytes)", t->name, i, n1, n2);
			void *back = t->dec(&al, n1, ours);
			assert_non_null(back);
			uint8_t *again = pbc_pack(back, &n3);
			if (n3 != n1 || memcmp(again, ours, n1) != 0)
				fail_msg("%s %d: decoded message differs", t->name, i);
			free(ours);
			free(theirs);
			free(again);
			a_fini(&a);
		}
	}
}

/* Does the message in [p, p+n) hold a singular message field twice,
 * at any depth? protobuf-c merges the copies, wire_dec.c keeps the last. */
static int dup_submessage(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
	unsigned       seen[64] = {0};
	const uint8_t *end = p + n;
	while (p < end) {
		uint64_t tag = 0, len = 0;
		int      sh = 0;
		do
			tag |= (uint64_t)(*p & 0x7f) << sh, sh += 7;
		while (*p++ & 0x80 && p < end);
		int wt = (int)(tag & 7);
		if (wt == 0) {
			while (p < end && (*p++ & 0x80))
				;
			continue;
		}
		if (wt == 1 || wt == 5) {
			p += wt == 1 ? 8 : 4;
			continue;
		}
		sh = 0;
		do
			len |= (uint64_t)(*p & 0x7f) << sh, sh += 7;
		while (*p++ & 0x80 && p < end);
		const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
		if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (f->label != PROTOBUF_C_LABEL_REPEATED && f->id < 64 && seen[f->id]++ > 0)
				return 1;
			if (dup_submessage(f->descriptor, p, (size_t)len))
				return 1;
		}
		p += len;
	}
	return 0;
}

/* Broken bytes: never a crash (ASan watches); whatever both decoders
 * accept reads the same (but for duplicated submessages, see wire.h).
 * Returns how many both accepted. */
static int check_broken(const mtype *t, const uint8_t *p, size_t n, int *ours_only, int *theirs_only)
{
	arena              a = {NULL};
	ProtobufCAllocator al = {a_alloc, a_free, &a};
	uint8_t           *copy = malloc(n ? n : 1); /* exact size: overreads are caught */
	assert_non_null(copy);
	memcpy(copy, p, n);
	void             *ours = t->dec(&al, n, copy);
	ProtobufCMessage *theirs = protobuf_c_message_unpack(t->desc, &al, n, copy);
	int               both = 0;
	if (ours != NULL && theirs != NULL) {
		size_t   n1, n2;
		uint8_t *e1 = mpw_pack(t, ours, &n1);
		uint8_t *e2 = mpw_pack(t, theirs, &n2);
		if ((n1 != n2 || memcmp(e1, e2, n1) != 0) && !dup_submessage(t->desc, copy, n))
			fail_msg("%s: a broken message was read differently", t->name);
		free(e1);
		free(e2);
		both = 1;
	} else if (ours != NULL && !dup_submessage(t->desc, copy, n)) {
		/* (protobuf-c 1.4 refuses a duplicated empty oneof message, such
		 * as Op.key sent twice as 22 00 22 00; we keep the last copy) */
		(*ours_only)++;
	} else if (theirs != NULL) {
		/* requests only: protobuf-c does not check strings, we refuse
		 * invalid UTF-8 and NUL (proto3 string semantics, wire.h) */
		const char *why = NULL;
		if (t->desc != &mpstore__request__descriptor ||
		    mpw_request_decode(&al, n, copy, &why) != NULL || strstr(why, "string field") == NULL)
			(*theirs_only)++;
	}
	free(copy);
	a_fini(&a);
	return both;
}

static void test_broken(void **state)
{
	(void)state;
	for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
		const mtype *t = &types[ti];
		int          both = 0, ours_only = 0, theirs_only = 0, total = 0;
		for (int i = 0; i < iters(2000) / 4; i++) {
			arena    a = {NULL};
			void    *m = t->gen(&a);
			size_t   n;
			uint8_t *p = mpw_pack(t, m, &n);
			/* every truncation */
			for (size_t k = 0; k < n; k++, total++)
				both += check_broken(t, p, k, &ours_only, &theirs_only);
			/* random flips */
			for (int k = 0; k < 20 && n > 0; k++, total++) {
				size_t  at = rnd() % n;
				uint8_t save = p[at];
				p[at] ^= (uint8_t)(1u << (rnd() % 8));
				both += check_broken(t, p, n, &ours_only, &theirs_only);
				p[at] = save;
			}
			free(p);
			a_fini(&a);
		}
		print_message("%s: %d broken inputs, %d read by both, %d only by ours, %d only by "
		              "protobuf-c\n",
		    t->name, total, both, ours_only, theirs_only);
		/* the two disagree on nothing that a flip or a cut produces */
		assert_int_equal(ours_only, 0);
		assert_int_equal(theirs_only, 0);
	}
}

/* UTF-8 as RFC 3629: shortest forms, no surrogates, nothing above U+10FFFF. */
static void test_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		size_t      n;
		int         ok;
	} cases[] = {
	    {"", 0, 1},
	    {"plain ascii, longer than eight bytes", 36, 1},
	    {"caf\xc3\xa9", 5, 1},
	    {"\xe6\x97\xa5\xe6\x9c\xac", 6, 1},        /* 日本 */
	    {"\xf0\x9f\x98\x80", 4, 1},                /* U+1F600 */
	    {"\xf4\x8f\xbf\xbf", 4, 1},                /* U+10FFFF */
	    {"\xed\x9f\xbf", 3, 1},                    /* U+D7FF */
	    {"\xee\x80\x80", 3, 1},                    /* U+E000 */
	    {"a\0b", 3, 1},                            /* NUL is UTF-8; wire.c refuses it apart */
	    {"\xff", 1, 0},
	    {"\xfe\xfe\xff\xff", 4, 0},
	    {"\x80", 1, 0},                            /* a lone continuation byte */
	    {"abcdefgh\xbf", 9, 0},
	    {"\xc3", 1, 0},                            /* truncated */
	    {"\xe6\x97", 2, 0},
	    {"\xf0\x9f\x98", 3, 0},
	    {"\xc3\x28", 2, 0},                        /* a bad continuation */
	    {"\xe6\x28\xa5", 3, 0},
	    {"\xf0\x9f\x28\x80", 4, 0},
	    {"\xc0\xaf", 2, 0},                        /* overlong '/' */
	    {"\xc1\xbf", 2, 0},
	    {"\xe0\x80\xaf", 3, 0},
	    {"\xe0\x9f\xbf", 3, 0},
	    {"\xf0\x80\x80\xaf", 4, 0},
	    {"\xf0\x8f\xbf\xbf", 4, 0},
	    {"\xed\xa0\x80", 3, 0},                    /* U+D800, a surrogate */
	    {"\xed\xbf\xbf", 3, 0},                    /* U+DFFF */
	    {"\xf4\x90\x80\x80", 4, 0},                /* U+110000 */
	    {"\xf5\x80\x80\x80", 4, 0},
	    {"\xf8\x88\x80\x80\x80", 5, 0},            /* 5-byte forms are gone */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (mpw_utf8_valid((const uint8_t *)cases[i].s, cases[i].n) != cases[i].ok)
			fail_msg("case %zu: mpw_utf8_valid says %d, want %d", i, !cases[i].ok, cases[i].ok);
}

/* A request with a bad string in any of its string fields does not decode,
 * and says why; the same request with a good string does. */
static void test_request_strings(void **state)
{
	(void)state;
	static const char *const bad[] = {"a\x01" "b", "\xff", "\xc0\xaf", "\xed\xa0\x80",
	    "\xf4\x90\x80\x80", "ok\xe6\x97"};
	for (int where = 0; where < 6; where++)
		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			arena              a = {NULL};
			ProtobufCAllocator al = {a_alloc, a_free, &a};
			Mpstore__Value     v = MPSTORE__VALUE__INIT, k = MPSTORE__VALUE__INIT;
			Mpstore__Op        op = MPSTORE__OP__INIT;
			Mpstore__Compare   cmp = MPSTORE__COMPARE__INIT, *cmps[1] = {&cmp};
			Mpstore__Op       *ops[1] = {&op};
			Mpstore__Txn       txn = MPSTORE__TXN__INIT;
			Mpstore__Request   rq = MPSTORE__REQUEST__INIT;
			char               s[16];
			snprintf(s, sizeof(s), "%s", bad[b]);
			op.code = MPSTORE__OP_CODE__OP_DICT_SET;
			op.name = where == 0 ? s : "d";
			op.message_type = where == 1 ? s : "";
			v.v_case = k.v_case = MPSTORE__VALUE__V_STRING_VALUE;
			v.string_value = where == 2 ? s : "v";
			k.string_value = where == 3 ? s : "k";
			op.value = &v;
			op.key = &k;
			cmp.name = where == 4 ? s : "c";
			cmp.value = where == 5 ? &v : NULL;
			if (where == 5)
				v.string_value = s;
			rq.version = 1;
			if (where >= 4) {
				txn.compare = cmps;
				txn.n_compare = 1;
				txn.success = ops;
				txn.n_success = 1;
				rq.txn = &txn;
			} else {
				rq.ops = ops;
				rq.n_ops = 1;
			}
			uint8_t buf[256];
			size_t  n = mpstore__request__pack(&rq, buf);
			/* "a\x01b" stands for "a\0b": C strings cannot hold it */
			for (size_t i = 0; b == 0 && i + 2 < n; i++)
				if (buf[i] == 'a' && buf[i + 1] == 1 && buf[i + 2] == 'b')
					buf[i + 1] = 0;
			const char *why = NULL;
			if (mpw_request_decode(&al, n, buf, &why) != NULL)
				fail_msg("string field %d with bad string %zu was accepted", where, b);
			assert_non_null(strstr(why, b == 0 ? "NUL" : "UTF-8"));
			assert_null(mpw_request_unpack(&al, n, buf));
			/* the same with a good string: accepted */
			snprintf(s, sizeof(s), "ok \xe6\x97\xa5");
			n = mpstore__request__pack(&rq, buf);
			assert_non_null(mpw_request_decode(&al, n, buf, &why));
			a_fini(&a);
		}
}

/* Unknown fields are skipped, and the empty input is the empty message. */
static void test_unknown_and_empty(void **state)
{
	(void)state;
	arena              a = {NULL};
	ProtobufCAllocator al = {a_alloc, a_free, &a};
	/* Request{version: 1, 99: varint 7, 100: "xy", id: 5} */
	static const uint8_t in[] = {0x08, 0x01, 0x98, 0x06, 0x07, 0xa2, 0x06, 0x02, 'x', 'y', 0x10, 0x05};
	Mpstore__Request    *r = mpw_request_unpack(&al, sizeof(in), in);
	assert_non_null(r);
	assert_int_equal(r->version, 1);
	assert_int_equal(r->id, 5);
	assert_int_equal(r->n_ops, 0);
	Mpstore__Response *e = mpw_response_unpack(&al, 0, (const uint8_t *)"");
	assert_non_null(e);
	assert_int_equal(e->n_results, 0);
	/* a known field with the wrong wire type is refused */
	static const uint8_t bad[] = {0x0a, 0x01, 0x01}; /* version as bytes */
	assert_null(mpw_request_unpack(&al, sizeof(bad), bad));
	/* a varint longer than 10 bytes */
	static const uint8_t longv[] = {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	assert_null(mpw_request_unpack(&al, sizeof(longv), longv));
	a_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_broken),
	    cmocka_unit_test(test_unknown_and_empty),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_request_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
