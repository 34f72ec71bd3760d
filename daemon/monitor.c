/*
 * monitor.c - OP_MONITOR (`mpstore monitor`, like redis-cli MONITOR):
 * every request the daemon receives, as a line of text, for connections
 * that ask.
 *
 * REQ/REP has no server push, so a monitor long-polls, as OP_CHANGES
 * does: it asks with a cursor (the number of the next line it wants; 0:
 * from now) and a timeout, and is answered with the lines from there as
 * soon as there are any (or empty at the timeout), with the cursor to ask
 * from next. Lines live in one ring shared by all monitors, bounded in
 * lines and bytes; a monitor that falls behind the ring's start has lost
 * lines, and its next answer says how many (Result.count). A slow monitor
 * therefore costs the daemon the ring and nothing else: it is never
 * waited for, and what it does not read is overwritten.
 *
 * Nobody monitoring costs nothing: d->mon exists only while a connection
 * monitors (the request path tests that pointer). A connection stops
 * monitoring when it closes, or when it has not asked for
 * MPSD_MONITOR_IDLE_MS. A monitor's own OP_MONITOR requests are not shown
 * (they would feed themselves). Parked monitors are answered at the
 * loop's top level (mpsd_dispatch_rearm), never from inside a request.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients.h"
#include "dispatch_int.h"
#include "operator.h"
#include "req.h"

#define MON_ANSWER_LINES 1000   /* lines per answer unless Op.count asks fewer or more */
#define MON_ANSWER_MAX   10000
#define MON_ANSWER_BYTES (1u << 20)

typedef struct mon_slot {
	uint32_t  conn;
	int64_t   last_ms;  /* last asked or answered */
	mpsd_req *parked;   /* its waiting OP_MONITOR */
	uint64_t  cursor;   /* ... and the line it waits for */
	int64_t   deadline;
} mon_slot;

struct mpsd_monitor {
	char    *ring[MPSD_MONITOR_LINES]; /* line s at ring[s % MPSD_MONITOR_LINES] */
	uint64_t first, next;              /* lines kept: [first, next) */
	size_t   bytes;
	mon_slot slot[MPSD_MONITORS_MAX];
	size_t   n;
	int      pending; /* lines arrived since parked monitors were answered */
};

/* Line numbers go on across monitors coming and going, so a cursor never
 * means an older line. Loop thread only. */
static uint64_t mon_seq = 1;

static void ring_pop(mpsd_monitor *m)
{
	char **p = &m->ring[m->first % MPSD_MONITOR_LINES];
	m->bytes -= strlen(*p) + 1;
	free(*p);
	*p = NULL;
	m->first++;
}

static void mon_free(mpsd_daemon *d)
{
	mpsd_monitor *m = d->mon;
	while (m->first < m->next)
		ring_pop(m);
	free(m);
	d->mon = NULL;
}

/* ---- lines ---- */

typedef struct line {
	char   b[MPSD_MONITOR_LINE_MAX];
	size_t n;
	int    full;
} line;

