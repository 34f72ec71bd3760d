/* exec.c - services for op handlers: results, changes, type checks, parking. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

int64_t mpsd_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mpsd_deadline_after(int64_t now_ms, int64_t ms)
{
	if (ms < 0)
		return INT64_MAX;
	/* saturating: a timeout of 2^63 - 1 ms (292 million years) never wraps
	 * the deadline into the past, it just never comes */
	return now_ms > 0 && ms > INT64_MAX - now_ms ? INT64_MAX : now_ms + ms;
}

void *mpsd_exec_alloc(mpsd_exec *x, size_t n)
{
	return mpsd_arena_alloc(x->arena, n);
}

Mpstore__Value *mpsd_exec_pbval(mpsd_exec *x, const Mpstore__Value *v)
{
	Mpstore__Value *o = mpsd_arena_alloc(x->arena, sizeof(*o));
	if (o == NULL)
		return NULL;
	mpstore__value__init(o);
	if (v == NULL)
		return o;
	o->v_case = v->v_case;
	switch (v->v_case) {
	case MPSTORE__VALUE__V_INT_VALUE: o->int_value = v->int_value; break;
	case MPSTORE__VALUE__V_DOUBLE_VALUE: o->double_value = v->double_value; break;
	case MPSTORE__VALUE__V_BOOL_VALUE: o->bool_value = v->bool_value; break;
	case MPSTORE__VALUE__V_STRING_VALUE:
		o->string_value = mpsd_arena_memdup(x->arena, v->string_value, strlen(v->string_value));
		if (o->string_value == NULL)
			return NULL;
		break;
	case MPSTORE__VALUE__V_BYTES_VALUE:
	case MPSTORE__VALUE__V_MESSAGE_VALUE: {
		const ProtobufCBinaryData *b =
		    v->v_case == MPSTORE__VALUE__V_BYTES_VALUE ? &v->bytes_value : &v->message_value;
		ProtobufCBinaryData *d =
		    v->v_case == MPSTORE__VALUE__V_BYTES_VALUE ? &o->bytes_value : &o->message_value;
		d->len = b->len;
		d->data = mpsd_arena_memdup(x->arena, b->data, b->len);
		if (d->data == NULL)
			return NULL;
		break;
	}
	default: o->v_case = MPSTORE__VALUE__V__NOT_SET; break;
	}
	return o;
}

Mpstore__Value *mpsd_exec_val(mpsd_exec *x, const mpsd_val *v)
{
	Mpstore__Value tmp;
	mpsd_val_to_pb(v, &tmp);
	return mpsd_exec_pbval(x, &tmp);
}

Mpstore__Value *mpsd_exec_int(mpsd_exec *x, int64_t i)
{
	Mpstore__Value *o = mpsd_arena_alloc(x->arena, sizeof(*o));
	if (o == NULL)
		return NULL;
	mpstore__value__init(o);
	o->v_case = MPSTORE__VALUE__V_INT_VALUE;
	o->int_value = i;
	return o;
}

Mpstore__Value **mpsd_exec_vals(mpsd_exec *x, size_t n)
{
	return mpsd_arena_alloc(x->arena, (n ? n : 1) * sizeof(Mpstore__Value *));
}

int mpsd_exec_fail(mpsd_exec *x, Mpstore__Status st, const char *fmt, ...)
{
	char    buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	x->res->status = st;
	x->res->error = mpsd_arena_memdup(x->arena, buf, strlen(buf));
	if (x->res->error == NULL)
		x->res->error = (char *)"out of memory";
	return (int)st;
}

static const char *value_type_name(const Mpstore__Value *v)
{
	if (v == NULL)
		return "null";
	switch (v->v_case) {
	case MPSTORE__VALUE__V_INT_VALUE: return "int64";
	case MPSTORE__VALUE__V_DOUBLE_VALUE: return "double";
	case MPSTORE__VALUE__V_BOOL_VALUE: return "bool";
	case MPSTORE__VALUE__V_STRING_VALUE: return "string";
	case MPSTORE__VALUE__V_BYTES_VALUE: return "bytes";
	case MPSTORE__VALUE__V_MESSAGE_VALUE: return "message";
	default: return "null";
	}
}

