/*
 * wire_dec.c - the decoders of wire.h. They make two passes over a message
 * with repeated message fields: one counts them (and checks the framing),
 * one fills the struct; an Op, the most frequent, is read in one pass, its
 * rare repeated values growing as they come. (Encoders: wire_enc.c.)
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* ---- UTF-8 ---- */

/* RFC 3629: the shortest form only (no overlong encodings), no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF. */
int mpw_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		/* ASCII runs, 8 bytes at a time */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t  k;
		uint8_t lo = 0x80, hi = 0xbf; /* range of the second byte */
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			if (c == 0xe0)
				lo = 0xa0; /* overlong */
			else if (c == 0xed)
				hi = 0x9f; /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			if (c == 0xf0)
				lo = 0x90; /* overlong */
			else if (c == 0xf4)
				hi = 0x8f; /* above U+10FFFF */
		} else {
			return 0; /* 80..c1 (continuation, overlong 2-byte), f5..ff */
		}
		if (n - i <= k || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t j = 2; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

/* ---- decoding ---- */

typedef struct rd {
	const uint8_t      *p, *end;
	ProtobufCAllocator *al;
	const char        **why; /* non-NULL: strings are checked (requests), and
	                            a refusal says why here */
} rd;

/* one field: its number, wire type and, by type, its value */
typedef struct fld {
	uint32_t       num;
	int            wt;
	uint64_t       v;   /* varint, or the raw 64/32 bits */
	const uint8_t *d;   /* WT_LEN: the bytes */
	size_t         len;
	const uint8_t *raw, *rawend; /* the value's bytes (WT_LEN: with the length) */
} fld;

static int get_varint(rd *r, uint64_t *out)
{
	uint64_t x = 0;
	for (int i = 0; i < 10; i++) {
		if (r->p >= r->end)
			return -1;
		uint8_t c = *r->p++;
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if ((c & 0x80) == 0) {
			*out = x;
			return 0;
		}
	}
	return -1; /* over 10 bytes */
}

static int read_field(rd *r, fld *f);

/* Read the next field; 1: got one, 0: end of message, -1: malformed. */
static int next_field(rd *r, fld *f)
{
	int rv = read_field(r, f);
	f->rawend = r->p;
	return rv;
}

static int read_field(rd *r, fld *f)
{
	if (r->p >= r->end)
		return 0;
	/* the tag as protobuf-c reads it: at most 5 bytes, the field number in
	 * 32 bits, and a first byte with some number bits (a longer encoding
	 * of field 0 is an unknown field) */
	uint8_t  c = *r->p++;
	if ((c & 0xf8) == 0)
		return -1;
	uint32_t num = (uint32_t)(c & 0x7f) >> 3;
	f->wt = c & 7;
	for (int i = 0, shift = 4; c & 0x80; i++, shift += 7) {
		if (i == 4 || r->p >= r->end)
			return -1;
		c = *r->p++;
		num |= (uint32_t)(c & 0x7f) << shift;
	}
	f->num = num;
	f->raw = r->p;
	switch (f->wt) {
	case WT_VARINT: return get_varint(r, &f->v) == 0 ? 1 : -1;
	case WT_I64:
		if (r->end - r->p < 8)
			return -1;
		f->v = 0;
		for (int i = 0; i < 8; i++)
			f->v |= (uint64_t)r->p[i] << (8 * i);
		r->p += 8;
		return 1;
	case WT_I32:
		if (r->end - r->p < 4)
			return -1;
		f->v = (uint64_t)r->p[0] | (uint64_t)r->p[1] << 8 | (uint64_t)r->p[2] << 16 |
		       (uint64_t)r->p[3] << 24;
		r->p += 4;
		return 1;
	case WT_LEN: {
		uint64_t n;
		if (get_varint(r, &n) != 0 || n > (uint64_t)(r->end - r->p))
			return -1;
		f->d = r->p;
		f->len = (size_t)n;
		r->p += n;
		return 1;
	}
	default: return -1; /* groups and reserved wire types */
	}
}

/* A bool takes any wire type, as protobuf-c reads it: true when the low
 * 7 bits of any of its bytes are not all zero. */
static protobuf_c_boolean d_bool(const fld *f)
{
	for (const uint8_t *q = f->raw; q < f->rawend; q++)
		if (*q & 0x7f)
			return 1;
	return 0;
}

static void *a_alloc(rd *r, size_t n) { return r->al->alloc(r->al->allocator_data, n ? n : 1); }

/* Count each repeated field (numbers below 32) of the message in [p, end)
 * and check its framing. -1: malformed. */
static int count_fields(const uint8_t *p, const uint8_t *end, size_t cnt[32])
{
	rd  r = {p, end, NULL, NULL};
	fld f;
	int rv;
	memset(cnt, 0, 32 * sizeof(cnt[0]));
	while ((rv = next_field(&r, &f)) == 1)
		if (f.num < 32)
			cnt[f.num]++;
	return rv;
}

/* Count the repeated fields of the message in [p, p+len) and allocate its
 * struct of `size` bytes; NULL when malformed or out of memory. */
static void *d_begin(rd *r, const uint8_t *p, size_t len, size_t cnt[32], size_t size)
{
	return count_fields(p, p + len, cnt) == 0 ? a_alloc(r, size) : NULL;
}

/* field checks: the wire type a known field must have */
#define WANT(f, t) \
	do { \
		if ((f)->wt != (t)) \
			return -1; \
	} while (0)

/* proto3 `string` semantics, and C strings: valid UTF-8 and no NUL. */
static int str_ok(rd *r, const uint8_t *s, size_t n)
{
	if (r->why == NULL)
		return 1;
	if (memchr(s, 0, n) != NULL) {
		*r->why = "a string field holds a NUL byte (U+0000), which mpstore does not accept";
		return 0;
	}
	if (!mpw_utf8_valid(s, n)) {
		*r->why = "a string field is not valid UTF-8 (proto3 strings must be)";
		return 0;
	}
	return 1;
}

static int d_str(rd *r, const fld *f, char **out)
{
	WANT(f, WT_LEN);
	if (!str_ok(r, f->d, f->len))
		return -1;
	char *s = a_alloc(r, f->len + 1);
	if (s == NULL)
		return -1;
	memcpy(s, f->d, f->len);
	s[f->len] = '\0';
	*out = s;
	return 0;
}

static int d_bytes(rd *r, const fld *f, ProtobufCBinaryData *out)
{
	WANT(f, WT_LEN);
	out->len = f->len;
	out->data = NULL;
	if (f->len > 0) {
		if ((out->data = a_alloc(r, f->len)) == NULL)
			return -1;
		memcpy(out->data, f->d, f->len);
	}
	return 0;
}

static Mpstore__Value *dec_value(rd *r, const uint8_t *p, size_t len)
{
	Mpstore__Value *v = a_alloc(r, sizeof(*v));
	if (v == NULL)
		return NULL;
	mpstore__value__init(v);
	rd  in = {p, p + len, r->al, r->why};
	fld f;
	int rv;
	while ((rv = next_field(&in, &f)) == 1) {
		switch (f.num) {
		case 1:
			if (f.wt != WT_VARINT)
				return NULL;
			v->v_case = MPSTORE__VALUE__V_INT_VALUE;
			v->int_value = (int64_t)f.v;
			break;
		case 2:
			if (f.wt != WT_I64)
				return NULL;
			v->v_case = MPSTORE__VALUE__V_DOUBLE_VALUE;
			memcpy(&v->double_value, &f.v, 8);
			break;
		case 3:
			v->v_case = MPSTORE__VALUE__V_BOOL_VALUE;
			v->bool_value = d_bool(&f);
			break;
		case 4:
			if (d_str(r, &f, &v->string_value) != 0)
				return NULL;
			v->v_case = MPSTORE__VALUE__V_STRING_VALUE;
			break;
		case 5:
			if (d_bytes(r, &f, &v->bytes_value) != 0)
				return NULL;
			v->v_case = MPSTORE__VALUE__V_BYTES_VALUE;
			break;
		case 6:
			if (d_bytes(r, &f, &v->message_value) != 0)
				return NULL;
			v->v_case = MPSTORE__VALUE__V_MESSAGE_VALUE;
			break;
		default: break; /* unknown: skipped */
		}
	}
	return rv == 0 ? v : NULL;
}

static int d_value(rd *r, const fld *f, Mpstore__Value **out)
{
	WANT(f, WT_LEN);
	return (*out = dec_value(r, f->d, f->len)) != NULL ? 0 : -1;
}

/* an array of n pointers, to be filled in order */
static void **d_array(rd *r, size_t n)
{
	return n > 0 ? a_alloc(r, n * sizeof(void *)) : NULL;
}

/* append a decoded Value to a repeated field */
static int d_value_add(rd *r, const fld *f, Mpstore__Value **arr, size_t *n)
{
	if (arr == NULL)
		return -1;
	return d_value(r, f, &arr[(*n)++]);
}

static int d_varint(const fld *f, uint64_t *out)
{
	WANT(f, WT_VARINT);
	*out = f->v;
	return 0;
}

/* a varint field of an int-returning decoder */
#define D_VARINT(f, lv, type) \
	do { \
		uint64_t v_; \
		if (d_varint((f), &v_) != 0) \
			return -1; \
		(lv) = (type)v_; \
	} while (0)

static int d_values_init(rd *r, Mpstore__Value ***arr, size_t n)
{
	*arr = (Mpstore__Value **)d_array(r, n);
	return n == 0 || *arr != NULL ? 0 : -1;
}

/* Append a decoded Value to a repeated field that grows (doubling, in the
 * allocator): an op is read in one pass, without counting first. */
static int d_value_push(rd *r, const fld *f, Mpstore__Value ***arr, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t           ncap = *cap ? 2 * *cap : 8;
		Mpstore__Value **nv = a_alloc(r, ncap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		if (*n > 0)
			memcpy(nv, *arr, *n * sizeof(*nv));
		*arr = nv;
		*cap = ncap;
	}
	return d_value(r, f, &(*arr)[(*n)++]);
}

/* An Op, in one pass (most ops have no repeated field). */
static int dec_op_into(rd *r, Mpstore__Op *o, const uint8_t *p, size_t len)
{
	size_t vcap = 0, kcap = 0;
	mpstore__op__init(o);
	rd  in = {p, p + len, r->al, r->why};
	fld f;
	int rv;
	while ((rv = next_field(&in, &f)) == 1) {
		switch (f.num) {
		case 1: D_VARINT(&f, o->code, Mpstore__OpCode); break;
		case 2: if (d_str(r, &f, &o->name) != 0) return -1; break;
		case 3: if (d_value(r, &f, &o->value) != 0) return -1; break;
		case 4: if (d_value(r, &f, &o->key) != 0) return -1; break;
		case 5: D_VARINT(&f, o->index, int64_t); break;
		case 6: D_VARINT(&f, o->stop, int64_t); break;
		case 7: if (d_value_push(r, &f, &o->values, &o->n_values, &vcap) != 0) return -1; break;
		case 8: if (d_value_push(r, &f, &o->keys, &o->n_keys, &kcap) != 0) return -1; break;
		case 9: if (d_value(r, &f, &o->expected) != 0) return -1; break;
		case 10: D_VARINT(&f, o->timeout_ms, int64_t); break;
		case 11: D_VARINT(&f, o->count, int64_t); break;
		case 12: D_VARINT(&f, o->kind, Mpstore__Kind); break;
		case 13: D_VARINT(&f, o->elem_type, Mpstore__ElemType); break;
		case 14: D_VARINT(&f, o->key_type, Mpstore__KeyType); break;
		case 15: if (d_str(r, &f, &o->message_type) != 0) return -1; break;
		case 16: D_VARINT(&f, o->from_revision, uint64_t); break;
		case 17: if (d_bytes(r, &f, &o->data) != 0) return -1; break;
		case 18: D_VARINT(&f, o->flags, uint32_t); break;
		default: break;
		}
	}
	return rv;
}

/* A repeated Op field: all its ops in one block. */
typedef struct oparr {
	Mpstore__Op **v;
	Mpstore__Op  *blk;
	size_t        n, cap;
} oparr;

static int oparr_init(rd *r, oparr *a, size_t n)
{
	a->n = 0;
	a->cap = n;
	a->v = NULL;
	a->blk = NULL;
	if (n == 0)
		return 0;
	a->v = a_alloc(r, n * sizeof(*a->v));
	a->blk = a_alloc(r, n * sizeof(*a->blk));
	return a->v != NULL && a->blk != NULL ? 0 : -1;
}

static int oparr_add(rd *r, oparr *a, const fld *f)
{
	WANT(f, WT_LEN);
	if (a->n >= a->cap)
		return -1;
	Mpstore__Op *o = &a->blk[a->n];
	if (dec_op_into(r, o, f->d, f->len) != 0)
		return -1;
	a->v[a->n++] = o;
	return 0;
}

static Mpstore__Compare *dec_compare(rd *r, const uint8_t *p, size_t len)
{
	Mpstore__Compare *c = a_alloc(r, sizeof(*c));
	if (c == NULL)
		return NULL;
	mpstore__compare__init(c);
	rd  in = {p, p + len, r->al, r->why};
	fld f;
	int rv;
	uint64_t v;
	while ((rv = next_field(&in, &f)) == 1) {
		switch (f.num) {
		case 1: if (d_str(r, &f, &c->name) != 0) return NULL; break;
		case 2: if (d_varint(&f, &v) != 0) return NULL; c->target = (Mpstore__CompareTarget)v; break;
		case 3: if (d_varint(&f, &v) != 0) return NULL; c->op = (Mpstore__CompareOp)v; break;
		case 4: if (d_value(r, &f, &c->key) != 0) return NULL; break;
		case 5: if (d_value(r, &f, &c->value) != 0) return NULL; break;
		default: break;
		}
	}
	return rv == 0 ? c : NULL;
}

static Mpstore__Txn *dec_txn(rd *r, const uint8_t *p, size_t len)
{
	size_t        cnt[32];
	Mpstore__Txn *t = d_begin(r, p, len, cnt, sizeof(*t));
	if (t == NULL)
		return NULL;
	mpstore__txn__init(t);
	oparr succ, fail;
	t->compare = (Mpstore__Compare **)d_array(r, cnt[1]);
	if ((cnt[1] && t->compare == NULL) || oparr_init(r, &succ, cnt[2]) != 0 ||
	    oparr_init(r, &fail, cnt[3]) != 0)
		return NULL;
	rd  in = {p, p + len, r->al, r->why};
	fld f;
	int rv;
	while ((rv = next_field(&in, &f)) == 1) {
		switch (f.num) {
		case 1:
			if (f.wt != WT_LEN ||
			    (t->compare[t->n_compare] = dec_compare(r, f.d, f.len)) == NULL)
				return NULL;
			t->n_compare++;
			break;
		case 2: if (oparr_add(r, &succ, &f) != 0) return NULL; break;
		case 3: if (oparr_add(r, &fail, &f) != 0) return NULL; break;
		default: break;
		}
	}
	t->success = succ.v;
	t->n_success = succ.n;
	t->failure = fail.v;
	t->n_failure = fail.n;
	return rv == 0 ? t : NULL;
}

Mpstore__Request *mpw_request_unpack(ProtobufCAllocator *al, size_t len, const uint8_t *data)
{
	const char *why;
	return mpw_request_decode(al, len, data, &why);
}

Mpstore__Request *mpw_request_decode(ProtobufCAllocator *al, size_t len, const uint8_t *data,
    const char **why)
{
	rd                r = {data, data + len, al, why};
	*why = "the bytes are not a valid protobuf encoding of an mpstore.Request";
	size_t            cnt[32];
	Mpstore__Request *m = d_begin(&r, data, len, cnt, sizeof(*m));
	if (m == NULL)
		return NULL;
	mpstore__request__init(m);
	oparr ops;
	if (oparr_init(&r, &ops, cnt[4]) != 0)
		return NULL;
	fld f;
	int rv;
	while ((rv = next_field(&r, &f)) == 1) {
		switch (f.num) {
		case 1: {
			uint64_t v;
			if (d_varint(&f, &v) != 0)
				return NULL;
			m->version = (uint32_t)v;
			break;
		}
		case 2: if (d_varint(&f, &m->id) != 0) return NULL; break;
		case 3: if (d_varint(&f, &m->client_id) != 0) return NULL; break;
		case 4: if (oparr_add(&r, &ops, &f) != 0) return NULL; break;
		case 5:
			if (f.wt != WT_LEN || (m->txn = dec_txn(&r, f.d, f.len)) == NULL)
				return NULL;
			break;
		case 6: if (d_bytes(&r, &f, &m->auth) != 0) return NULL; break;
		default: break;
		}
	}
	m->ops = ops.v;
	m->n_ops = ops.n;
	return rv == 0 ? m : NULL;
}

static Mpstore__ContainerInfo *dec_info(rd *r, const uint8_t *p, size_t len)
{
	Mpstore__ContainerInfo *c = a_alloc(r, sizeof(*c));
	if (c == NULL)
		return NULL;
	mpstore__container_info__init(c);
	rd       in = {p, p + len, r->al, r->why};
	fld      f;
	int      rv;
	uint64_t v = 0;
	while ((rv = next_field(&in, &f)) == 1) {
		if (f.num >= 2 && f.num <= 9 && f.num != 5 && d_varint(&f, &v) != 0)
			return NULL;
		switch (f.num) {
		case 1: if (d_str(r, &f, &c->name) != 0) return NULL; break;
		case 2: c->kind = (Mpstore__Kind)v; break;
		case 3: c->elem_type = (Mpstore__ElemType)v; break;
		case 4: c->key_type = (Mpstore__KeyType)v; break;
		case 5: if (d_str(r, &f, &c->message_type) != 0) return NULL; break;
		case 6: c->length = (int64_t)v; break;
		case 7: c->revision = v; break;
		case 8: c->capacity = (int64_t)v; break;
		case 9: c->memory = (int64_t)v; break;
		default: break;
		}
	}
	return rv == 0 ? c : NULL;
}

static int d_info(rd *r, const fld *f, Mpstore__ContainerInfo **out)
{
	WANT(f, WT_LEN);
	return (*out = dec_info(r, f->d, f->len)) != NULL ? 0 : -1;
}

static Mpstore__Change *dec_change(rd *r, const uint8_t *p, size_t len)
{
	size_t           cnt[32];
	Mpstore__Change *c = d_begin(r, p, len, cnt, sizeof(*c));
	if (c == NULL)
		return NULL;
	mpstore__change__init(c);
	if (d_values_init(r, &c->keys, cnt[8]) != 0 || d_values_init(r, &c->values, cnt[9]) != 0)
		return NULL;
	rd       in = {p, p + len, r->al, r->why};
	fld      f;
	int      rv;
	uint64_t v;
	while ((rv = next_field(&in, &f)) == 1) {
		switch (f.num) {
		case 1: if (d_varint(&f, &c->revision) != 0) return NULL; break;
		case 2: if (d_str(r, &f, &c->name) != 0) return NULL; break;
		case 3: if (d_varint(&f, &v) != 0) return NULL; c->kind = (Mpstore__Kind)v; break;
		case 4: if (d_varint(&f, &v) != 0) return NULL; c->type = (Mpstore__ChangeType)v; break;
		case 5: if (d_varint(&f, &v) != 0) return NULL; c->index = (int64_t)v; break;
		case 6: if (d_varint(&f, &v) != 0) return NULL; c->count = (int64_t)v; break;
		case 7: if (d_value(r, &f, &c->value) != 0) return NULL; break;
		case 8: if (d_value_add(r, &f, c->keys, &c->n_keys) != 0) return NULL; break;
		case 9: if (d_value_add(r, &f, c->values, &c->n_values) != 0) return NULL; break;
		case 10:
			if (d_info(r, &f, &c->info) != 0)
				return NULL;
			break;
		case 11: if (d_varint(&f, &c->prev_revision) != 0) return NULL; break;
		default: break;
		}
	}
	return rv == 0 ? c : NULL;
}

Mpstore__Change *mpw_change_unpack(ProtobufCAllocator *al, size_t len, const uint8_t *data)
{
	rd r = {data, data + len, al, NULL};
	return dec_change(&r, data, len);
}

static Mpstore__Party *dec_party(rd *r, const uint8_t *p, size_t len)
{
	Mpstore__Party *c = a_alloc(r, sizeof(*c));
	if (c == NULL)
		return NULL;
	mpstore__party__init(c);
	rd       in = {p, p + len, r->al, r->why};
	fld      f;
	int      rv;
	uint64_t v = 0;
	while ((rv = next_field(&in, &f)) == 1) {
		int str = f.num == 3 || f.num == 6 || f.num == 16;
		if (f.num >= 1 && f.num <= 17 && !str && d_varint(&f, &v) != 0)
			return NULL;
		switch (f.num) {
		case 1: c->conn = (uint32_t)v; break;
		case 2: c->client_id = v; break;
		case 3: if (d_str(r, &f, &c->name) != 0) return NULL; break;
		case 4: c->pid = (int64_t)v; break;
		case 5: c->peer_pid = (int64_t)v; break;
		case 6: if (d_str(r, &f, &c->addr) != 0) return NULL; break;
		case 7: c->age_ms = (int64_t)v; break;
		case 8: c->idle_ms = (int64_t)v; break;
		case 9: c->requests = v; break;
		case 10: c->parked = (int64_t)v; break;
		case 11: c->token = v; break;
		case 12: c->count = (int64_t)v; break;
		case 13: c->timeout_ms = (int64_t)v; break;
		case 14: c->remaining_ms = (int64_t)v; break;
		case 15: c->op = (Mpstore__OpCode)v; break;
		case 16: if (d_str(r, &f, &c->container) != 0) return NULL; break;
		case 17: c->kind = (Mpstore__Kind)v; break;
		default: break;
		}
	}
	return rv == 0 ? c : NULL;
}

/* a repeated Party field: an array of cnt pointers, filled in order */
static int d_parties_init(rd *r, Mpstore__Party ***arr, size_t n)
{
	*arr = (Mpstore__Party **)d_array(r, n);
	return n == 0 || *arr != NULL ? 0 : -1;
}

static int d_party_add(rd *r, const fld *f, Mpstore__Party **arr, size_t *n)
{
	WANT(f, WT_LEN);
	if (arr == NULL || (arr[*n] = dec_party(r, f->d, f->len)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static Mpstore__Result *dec_result(rd *r, Mpstore__Result *res, const uint8_t *p, size_t len)
{
	size_t cnt[32];
	if (count_fields(p, p + len, cnt) != 0)
		return NULL;
	mpstore__result__init(res);
	if (d_values_init(r, &res->values, cnt[4]) != 0 || d_values_init(r, &res->keys, cnt[5]) != 0)
		return NULL;
	res->containers = (Mpstore__ContainerInfo **)d_array(r, cnt[11]);
	res->changes = (Mpstore__Change **)d_array(r, cnt[12]);
	if ((cnt[11] && res->containers == NULL) || (cnt[12] && res->changes == NULL) ||
	    d_parties_init(r, &res->holders, cnt[14]) != 0 ||
	    d_parties_init(r, &res->waiters, cnt[15]) != 0 ||
	    d_parties_init(r, &res->clients, cnt[16]) != 0)
		return NULL;
	rd       in = {p, p + len, r->al, r->why};
	fld      f;
	int      rv;
	uint64_t v;
	while ((rv = next_field(&in, &f)) == 1) {
		switch (f.num) {
		case 1: if (d_varint(&f, &v) != 0) return NULL; res->status = (Mpstore__Status)v; break;
		case 2: if (d_str(r, &f, &res->error) != 0) return NULL; break;
		case 3: if (d_value(r, &f, &res->value) != 0) return NULL; break;
		case 4: if (d_value_add(r, &f, res->values, &res->n_values) != 0) return NULL; break;
		case 5: if (d_value_add(r, &f, res->keys, &res->n_keys) != 0) return NULL; break;
		case 6: if (d_varint(&f, &v) != 0) return NULL; res->count = (int64_t)v; break;
		case 7: res->flag = d_bool(&f); break;
		case 8: if (d_varint(&f, &res->revision) != 0) return NULL; break;
		case 9: if (d_varint(&f, &res->token) != 0) return NULL; break;
		case 10: if (d_varint(&f, &v) != 0) return NULL; res->next = (int64_t)v; break;
		case 11:
			if (d_info(r, &f, &res->containers[res->n_containers++]) != 0)
				return NULL;
			break;
		case 12:
			if (f.wt != WT_LEN ||
			    (res->changes[res->n_changes] = dec_change(r, f.d, f.len)) == NULL)
				return NULL;
			res->n_changes++;
			break;
		case 13:
			if (d_info(r, &f, &res->info) != 0)
				return NULL;
			break;
		case 14: if (d_party_add(r, &f, res->holders, &res->n_holders) != 0) return NULL; break;
		case 15: if (d_party_add(r, &f, res->waiters, &res->n_waiters) != 0) return NULL; break;
		case 16: if (d_party_add(r, &f, res->clients, &res->n_clients) != 0) return NULL; break;
		default: break;
		}
	}
	return rv == 0 ? res : NULL;
}

Mpstore__Response *mpw_response_unpack(ProtobufCAllocator *al, size_t len, const uint8_t *data)
{
	rd                 r = {data, data + len, al, NULL};
	size_t             cnt[32];
	Mpstore__Response *m = d_begin(&r, data, len, cnt, sizeof(*m));
	if (m == NULL)
		return NULL;
	mpstore__response__init(m);
	Mpstore__Result *blk = NULL;
	if (cnt[6] > 0) {
		m->results = (Mpstore__Result **)d_array(&r, cnt[6]);
		blk = a_alloc(&r, cnt[6] * sizeof(*blk));
		if (m->results == NULL || blk == NULL)
			return NULL;
	}
	fld      f;
	int      rv;
	uint64_t v;
	while ((rv = next_field(&r, &f)) == 1) {
		switch (f.num) {
		case 1: if (d_varint(&f, &v) != 0) return NULL; m->version = (uint32_t)v; break;
		case 2: if (d_varint(&f, &m->id) != 0) return NULL; break;
		case 3: if (d_varint(&f, &v) != 0) return NULL; m->status = (Mpstore__Status)v; break;
		case 4: if (d_str(&r, &f, &m->error) != 0) return NULL; break;
		case 5: if (d_varint(&f, &m->revision) != 0) return NULL; break;
		case 6:
			if (f.wt != WT_LEN || dec_result(&r, &blk[m->n_results], f.d, f.len) == NULL)
				return NULL;
			m->results[m->n_results] = &blk[m->n_results];
			m->n_results++;
			break;
		case 7: m->succeeded = d_bool(&f); break;
		default: break;
		}
	}
	return rv == 0 ? m : NULL;
}