static void put(line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(line *l, const char *fmt, ...)
{
	if (l->full)
		return;
	size_t  room = sizeof(l->b) - l->n;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(l->b + l->n, room, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= room - 4) { /* keep room for "..." */
		l->n = sizeof(l->b) - 4;
		memcpy(l->b + l->n, "...", 4);
		l->n += 3;
		l->full = 1;
		return;
	}
	l->n += (size_t)k;
}

/* A string as JSON, at most 64 bytes of it. */
static void put_str(line *l, const char *s)
{
	size_t n = strlen(s);
	put(l, "\"");
	for (size_t i = 0; i < n && i < 64 && !l->full; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			put(l, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			put(l, "\\u%04x", c);
		else
			put(l, "%c", c);
	}
	put(l, n > 64 ? "...\"" : "\"");
}

static void put_value(line *l, const Mpstore__Value *v)
{
	switch (v != NULL ? v->v_case : MPSTORE__VALUE__V__NOT_SET) {
	case MPSTORE__VALUE__V_INT_VALUE: put(l, " %lld", (long long)v->int_value); break;
	case MPSTORE__VALUE__V_DOUBLE_VALUE: put(l, " %.17g", v->double_value); break;
	case MPSTORE__VALUE__V_BOOL_VALUE: put(l, " %s", v->bool_value ? "true" : "false"); break;
	case MPSTORE__VALUE__V_STRING_VALUE:
		put(l, " ");
		put_str(l, v->string_value);
		break;
	case MPSTORE__VALUE__V_BYTES_VALUE: put(l, " <%zu bytes>", v->bytes_value.len); break;
	case MPSTORE__VALUE__V_MESSAGE_VALUE: put(l, " <message, %zu bytes>", v->message_value.len); break;
	default: put(l, " null"); break;
	}
}

static void put_values(line *l, const char *what, Mpstore__Value *const *v, size_t n)
{
	if (n == 0)
		return;
	put(l, " %s[", what);
	for (size_t i = 0; i < n && i < 8; i++)
		put_value(l, v[i]);
	if (n > 8)
		put(l, " ...%zu more", n - 8);
	put(l, "]");
}

/* "OP_LIST_APPEND" -> "list_append" */
static void put_opname(line *l, int code)
{
	const ProtobufCEnumValue *ev =
	    protobuf_c_enum_descriptor_get_value(&mpstore__op_code__descriptor, code);
	if (ev == NULL) {
		put(l, "op%d", code);
		return;
	}
	for (const char *p = ev->name + 3; *p != '\0'; p++)
		put(l, "%c", *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
}

static void put_op(line *l, const Mpstore__Op *op)
{
	put_opname(l, op->code);
	if (op->code == MPSTORE__OP_CODE__OP_HELLO) { /* its name is the client's */
		put(l, " name=");
		put_str(l, op->name != NULL ? op->name : "");
		put(l, " pid=%lld", (long long)op->count);
		return;
	}
	if (op->name != NULL && op->name[0] != '\0') {
		put(l, " ");
		put_str(l, op->name);
	}
	switch (op->code) {
	case MPSTORE__OP_CODE__OP_AUTH: put(l, " <mac>"); return;  /* never shown */
	case MPSTORE__OP_CODE__OP_REGISTER_SCHEMA: put(l, " <%zu bytes>", op->data.len); return;
	default: break;
	}
	if (op->key != NULL)
		put_value(l, op->key);
	if (op->value != NULL)
		put_value(l, op->value);
	put_values(l, "keys", op->keys, op->n_keys);
	put_values(l, "values", op->values, op->n_values);
	if (op->expected != NULL) {
		put(l, " expected");
		put_value(l, op->expected);
	}
	if (op->index != 0)
		put(l, " index=%lld", (long long)op->index);
	if (op->flags & MPSTORE__OP_FLAG__FLAG_HAS_STOP)
		put(l, " stop=%lld", (long long)op->stop);
	if (op->count != 0)
		put(l, " count=%lld", (long long)op->count);
	if (op->timeout_ms != 0)
		put(l, " timeout_ms=%lld", (long long)op->timeout_ms);
	if (op->from_revision != 0)
		put(l, " from=%llu", (unsigned long long)op->from_revision);
	if (op->code == MPSTORE__OP_CODE__OP_CREATE)
		put(l, " kind=%d type=%d", (int)op->kind, (int)op->elem_type);
}

static void put_ops(line *l, Mpstore__Op *const *ops, size_t n)
{
	for (size_t i = 0; i < n && !l->full; i++) {
		if (i > 0)
			put(l, " | ");
		put_op(l, ops[i]);
	}
}

static int only_monitor(const Mpstore__Request *rq)
{
	if (rq->txn != NULL || rq->n_ops == 0)
		return 0;
	for (size_t i = 0; i < rq->n_ops; i++)
		if (rq->ops[i]->code != MPSTORE__OP_CODE__OP_MONITOR)
			return 0;
	return 1;
}

void mpsd_monitor_record(mpsd_daemon *d, const mpsd_req *r)
{
	mpsd_monitor           *m = d->mon;
	const Mpstore__Request *rq = r->rq;
	if (only_monitor(rq))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	line l;
	l.n = 0;
	l.full = 0;
	put(&l, "%lld.%06ld [%u ", (long long)ts.tv_sec, ts.tv_nsec / 1000,
	    (unsigned)(r->cl != NULL ? r->cl->id : r->peer.id));
	if (r->cl != NULL && r->cl->name[0] != '\0')
		put(&l, "%s", r->cl->name);
	else
		put(&l, "-");
	int64_t pid = r->cl == NULL ? 0 : r->cl->hello_pid ? r->cl->hello_pid : r->cl->pid;
	if (pid != 0)
		put(&l, " %lld", (long long)pid);
	put(&l, "] ");
	if (rq->txn != NULL) {
		put(&l, "txn compares=%zu then: ", rq->txn->n_compare);
		put_ops(&l, rq->txn->success, rq->txn->n_success);
		put(&l, " else: ");
		put_ops(&l, rq->txn->failure, rq->txn->n_failure);
	} else {
		put_ops(&l, rq->ops, rq->n_ops);
	}
	char *s = malloc(l.n + 1);
	if (s == NULL)
		return; /* lost, like a line overwritten: the next one tells */
	memcpy(s, l.b, l.n + 1);
	while (m->next - m->first == MPSD_MONITOR_LINES || m->bytes + l.n + 1 > MPSD_MONITOR_BYTES)
		ring_pop(m);
	m->ring[m->next % MPSD_MONITOR_LINES] = s;
	m->bytes += l.n + 1;
	m->next = ++mon_seq;
	m->pending = 1;
}

/* ---- the op ---- */

static mon_slot *slot_of(mpsd_monitor *m, uint32_t conn)
{
	for (size_t i = 0; m != NULL && i < m->n; i++)
		if (m->slot[i].conn == conn)
			return &m->slot[i];
	return NULL;
}

static void slot_remove(mpsd_daemon *d, mon_slot *s)
{
	mpsd_monitor *m = d->mon;
	*s = m->slot[--m->n];
	if (m->n == 0)
		mon_free(d);
}

/* The lines from cursor into x's result. */
static int answer_lines(mpsd_daemon *d, mpsd_exec *x, uint64_t cursor)
{
	mpsd_monitor *m = d->mon;
	uint64_t      from = cursor < m->first ? m->first : cursor;
	int64_t       want = x->op->count > 0 ? x->op->count : MON_ANSWER_LINES;
	size_t        max = (size_t)(want > MON_ANSWER_MAX ? MON_ANSWER_MAX : want), n = 0, bytes = 0;
	size_t        avail = from < m->next ? (size_t)(m->next - from) : 0;
	if ((x->res->values = mpsd_exec_vals(x, avail < max ? avail : max)) == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	for (uint64_t s = from; s < m->next && n < max && bytes < MON_ANSWER_BYTES; s++) {
		const char     *ln = m->ring[s % MPSD_MONITOR_LINES];
		Mpstore__Value *v = mpsd_exec_alloc(x, sizeof(*v));
		if (v == NULL)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
		mpstore__value__init(v);
		v->v_case = MPSTORE__VALUE__V_STRING_VALUE;
		v->string_value = (char *)mpsd_arena_memdup(x->arena, ln, strlen(ln));
		if (v->string_value == NULL)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
		x->res->values[n++] = v;
		bytes += strlen(ln);
	}
	x->res->n_values = n;
	x->res->count = (int64_t)(from - cursor); /* lost: overwritten before it asked */
	x->res->next = (int64_t)(from + n);
	return 0;
}

/* MONITOR from_revision (cursor, 0: now), timeout_ms, count -> values, next, count (lost) */
int mpsd_monitor_op(mpsd_daemon *d, mpsd_req *r, mpsd_exec *x)
{
	if (r == NULL || r->cl == NULL || x->in_txn)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
		    "OP_MONITOR needs a connection of its own (not in a txn)");
	int64_t   now = mpsd_now_ms();
	mon_slot *s = slot_of(d->mon, r->cl->id);
	if (s == NULL) {
		if (d->mon != NULL && d->mon->n == MPSD_MONITORS_MAX)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT,
			    "at most %d connections monitor at once", MPSD_MONITORS_MAX);
		if (d->mon == NULL) {
			if ((d->mon = calloc(1, sizeof(*d->mon))) == NULL)
				return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
			d->mon->first = d->mon->next = mon_seq;
		}
		s = &d->mon->slot[d->mon->n++];
		memset(s, 0, sizeof(*s));
		s->conn = r->cl->id;
		if (d->cfg.verbose)
			mpsd_log("connection %08x monitors", s->conn);
	}
	s->last_ms = now;
	mpsd_monitor *m = d->mon;
	uint64_t      cursor = s->parked == r ? s->cursor : x->op->from_revision;
	if (cursor == 0 || cursor > m->next)
		cursor = m->next; /* from now (a cursor from the future too: another run's) */
	if (cursor < m->next || x->op->timeout_ms == 0 || x->expired || r->rq->n_ops != 1 || (s->parked != NULL && s->parked != r)) {
		if (s->parked == r)
			s->parked = NULL;
		return answer_lines(d, x, cursor);
	}
	if (s->parked == NULL) {
		if (x->park_refused != NULL)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "%s", x->park_refused);
		int64_t t = x->op->timeout_ms;
		s->parked = r;
		s->cursor = cursor;
		s->deadline = t < 0 || t > INT64_MAX - now ? INT64_MAX : now + t;
	}
	return MPSD_PARK;
}

/* Answer the parked monitors that have lines, or whose deadline passed. */
static void run(mpsd_daemon *d, int64_t now)
{
	mpsd_store_lock(d->st);
	for (size_t i = 0; d->mon != NULL && i < d->mon->n; i++) {
		mon_slot *s = &d->mon->slot[i];
		mpsd_req *r = s->parked;
		if (r != NULL && (s->cursor < d->mon->next || now >= s->deadline) &&
		    dispatch_rerun(d, r, now >= s->deadline) != MPSD_PARK)
			dispatch_resumed(d, r); /* answered */
	}
	if (d->mon != NULL)
		d->mon->pending = 0;
	mpsd_store_unlock(d->st);
}

void mpsd_monitor_pending(mpsd_daemon *d)
{
	if (d->mon != NULL && d->mon->pending)
		run(d, mpsd_now_ms());
}

void mpsd_monitor_tick(mpsd_daemon *d, int64_t now)
{
	if (d->mon == NULL)
		return;
	run(d, now);
	for (size_t i = 0; d->mon != NULL && i < d->mon->n;) {
		mon_slot *s = &d->mon->slot[i];
		if (s->parked == NULL && now - s->last_ms > MPSD_MONITOR_IDLE_MS)
			slot_remove(d, s); /* moves the last slot here: look at i again */
		else
			i++;
	}
}

void mpsd_monitor_drop(mpsd_daemon *d, mpsd_req *r)
{
	for (size_t i = 0; d->mon != NULL && i < d->mon->n; i++)
		if (d->mon->slot[i].parked == r)
			d->mon->slot[i].parked = NULL;
}

void mpsd_monitor_conn_gone(mpsd_daemon *d, uint32_t conn)
{
	mon_slot *s = slot_of(d->mon, conn);
	if (s != NULL)
		slot_remove(d, s);
}

void mpsd_monitor_stop(mpsd_daemon *d)
{
	if (d->mon != NULL)
		mon_free(d);
}

void mpsd_monitor_stats(const mpsd_daemon *d, uint64_t *lines, size_t *kept, size_t *monitors)
{
	*lines = mon_seq - 1;
	*kept = d->mon != NULL ? (size_t)(d->mon->next - d->mon->first) : 0;
	*monitors = d->mon != NULL ? d->mon->n : 0;
}