int mpsd_exec_check_value(mpsd_exec *x, const mpsd_container *c, const Mpstore__Value *v)
{
	Mpstore__Value__VCase vc = v == NULL ? MPSTORE__VALUE__V__NOT_SET : v->v_case;
	Mpstore__Value__VCase want;
	switch (c->elem_type) {
	case MPSTORE__ELEM_TYPE__TYPE_ANY:
		if (vc == MPSTORE__VALUE__V_MESSAGE_VALUE)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_WRONG_TYPE,
			    "%s '%s' has element type any: a message value needs a container typed "
			    "with its message type",
			    c->k->name, c->name);
		return 0;
	case MPSTORE__ELEM_TYPE__TYPE_INT64: want = MPSTORE__VALUE__V_INT_VALUE; break;
	case MPSTORE__ELEM_TYPE__TYPE_DOUBLE: want = MPSTORE__VALUE__V_DOUBLE_VALUE; break;
	case MPSTORE__ELEM_TYPE__TYPE_BOOL: want = MPSTORE__VALUE__V_BOOL_VALUE; break;
	case MPSTORE__ELEM_TYPE__TYPE_STRING: want = MPSTORE__VALUE__V_STRING_VALUE; break;
	case MPSTORE__ELEM_TYPE__TYPE_BYTES: want = MPSTORE__VALUE__V_BYTES_VALUE; break;
	case MPSTORE__ELEM_TYPE__TYPE_MESSAGE: want = MPSTORE__VALUE__V_MESSAGE_VALUE; break;
	default: want = MPSTORE__VALUE__V__NOT_SET; break;
	}
	if (vc != want) {
		if (c->elem_type == MPSTORE__ELEM_TYPE__TYPE_MESSAGE)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_WRONG_TYPE,
			    "%s '%s' holds %s messages, got a %s value", c->k->name, c->name,
			    c->message_type, value_type_name(v));
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_WRONG_TYPE,
		    "%s '%s' holds %s values, got %s", c->k->name, c->name,
		    mpsd_elem_type_name(c->elem_type), value_type_name(v));
	}
	if (want == MPSTORE__VALUE__V_MESSAGE_VALUE) {
		char err[400];
		int  rv = mpsd_store_msg_check(x->st, c->message_type, v->message_value.data,
		     v->message_value.len, err, sizeof(err));
		if (rv != 0)
			return mpsd_exec_fail(x, (Mpstore__Status)rv, "%s", err);
	}
	return 0;
}

int mpsd_exec_check_key(mpsd_exec *x, const mpsd_container *c, const Mpstore__Value *k)
{
	Mpstore__Value__VCase vc = k == NULL ? MPSTORE__VALUE__V__NOT_SET : k->v_case;
	if (c->key_type == MPSTORE__KEY_TYPE__KEY_INT64) {
		if (vc != MPSTORE__VALUE__V_INT_VALUE)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_WRONG_TYPE,
			    "%s '%s' has int64 keys, got a %s key", c->k->name, c->name,
			    value_type_name(k));
	} else if (vc != MPSTORE__VALUE__V_STRING_VALUE) {
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_WRONG_TYPE,
		    "%s '%s' has string keys, got a %s key", c->k->name, c->name, value_type_name(k));
	}
	return 0;
}

Mpstore__Change *mpsd_exec_change(mpsd_exec *x, mpsd_container *c, Mpstore__ChangeType type)
{
	if (x->nchanges == x->cap) {
		size_t            ncap = x->cap ? x->cap * 2 : 8;
		Mpstore__Change **n = mpsd_arena_alloc(x->arena, ncap * sizeof(*n));
		if (n == NULL)
			return NULL;
		if (x->nchanges)
			memcpy(n, x->changes, x->nchanges * sizeof(*n));
		x->changes = n;
		x->cap = ncap;
	}
	Mpstore__Change *ch = mpsd_arena_alloc(x->arena, sizeof(*ch));
	if (ch == NULL)
		return NULL;
	mpstore__change__init(ch);
	uint64_t rev;
	if (x->in_txn && x->txn_rev != 0) {
		rev = x->txn_rev;
	} else {
		rev = mpsd_store_next_revision(x->st);
		if (x->in_txn)
			x->txn_rev = rev;
	}
	ch->revision = rev;
	ch->name = mpsd_arena_memdup(x->arena, c->name, strlen(c->name));
	ch->kind = c->k->kind;
	ch->type = type;
	ch->prev_revision = c->revision;
	c->revision = rev;
	if (x->res != NULL)
		x->res->revision = rev;
	x->changes[x->nchanges++] = ch;
	store_wake_push(x->st, c);
	return ch;
}

