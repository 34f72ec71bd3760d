/*
 * wire_enc.c - the encoders of wire.h. They write backwards: a message's
 * fields from the highest number down, so that a nested message's length
 * is known when its tag goes in front of it. (Decoders: wire_dec.c.)
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* ---- buffer ---- */

void mpw_init(mpw_buf *b, void *mem, size_t size)
{
	b->base = mem;
	b->end = b->p = mem != NULL ? b->base + size : NULL;
	b->oom = 0;
	b->heap = 0;
}

void mpw_fini(mpw_buf *b)
{
	if (b->heap)
		free(b->base);
	mpw_init(b, NULL, 0);
}

static size_t room_of(const mpw_buf *b) { return (size_t)((uintptr_t)b->p - (uintptr_t)b->base); }

static int grow(mpw_buf *b, size_t n)
{
	size_t used = mpw_len(b);
	size_t cap = (size_t)((uintptr_t)b->end - (uintptr_t)b->base);
	size_t ncap = cap ? cap : 256;
	while (ncap - used < n) {
		if (ncap > SIZE_MAX / 4) {
			b->oom = 1;
			return -1;
		}
		ncap *= 2;
	}
	uint8_t *nb = malloc(ncap);
	if (nb == NULL) {
		b->oom = 1;
		return -1;
	}
	if (used > 0)
		memcpy(nb + ncap - used, b->p, used);
	if (b->heap)
		free(b->base);
	b->heap = 1;
	b->base = nb;
	b->end = nb + ncap;
	b->p = b->end - used;
	return 0;
}

static inline int room(mpw_buf *b, size_t n)
{
	if (b->oom)
		return 0;
	return room_of(b) >= n || grow(b, n) == 0;
}

static void put_raw(mpw_buf *b, const void *d, size_t n)
{
	if (n == 0 || !room(b, n))
		return;
	b->p -= n;
	memcpy(b->p, d, n);
}

static inline void put_varint(mpw_buf *b, uint64_t v)
{
	if (v < 0x80) {
		if (room(b, 1))
			*--b->p = (uint8_t)v;
		return;
	}
	uint8_t tmp[10];
	size_t  n = 0;
	do {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	} while (v != 0);
	tmp[n - 1] &= 0x7f;
	put_raw(b, tmp, n);
}

static inline void put_tag(mpw_buf *b, uint32_t f, int wt) { put_varint(b, ((uint64_t)f << 3) | (uint64_t)wt); }

/* ---- encoding: fields (value first, then tag: we write backwards) ---- */

static void f_u64(mpw_buf *b, uint32_t f, uint64_t v)
{
	if (v != 0) {
		put_varint(b, v);
		put_tag(b, f, WT_VARINT);
	}
}

static void f_i64(mpw_buf *b, uint32_t f, int64_t v) { f_u64(b, f, (uint64_t)v); }

/* enums are int32 on the wire: negative ones sign-extend to 10 bytes */
static void f_enum(mpw_buf *b, uint32_t f, int v) { f_u64(b, f, (uint64_t)(int64_t)v); }

static void f_bool(mpw_buf *b, uint32_t f, protobuf_c_boolean v) { f_u64(b, f, v ? 1 : 0); }

static void put_lenfield(mpw_buf *b, uint32_t f, const void *d, size_t n)
{
	put_raw(b, d, n);
	put_varint(b, n);
	put_tag(b, f, WT_LEN);
}

static void f_str(mpw_buf *b, uint32_t f, const char *s)
{
	if (s != NULL && s[0] != '\0')
		put_lenfield(b, f, s, strlen(s));
}

static void f_bytes(mpw_buf *b, uint32_t f, ProtobufCBinaryData d)
{
	if (d.len > 0)
		put_lenfield(b, f, d.data, d.len);
}

/* close a nested message begun when the buffer held `mark` bytes */
static void close_msg(mpw_buf *b, uint32_t f, size_t mark)
{
	put_varint(b, mpw_len(b) - mark);
	put_tag(b, f, WT_LEN);
}

/* ---- encoding: messages ---- */

static void enc_value(mpw_buf *b, const Mpstore__Value *v)
{
	uint64_t bits;
	uint8_t  le[8];
	switch (v->v_case) {
	case MPSTORE__VALUE__V_INT_VALUE:
		put_varint(b, (uint64_t)v->int_value);
		put_tag(b, 1, WT_VARINT);
		break;
	case MPSTORE__VALUE__V_DOUBLE_VALUE:
		memcpy(&bits, &v->double_value, 8);
		for (int i = 0; i < 8; i++)
			le[i] = (uint8_t)(bits >> (8 * i));
		put_raw(b, le, 8);
		put_tag(b, 2, WT_I64);
		break;
	case MPSTORE__VALUE__V_BOOL_VALUE:
		put_varint(b, v->bool_value ? 1 : 0);
		put_tag(b, 3, WT_VARINT);
		break;
	case MPSTORE__VALUE__V_STRING_VALUE:
		/* as protobuf-c: a oneof string is left out only when unset */
		if (v->string_value != NULL && v->string_value != protobuf_c_empty_string)
			put_lenfield(b, 4, v->string_value, strlen(v->string_value));
		break;
	case MPSTORE__VALUE__V_BYTES_VALUE:
		put_lenfield(b, 5, v->bytes_value.data, v->bytes_value.len);
		break;
	case MPSTORE__VALUE__V_MESSAGE_VALUE:
		put_lenfield(b, 6, v->message_value.data, v->message_value.len);
		break;
	default: break;
	}
}

static void f_value(mpw_buf *b, uint32_t f, const Mpstore__Value *v)
{
	if (v == NULL)
		return;
	size_t mark = mpw_len(b);
	enc_value(b, v);
	close_msg(b, f, mark);
}

static void f_values(mpw_buf *b, uint32_t f, Mpstore__Value *const *v, size_t n)
{
	for (size_t i = n; i-- > 0;)
		f_value(b, f, v[i]);
}

static void enc_op(mpw_buf *b, const Mpstore__Op *o)
{
	f_u64(b, 18, o->flags);
	f_bytes(b, 17, o->data);
	f_u64(b, 16, o->from_revision);
	f_str(b, 15, o->message_type);
	f_enum(b, 14, (int)o->key_type);
	f_enum(b, 13, (int)o->elem_type);
	f_enum(b, 12, (int)o->kind);
	f_i64(b, 11, o->count);
	f_i64(b, 10, o->timeout_ms);
	f_value(b, 9, o->expected);
	f_values(b, 8, o->keys, o->n_keys);
	f_values(b, 7, o->values, o->n_values);
	f_i64(b, 6, o->stop);
	f_i64(b, 5, o->index);
	f_value(b, 4, o->key);
	f_value(b, 3, o->value);
	f_str(b, 2, o->name);
	f_enum(b, 1, (int)o->code);
}

static void f_ops(mpw_buf *b, uint32_t f, Mpstore__Op *const *v, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		if (v[i] == NULL)
			continue;
		size_t mark = mpw_len(b);
		enc_op(b, v[i]);
		close_msg(b, f, mark);
	}
}

static void enc_compare(mpw_buf *b, const Mpstore__Compare *c)
{
	f_value(b, 5, c->value);
	f_value(b, 4, c->key);
	f_enum(b, 3, (int)c->op);
	f_enum(b, 2, (int)c->target);
	f_str(b, 1, c->name);
}

static void enc_txn(mpw_buf *b, const Mpstore__Txn *t)
{
	f_ops(b, 3, t->failure, t->n_failure);
	f_ops(b, 2, t->success, t->n_success);
	for (size_t i = t->n_compare; i-- > 0;) {
		if (t->compare[i] == NULL)
			continue;
		size_t mark = mpw_len(b);
		enc_compare(b, t->compare[i]);
		close_msg(b, 1, mark);
	}
}

int mpw_request(mpw_buf *b, const Mpstore__Request *m)
{
	f_bytes(b, 6, m->auth);
	if (m->txn != NULL) {
		size_t mark = mpw_len(b);
		enc_txn(b, m->txn);
		close_msg(b, 5, mark);
	}
	f_ops(b, 4, m->ops, m->n_ops);
	f_u64(b, 3, m->client_id);
	f_u64(b, 2, m->id);
	f_u64(b, 1, m->version);
	return b->oom ? -1 : 0;
}