int mpsd_exec_can_wait(const mpsd_exec *x)
{
	return !x->nowait && !x->in_txn && x->op != NULL && x->op->timeout_ms != 0 && !x->expired;
}

int mpsd_exec_park(mpsd_exec *x, mpsd_container *c)
{
	if (x->w != NULL && x->w->c != NULL)
		return MPSD_PARK; /* still parked, keeps its place in line */
	if (x->w != NULL) {
		/* its container was deleted and made again (a rolled-back txn):
		 * join the new one's line at the back */
		mpsd_waiter *w = x->w;
		w->c = c;
		w->prev = c->wait_tail;
		w->next = NULL;
		if (c->wait_tail != NULL)
			c->wait_tail->next = w;
		else
			c->wait_head = w;
		c->wait_tail = w;
		c->nwaiters++;
		return MPSD_PARK;
	}
	if (x->park_refused != NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "%s", x->park_refused);
	mpsd_waiter *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory parking the request");
	w->c = c;
	w->st = x->st;
	w->op = x->op;
	w->session = x->session_id;
	w->owner = x->park_owner;
	w->heap_idx = SIZE_MAX;
	w->deadline = INT64_MAX;
	w->since_ms = mpsd_now_ms();
	if (x->op->timeout_ms > 0)
		w->deadline = mpsd_deadline_after(w->since_ms, x->op->timeout_ms);
	if (w->deadline != INT64_MAX && store_heap_push(x->st, w) != 0) {
		free(w);
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory parking the request");
	}
	w->prev = c->wait_tail;
	if (c->wait_tail != NULL)
		c->wait_tail->next = w;
	else
		c->wait_head = w;
	c->wait_tail = w;
	c->nwaiters++;
	x->st->nwaiters++;
	x->w = w;
	return MPSD_PARK;
}

struct mpsd_waiter_state *mpsd_exec_wstate(mpsd_exec *x)
{
	return x->w != NULL ? &x->w->ws : NULL;
}

mpsd_waiter *mpsd_waiter_first(mpsd_container *c) { return c->wait_head; }
mpsd_waiter *mpsd_waiter_next(mpsd_waiter *w) { return w->next; }
const Mpstore__Op *mpsd_waiter_op(mpsd_waiter *w) { return w->op; }
uint64_t mpsd_waiter_session(mpsd_waiter *w) { return w->session; }
struct mpsd_waiter_state *mpsd_waiter_wstate(mpsd_waiter *w) { return &w->ws; }
void *mpsd_waiter_owner(mpsd_waiter *w) { return w->owner; }
int64_t mpsd_waiter_since(const mpsd_waiter *w) { return w->since_ms; }
int64_t mpsd_waiter_deadline(const mpsd_waiter *w) { return w->deadline; }
mpsd_container *mpsd_waiter_container(mpsd_waiter *w) { return w->c; }

void mpsd_waiter_free(mpsd_waiter *w)
{
	if (w == NULL)
		return;
	mpsd_store *st = w->st;
	if (w->heap_idx != SIZE_MAX)
		store_heap_remove(st, w);
	if (w->c != NULL) {
		mpsd_container *c = w->c;
		if (w->prev != NULL)
			w->prev->next = w->next;
		else
			c->wait_head = w->next;
		if (w->next != NULL)
			w->next->prev = w->prev;
		else
			c->wait_tail = w->prev;
		c->nwaiters--;
	}
	st->nwaiters--;
	free(w);
}

void mpsd_exec_wake(mpsd_exec *x, mpsd_container *c)
{
	store_wake_push(x->st, c);
}

void mpsd_exec_hold(mpsd_exec *x, mpsd_container *c)
{
	/* session_gone visits every container with a session_gone hook, so
	 * nothing needs recording yet; kept as the place to index holders. */
	(void)x;
	(void)c;
}

uint64_t mpsd_exec_token(mpsd_exec *x)
{
	return mpsd_store_next_token(x->st);
}