static void enc_info(mpw_buf *b, const Mpstore__ContainerInfo *c)
{
	f_i64(b, 9, c->memory);
	f_i64(b, 8, c->capacity);
	f_u64(b, 7, c->revision);
	f_i64(b, 6, c->length);
	f_str(b, 5, c->message_type);
	f_enum(b, 4, (int)c->key_type);
	f_enum(b, 3, (int)c->elem_type);
	f_enum(b, 2, (int)c->kind);
	f_str(b, 1, c->name);
}

static void f_info(mpw_buf *b, uint32_t f, const Mpstore__ContainerInfo *c)
{
	if (c == NULL)
		return;
	size_t mark = mpw_len(b);
	enc_info(b, c);
	close_msg(b, f, mark);
}

static void enc_change(mpw_buf *b, const Mpstore__Change *c)
{
	f_u64(b, 11, c->prev_revision);
	f_info(b, 10, c->info);
	f_values(b, 9, c->values, c->n_values);
	f_values(b, 8, c->keys, c->n_keys);
	f_value(b, 7, c->value);
	f_i64(b, 6, c->count);
	f_i64(b, 5, c->index);
	f_enum(b, 4, (int)c->type);
	f_enum(b, 3, (int)c->kind);
	f_str(b, 2, c->name);
	f_u64(b, 1, c->revision);
}

int mpw_change(mpw_buf *b, const Mpstore__Change *m)
{
	enc_change(b, m);
	return b->oom ? -1 : 0;
}

static void enc_party(mpw_buf *b, const Mpstore__Party *p)
{
	f_enum(b, 17, (int)p->kind);
	f_str(b, 16, p->container);
	f_enum(b, 15, (int)p->op);
	f_i64(b, 14, p->remaining_ms);
	f_i64(b, 13, p->timeout_ms);
	f_i64(b, 12, p->count);
	f_u64(b, 11, p->token);
	f_i64(b, 10, p->parked);
	f_u64(b, 9, p->requests);
	f_i64(b, 8, p->idle_ms);
	f_i64(b, 7, p->age_ms);
	f_str(b, 6, p->addr);
	f_i64(b, 5, p->peer_pid);
	f_i64(b, 4, p->pid);
	f_str(b, 3, p->name);
	f_u64(b, 2, p->client_id);
	f_u64(b, 1, p->conn);
}

static void f_parties(mpw_buf *b, uint32_t f, Mpstore__Party *const *v, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		if (v[i] == NULL)
			continue;
		size_t mark = mpw_len(b);
		enc_party(b, v[i]);
		close_msg(b, f, mark);
	}
}

static void enc_result(mpw_buf *b, const Mpstore__Result *r)
{
	if ((r->n_clients | r->n_waiters | r->n_holders) != 0) { /* operators' ops only */
		f_parties(b, 16, r->clients, r->n_clients);
		f_parties(b, 15, r->waiters, r->n_waiters);
		f_parties(b, 14, r->holders, r->n_holders);
	}
	f_info(b, 13, r->info);
	for (size_t i = r->n_changes; i-- > 0;) {
		if (r->changes[i] == NULL)
			continue;
		size_t mark = mpw_len(b);
		enc_change(b, r->changes[i]);
		close_msg(b, 12, mark);
	}
	for (size_t i = r->n_containers; i-- > 0;)
		f_info(b, 11, r->containers[i]);
	f_i64(b, 10, r->next);
	f_u64(b, 9, r->token);
	f_u64(b, 8, r->revision);
	f_bool(b, 7, r->flag);
	f_i64(b, 6, r->count);
	f_values(b, 5, r->keys, r->n_keys);
	f_values(b, 4, r->values, r->n_values);
	f_value(b, 3, r->value);
	f_str(b, 2, r->error);
	f_enum(b, 1, (int)r->status);
}

int mpw_response(mpw_buf *b, const Mpstore__Response *m)
{
	f_bool(b, 7, m->succeeded);
	for (size_t i = m->n_results; i-- > 0;) {
		if (m->results[i] == NULL)
			continue;
		size_t mark = mpw_len(b);
		enc_result(b, m->results[i]);
		close_msg(b, 6, mark);
	}
	f_u64(b, 5, m->revision);
	f_str(b, 4, m->error);
	f_enum(b, 3, (int)m->status);
	f_u64(b, 2, m->id);
	f_u64(b, 1, m->version);
	return b->oom ? -1 : 0;
}
