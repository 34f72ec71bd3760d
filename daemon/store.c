/* store.c - the container registry, revisions, the admin ops and wake-ups. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define MPSD_NAME_MAX 255

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h | 1; /* 0 marks an empty slot */
}

#define TOMB ((mpsd_container *)(uintptr_t)1)

mpsd_store *mpsd_store_alloc(void)
{
	mpsd_store *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	pthread_mutex_init(&st->mtx, NULL);
	st->nslots = 64;
	st->slots = calloc(st->nslots, sizeof(store_slot));
	if (st->slots == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

static void container_free(mpsd_store *st, mpsd_container *c)
{
	/* waiters of a deleted container are answered later (ERR_NOT_FOUND) */
	mpsd_waiter *w = c->wait_head;
	while (w != NULL) {
		mpsd_waiter *n = w->next;
		w->c = NULL;
		w->prev = w->next = NULL;
		if (st != NULL && !w->orphan_queued) {
			w->orphan_queued = 1;
			w->orphan_next = st->orphans;
			st->orphans = w;
		}
		w = n;
	}
	c->wait_head = c->wait_tail = NULL;
	/* a change just made to it may have queued it for a wake-up */
	for (size_t i = 0; st != NULL && c->wake_pending && i < st->nwake; i++)
		if (st->wakeq[i] == c) {
			memmove(st->wakeq + i, st->wakeq + i + 1, (st->nwake - i - 1) * sizeof(*st->wakeq));
			st->nwake--;
			break;
		}
	if (c->k != NULL && c->k->fini != NULL)
		c->k->fini(c);
	free(c->name);
	free(c->message_type);
	free(c);
}

void mpsd_store_free(mpsd_store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nslots; i++)
		if (st->slots[i].c != NULL && st->slots[i].c != TOMB)
			container_free(st, st->slots[i].c);
	while (st->orphans != NULL) {
		mpsd_waiter *w = st->orphans;
		st->orphans = w->orphan_next;
		free(w);
	}
	free(st->slots);
	free(st->heap);
	free(st->wakeq);
	pthread_mutex_destroy(&st->mtx);
	free(st);
}

void mpsd_store_lock(mpsd_store *st) { pthread_mutex_lock(&st->mtx); }
void mpsd_store_unlock(mpsd_store *st) { pthread_mutex_unlock(&st->mtx); }
uint64_t mpsd_store_revision(const mpsd_store *st) { return st->revision; }
void mpsd_store_set_revision(mpsd_store *st, uint64_t rev) { st->revision = rev; }
uint64_t mpsd_store_next_revision(mpsd_store *st) { return ++st->revision; }
uint64_t mpsd_store_next_token(mpsd_store *st) { return ++st->token; }
void mpsd_store_set_token(mpsd_store *st, uint64_t t) { if (t > st->token) st->token = t; }
uint64_t mpsd_store_token(const mpsd_store *st) { return st->token; }
size_t mpsd_store_count(const mpsd_store *st) { return st->count; }
size_t mpsd_store_nwaiters(const mpsd_store *st) { return st->nwaiters; }

void mpsd_store_set_msg_check(mpsd_store *st, mpsd_msg_check_fn fn, void *arg)
{
	st->msg_check = fn;
	st->msg_check_arg = arg;
}

int mpsd_store_msg_check(mpsd_store *st, const char *type, const uint8_t *data, size_t len,
    char *err, size_t errlen)
{
	if (st->msg_check == NULL) {
		snprintf(err, errlen, "no schema loaded that defines message type '%s'", type);
		return MPSTORE__STATUS__ERR_SCHEMA;
	}
	return st->msg_check(st->msg_check_arg, type, data, len, err, errlen);
}

void mpsd_store_set_schema_hooks(mpsd_store *st, const mpsd_schema_hooks *hooks, void *arg)
{
	if (hooks != NULL)
		st->schema = *hooks;
	else
		memset(&st->schema, 0, sizeof(st->schema));
	st->schema_arg = arg;
}

int mpsd_store_dump_schema(mpsd_store *st, mpsd_emit_fn emit, void *arg)
{
	uint8_t *set = NULL;
	size_t   len = 0;
	if (st->schema.dump == NULL)
		return 0;
	if (st->schema.dump(st->schema_arg, &set, &len) != 0)
		return ENOMEM;
	if (len == 0) {
		free(set);
		return 0;
	}
	Mpstore__Value  v;
	Mpstore__Change ch;
	mpstore__value__init(&v);
	mpstore__change__init(&ch);
	v.v_case = MPSTORE__VALUE__V_BYTES_VALUE;
	v.bytes_value.data = set;
	v.bytes_value.len = len;
	ch.type = MPSTORE__CHANGE_TYPE__CH_SCHEMA;
	ch.name = (char *)"";
	ch.value = &v;
	int rv = emit(arg, &ch);
	free(set);
	return rv;
}

/* ---- name table ---- */

static store_slot *slot_find(const mpsd_store *st, const char *name, uint64_t h)
{
	size_t mask = st->nslots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		store_slot *s = &st->slots[i];
		if (s->c == NULL)
			return NULL;
		if (s->c != TOMB && s->hash == h && strcmp(s->c->name, name) == 0)
			return s;
	}
}

mpsd_container *mpsd_store_find(mpsd_store *st, const char *name)
{
	store_slot *s = slot_find(st, name, name_hash(name));
	return s != NULL ? s->c : NULL;
}

static int table_grow(mpsd_store *st)
{
	size_t      n = st->nslots * 2;
	store_slot *ns = calloc(n, sizeof(*ns));
	if (ns == NULL)
		return ENOMEM;
	for (size_t i = 0; i < st->nslots; i++) {
		store_slot *s = &st->slots[i];
		if (s->c == NULL || s->c == TOMB)
			continue;
		size_t j = s->hash & (n - 1);
		while (ns[j].c != NULL)
			j = (j + 1) & (n - 1);
		ns[j] = *s;
	}
	free(st->slots);
	st->slots = ns;
	st->nslots = n;
	st->tombs = 0;
	return 0;
}

static int table_insert(mpsd_store *st, mpsd_container *c)
{
	if ((st->count + st->tombs + 1) * 4 >= st->nslots * 3 && table_grow(st) != 0)
		return ENOMEM;
	uint64_t h = name_hash(c->name);
	size_t   mask = st->nslots - 1;
	size_t   i = h & mask;
	while (st->slots[i].c != NULL && st->slots[i].c != TOMB)
		i = (i + 1) & mask;
	if (st->slots[i].c == TOMB)
		st->tombs--;
	st->slots[i].c = c;
	st->slots[i].hash = h;
	st->count++;
	return 0;
}

static void table_remove(mpsd_store *st, mpsd_container *c)
{
	store_slot *s = slot_find(st, c->name, name_hash(c->name));
	if (s != NULL) {
		s->c = TOMB;
		st->count--;
		st->tombs++;
	}
}

static int cmp_container(const void *a, const void *b)
{
	const mpsd_container *x = *(mpsd_container *const *)a;
	const mpsd_container *y = *(mpsd_container *const *)b;
	return strcmp(x->name, y->name);
}

int mpsd_store_foreach(mpsd_store *st, int (*fn)(void *arg, mpsd_container *c), void *arg)
{
	if (st->count == 0)
		return 0;
	mpsd_container **v = malloc(st->count * sizeof(*v));
	if (v == NULL)
		return ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < st->nslots; i++)
		if (st->slots[i].c != NULL && st->slots[i].c != TOMB)
			v[n++] = st->slots[i].c;
	qsort(v, n, sizeof(*v), cmp_container);
	int rv = 0;
	for (size_t i = 0; i < n && rv == 0; i++)
		rv = fn(arg, v[i]);
	free(v);
	return rv;
}

void mpsd_store_info(const mpsd_container *c, Mpstore__ContainerInfo *info)
{
	mpstore__container_info__init(info);
	info->name = c->name;
	info->kind = c->k->kind;
	info->elem_type = c->elem_type;
	info->key_type = c->key_type;
	info->message_type = c->message_type;
	info->length = c->k->length != NULL ? c->k->length(c) : 0;
	info->revision = c->revision;
	info->capacity = c->capacity;
}

static Mpstore__ContainerInfo *info_copy(mpsd_exec *x, const mpsd_container *c)
{
	Mpstore__ContainerInfo *i = mpsd_exec_alloc(x, sizeof(*i));
	if (i == NULL)
		return NULL;
	mpsd_store_info(c, i);
	i->name = mpsd_arena_memdup(x->arena, c->name, strlen(c->name));
	i->message_type = mpsd_arena_memdup(x->arena, c->message_type, strlen(c->message_type));
	return i;
}

/* ---- create / delete ---- */

static int name_check(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);
	if (n == 0 || n > MPSD_NAME_MAX) {
		snprintf(err, errlen, "container name must be 1 to %d bytes", MPSD_NAME_MAX);
		return MPSTORE__STATUS__ERR_INVALID;
	}
	if (name[n - 1] == '*') {
		snprintf(err, errlen, "container name may not end with '*' (that means a prefix)");
		return MPSTORE__STATUS__ERR_INVALID;
	}
	return 0;
}

int mpsd_store_create(mpsd_store *st, const Mpstore__Op *op, mpsd_container **out, char *err,
    size_t errlen)
{
	*out = NULL;
	int rv = name_check(op->name, err, errlen);
	if (rv != 0)
		return rv;
	const mpsd_kind *k = mpsd_kind_find(op->kind);
	if (k == NULL) {
		snprintf(err, errlen, "unknown or unsupported container kind %d", (int)op->kind);
		return MPSTORE__STATUS__ERR_INVALID;
	}
	if ((unsigned)op->elem_type > MPSTORE__ELEM_TYPE__TYPE_MESSAGE ||
	    (unsigned)op->key_type > MPSTORE__KEY_TYPE__KEY_INT64) {
		snprintf(err, errlen, "unknown element or key type");
		return MPSTORE__STATUS__ERR_INVALID;
	}
	const char *mt = op->message_type != NULL ? op->message_type : "";
	if (mt[0] == '.')
		mt++;
	if (op->elem_type == MPSTORE__ELEM_TYPE__TYPE_MESSAGE && mt[0] == '\0') {
		snprintf(err, errlen, "element type message needs a message type name");
		return MPSTORE__STATUS__ERR_INVALID;
	}
	if (op->elem_type != MPSTORE__ELEM_TYPE__TYPE_MESSAGE)
		mt = "";
	mpsd_container *c = mpsd_store_find(st, op->name);
	if (c != NULL) {
		if (c->k == k && c->elem_type == op->elem_type && c->key_type == op->key_type &&
		    strcmp(c->message_type, mt) == 0) {
			*out = c;
			return 0; /* idempotent */
		}
		snprintf(err, errlen, "'%s' exists as a %s of %s%s%s", c->name, c->k->name,
		    mpsd_elem_type_name(c->elem_type), c->message_type[0] ? " " : "", c->message_type);
		return MPSTORE__STATUS__ERR_EXISTS;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->name = strdup(op->name)) == NULL ||
	    (c->message_type = strdup(mt)) == NULL) {
		if (c != NULL) {
			free(c->name);
			free(c);
		}
		snprintf(err, errlen, "out of memory");
		return MPSTORE__STATUS__ERR_LIMIT;
	}
	c->k = k;
	c->elem_type = op->elem_type;
	c->key_type = op->key_type;
	c->capacity = op->count;
	rv = k->init(c, op, err, errlen);
	if (rv == 0 && table_insert(st, c) != 0) {
		snprintf(err, errlen, "out of memory");
		rv = MPSTORE__STATUS__ERR_LIMIT;
		k->fini(c);
	}
	if (rv != 0) {
		free(c->name);
		free(c->message_type);
		free(c);
		return rv;
	}
	*out = c;
	return 0;
}

static void store_delete(mpsd_store *st, mpsd_container *c)
{
	table_remove(st, c);
	container_free(st, c);
}

/* ---- admin ops ---- */

/* create NAME KIND [TYPE]: flag = true when it was created now */
static int op_create(mpsd_exec *x)
{
	char            err[400];
	mpsd_container *c = mpsd_store_find(x->st, x->op->name);
	int             existed = c != NULL;
	int             rv;
	if (!existed && x->op->elem_type == MPSTORE__ELEM_TYPE__TYPE_MESSAGE &&
	    x->st->schema.check_type != NULL && x->op->message_type != NULL &&
	    x->op->message_type[0] != '\0') {
		rv = x->st->schema.check_type(x->st->schema_arg, x->op->message_type, err, sizeof(err));
		if (rv != 0)
			return mpsd_exec_fail(x, (Mpstore__Status)rv, "%s", err);
	}
	rv = mpsd_store_create(x->st, x->op, &c, err, sizeof(err));
	if (rv != 0)
		return mpsd_exec_fail(x, (Mpstore__Status)rv, "%s", err);
	x->res->flag = !existed;
	x->res->info = info_copy(x, c);
	if (existed) {
		x->res->revision = c->revision;
		return 0;
	}
	Mpstore__Change *ch = mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_CREATE);
	if (ch == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	if (x->op->value != NULL)
		ch->value = mpsd_exec_pbval(x, x->op->value);
	ch->info = info_copy(x, c);
	x->res->info->revision = c->revision;
	return 0;
}

/* delete NAME */
static int op_delete(mpsd_exec *x, mpsd_container *c)
{
	if (mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_DELETE) == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	store_delete(x->st, c);
	x->res->flag = 1;
	return 0;
}

typedef struct ls_ctx {
	mpsd_exec  *x;
	const char *prefix;
	size_t      plen;
	size_t      n;
	int         oom;
} ls_ctx;

static int ls_visit(void *arg, mpsd_container *c)
{
	ls_ctx *l = arg;
	if (strncmp(c->name, l->prefix, l->plen) != 0)
		return 0;
	Mpstore__ContainerInfo *i = info_copy(l->x, c);
	if (i == NULL) {
		l->oom = 1;
		return 1;
	}
	l->x->res->containers[l->n++] = i;
	return 0;
}

/* ls [PREFIX] */
static int op_ls(mpsd_exec *x)
{
	ls_ctx l = {x, x->op->name ? x->op->name : "", 0, 0, 0};
	l.plen = strlen(l.prefix);
	if (l.plen > 0 && l.prefix[l.plen - 1] == '*')
		l.plen--;
	x->res->containers = mpsd_exec_alloc(x, (x->st->count + 1) * sizeof(void *));
	if (x->res->containers == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	mpsd_store_foreach(x->st, ls_visit, &l);
	if (l.oom)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	x->res->n_containers = l.n;
	x->res->revision = x->st->revision;
	return 0;
}

/* Deep copy of a change into the arena (dump output outlives the lock). */
static Mpstore__Value **copy_vals(mpsd_exec *x, Mpstore__Value *const *v, size_t n)
{
	Mpstore__Value **o = mpsd_exec_vals(x, n);
	for (size_t i = 0; o != NULL && i < n; i++)
		if ((o[i] = mpsd_exec_pbval(x, v[i])) == NULL)
			return NULL;
	return o;
}

static Mpstore__Change *copy_change(mpsd_exec *x, const Mpstore__Change *s)
{
	Mpstore__Change *d = mpsd_exec_alloc(x, sizeof(*d));
	if (d == NULL)
		return NULL;
	*d = *s;
	d->name = mpsd_arena_memdup(x->arena, s->name, strlen(s->name));
	d->value = s->value != NULL ? mpsd_exec_pbval(x, s->value) : NULL;
	d->keys = s->n_keys ? copy_vals(x, s->keys, s->n_keys) : NULL;
	d->values = s->n_values ? copy_vals(x, s->values, s->n_values) : NULL;
	if (s->info != NULL) {
		d->info = mpsd_exec_alloc(x, sizeof(*d->info));
		if (d->info == NULL)
			return NULL;
		*d->info = *s->info;
		d->info->name = mpsd_arena_memdup(x->arena, s->info->name, strlen(s->info->name));
		d->info->message_type = mpsd_arena_memdup(
		    x->arena, s->info->message_type, strlen(s->info->message_type));
	}
	if ((s->n_keys && d->keys == NULL) || (s->n_values && d->values == NULL))
		return NULL;
	return d;
}

typedef struct dump_ctx {
	mpsd_exec        *x;
	Mpstore__Change **v;
	size_t            n, cap;
} dump_ctx;

static int dump_collect(void *arg, const Mpstore__Change *ch)
{
	dump_ctx *d = arg;
	if (d->n == d->cap) {
		size_t            ncap = d->cap ? d->cap * 2 : 4;
		Mpstore__Change **nv = mpsd_exec_alloc(d->x, ncap * sizeof(*nv));
		if (nv == NULL)
			return ENOMEM;
		if (d->n)
			memcpy(nv, d->v, d->n * sizeof(*nv));
		d->v = nv;
		d->cap = ncap;
	}
	if ((d->v[d->n] = copy_change(d->x, ch)) == NULL)
		return ENOMEM;
	d->n++;
	return 0;
}

typedef struct dump_wrap {
	const mpsd_container *c;
	mpsd_emit_fn          emit;
	void                 *arg;
} dump_wrap;

static int dump_with_info(void *arg, const Mpstore__Change *ch)
{
	dump_wrap *w = arg;
	if (ch->type != MPSTORE__CHANGE_TYPE__CH_RESYNC)
		return w->emit(w->arg, ch);
	Mpstore__Change        c2 = *ch;
	Mpstore__ContainerInfo info;
	mpsd_store_info(w->c, &info);
	c2.info = &info;
	c2.name = w->c->name;
	c2.kind = w->c->k->kind;
	c2.revision = w->c->revision;
	return w->emit(w->arg, &c2);
}

int mpsd_store_dump(mpsd_store *st, mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg)
{
	(void)st;
	dump_wrap w = {c, emit, arg};
	return c->k->dump(c, chunk, dump_with_info, &w);
}

/* dump NAME: the whole state as change records, at one revision */
static int op_dump(mpsd_exec *x, mpsd_container *c)
{
	dump_ctx d = {x, NULL, 0, 0};
	if (mpsd_store_dump(x->st, c, 65536, dump_collect, &d) != 0)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	x->res->changes = d.v;
	x->res->n_changes = d.n;
	x->res->info = info_copy(x, c);
	x->res->revision = x->st->revision;
	return 0;
}

/* ---- running ops ---- */

int mpsd_store_exec(mpsd_store *st, mpsd_exec *x)
{
	const Mpstore__Op *op = x->op;
	if (op->code == MPSTORE__OP_CODE__OP_CREATE)
		return op_create(x);
	if (op->code == MPSTORE__OP_CODE__OP_LIST_CONTAINERS)
		return op_ls(x);
	if (op->name == NULL || op->name[0] == '\0')
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID, "operation needs a container name");
	mpsd_container *c = mpsd_store_find(st, op->name);
	if (c == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_NOT_FOUND, "no container named '%s'",
		    op->name);
	switch (op->code) {
	case MPSTORE__OP_CODE__OP_DELETE: return op_delete(x, c);
	case MPSTORE__OP_CODE__OP_INFO:
		x->res->info = info_copy(x, c);
		x->res->revision = c->revision;
		return 0;
	case MPSTORE__OP_CODE__OP_DUMP: return op_dump(x, c);
	default: break;
	}
	for (const mpsd_opdef *d = c->k->ops; d != NULL && d->code != 0; d++)
		if (d->code == op->code)
			return d->fn(x, c);
	return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_WRONG_KIND,
	    "operation %d does not apply to '%s', a %s", (int)op->code, c->name, c->k->name);
}

/* Is this op one that may change state? (for read-only mode and dedupe) */
int mpsd_store_op_writes(mpsd_store *st, const Mpstore__Op *op)
{
	switch (op->code) {
	case MPSTORE__OP_CODE__OP_CREATE:
	case MPSTORE__OP_CODE__OP_DELETE: return 1;
	case MPSTORE__OP_CODE__OP_LIST_CONTAINERS:
	case MPSTORE__OP_CODE__OP_INFO:
	case MPSTORE__OP_CODE__OP_DUMP: return 0;
	default: break;
	}
	mpsd_container *c = op->name != NULL ? mpsd_store_find(st, op->name) : NULL;
	if (c == NULL)
		return 0;
	for (const mpsd_opdef *d = c->k->ops; d != NULL && d->code != 0; d++)
		if (d->code == op->code)
			return (d->flags & MPSD_OPF_WRITE) != 0;
	return 0;
}

/* ---- recovery ---- */

/* A registered schema (CH_SCHEMA): no container, the registry takes it. */
static int apply_schema(mpsd_store *st, const Mpstore__Change *ch, char *err, size_t errlen)
{
	if (st->schema.apply == NULL) {
		snprintf(err, errlen, "change %llu registers a schema, but this daemon has no schema support",
		    (unsigned long long)ch->revision);
		return MPSTORE__STATUS__ERR_SCHEMA;
	}
	if (ch->value == NULL || ch->value->v_case != MPSTORE__VALUE__V_BYTES_VALUE) {
		snprintf(err, errlen, "schema change %llu carries no descriptor set",
		    (unsigned long long)ch->revision);
		return MPSTORE__STATUS__ERR_INVALID;
	}
	int rv = st->schema.apply(st->schema_arg, ch->value->bytes_value.data,
	    ch->value->bytes_value.len, err, errlen);
	if (rv == 0 && ch->revision > st->revision)
		st->revision = ch->revision;
	return rv;
}

int mpsd_store_apply(mpsd_store *st, const Mpstore__Change *ch, char *err, size_t errlen)
{
	if (ch->type == MPSTORE__CHANGE_TYPE__CH_SCHEMA)
		return apply_schema(st, ch, err, errlen);
	mpsd_container *c = ch->name != NULL ? mpsd_store_find(st, ch->name) : NULL;
	int             rv = 0;
	if (ch->type == MPSTORE__CHANGE_TYPE__CH_CREATE ||
	    (ch->type == MPSTORE__CHANGE_TYPE__CH_RESYNC && c == NULL)) {
		if (ch->info == NULL) {
			snprintf(err, errlen, "change %llu creates '%s' without its description",
			    (unsigned long long)ch->revision, ch->name);
			return MPSTORE__STATUS__ERR_INVALID;
		}
		if (c != NULL && ch->type == MPSTORE__CHANGE_TYPE__CH_CREATE)
			store_delete(st, c); /* a create after a lost delete: start afresh */
		Mpstore__Op op;
		mpstore__op__init(&op);
		op.code = MPSTORE__OP_CODE__OP_CREATE;
		op.name = ch->name;
		op.kind = ch->info->kind;
		op.elem_type = ch->info->elem_type;
		op.key_type = ch->info->key_type;
		op.message_type = ch->info->message_type;
		op.count = ch->info->capacity;
		op.value = ch->value;
		rv = mpsd_store_create(st, &op, &c, err, errlen);
		if (rv != 0)
			return rv;
		if (ch->type == MPSTORE__CHANGE_TYPE__CH_RESYNC)
			rv = c->k->apply(c, ch, err, errlen);
	} else if (c == NULL) {
		snprintf(err, errlen, "change %llu to missing container '%s'",
		    (unsigned long long)ch->revision, ch->name ? ch->name : "");
		return MPSTORE__STATUS__ERR_NOT_FOUND;
	} else if (ch->type == MPSTORE__CHANGE_TYPE__CH_DELETE) {
		store_delete(st, c);
		c = NULL;
	} else {
		rv = c->k->apply(c, ch, err, errlen);
	}
	if (rv == 0 && c != NULL && ch->revision > c->revision)
		c->revision = ch->revision;
	if (ch->revision > st->revision)
		st->revision = ch->revision;
	return rv;
}

/* ---- waiters: deadline heap and wake-ups ---- */

static void heap_set(mpsd_store *st, size_t i, mpsd_waiter *w)
{
	st->heap[i] = w;
	w->heap_idx = i;
}

static void heap_up(mpsd_store *st, size_t i)
{
	mpsd_waiter *w = st->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (st->heap[p]->deadline <= w->deadline)
			break;
		heap_set(st, i, st->heap[p]);
		i = p;
	}
	heap_set(st, i, w);
}

static void heap_down(mpsd_store *st, size_t i)
{
	mpsd_waiter *w = st->heap[i];
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l >= st->nheap)
			break;
		m = l;
		if (l + 1 < st->nheap && st->heap[l + 1]->deadline < st->heap[l]->deadline)
			m = l + 1;
		if (st->heap[m]->deadline >= w->deadline)
			break;
		heap_set(st, i, st->heap[m]);
		i = m;
	}
	heap_set(st, i, w);
}

int store_heap_push(mpsd_store *st, mpsd_waiter *w)
{
	if (st->nheap == st->capheap) {
		size_t        n = st->capheap ? st->capheap * 2 : 64;
		mpsd_waiter **h = realloc(st->heap, n * sizeof(*h));
		if (h == NULL)
			return ENOMEM;
		st->heap = h;
		st->capheap = n;
	}
	st->heap[st->nheap] = w;
	w->heap_idx = st->nheap++;
	heap_up(st, w->heap_idx);
	return 0;
}

void store_heap_remove(mpsd_store *st, mpsd_waiter *w)
{
	size_t i = w->heap_idx;
	w->heap_idx = SIZE_MAX;
	st->nheap--;
	if (i == st->nheap)
		return;
	heap_set(st, i, st->heap[st->nheap]);
	heap_up(st, i);
	heap_down(st, st->heap[i]->heap_idx);
}

int64_t mpsd_store_next_deadline(const mpsd_store *st)
{
	return st->nheap ? st->heap[0]->deadline : INT64_MAX;
}

void store_wake_push(mpsd_store *st, mpsd_container *c)
{
	if (c->wake_pending || c->wait_head == NULL)
		return;
	if (st->nwake == st->capwake) {
		size_t           n = st->capwake ? st->capwake * 2 : 16;
		mpsd_container **q = realloc(st->wakeq, n * sizeof(*q));
		if (q == NULL)
			return; /* waiters still get their deadline */
		st->wakeq = q;
		st->capwake = n;
	}
	c->wake_pending = 1;
	st->wakeq[st->nwake++] = c;
}

static void run_orphans(mpsd_store *st, mpsd_resume_fn fn)
{
	while (st->orphans != NULL) {
		mpsd_waiter *w = st->orphans;
		st->orphans = w->orphan_next;
		w->orphan_queued = 0;
		fn(w->owner, w, 0);
	}
}

void mpsd_store_run_wakeups(mpsd_store *st, mpsd_resume_fn fn)
{
	run_orphans(st, fn);
	/* bounded: every round either answers a waiter or stops at a re-park */
	for (size_t round = 0; st->nwake > 0 && round < 1000000; round++) {
		mpsd_container *c = st->wakeq[0];
		memmove(st->wakeq, st->wakeq + 1, (st->nwake - 1) * sizeof(*st->wakeq));
		st->nwake--;
		c->wake_pending = 0;
		mpsd_waiter *w = c->wait_head;
		while (w != NULL) {
			mpsd_waiter *next = w->next;
			int          rv = fn(w->owner, w, 0);
			if (st->orphans != NULL) { /* the container went away */
				run_orphans(st, fn);
				break;
			}
			if (rv == MPSD_PARK && !c->k->wake_all)
				break;
			w = next;
		}
		run_orphans(st, fn);
	}
}

void mpsd_store_expire(mpsd_store *st, int64_t now_ms, mpsd_resume_fn fn)
{
	while (st->nheap > 0 && st->heap[0]->deadline <= now_ms) {
		mpsd_waiter *w = st->heap[0];
		store_heap_remove(st, w);
		w->deadline = INT64_MAX;
		fn(w->owner, w, 1);
	}
	mpsd_store_run_wakeups(st, fn);
}

typedef struct gone_ctx {
	mpsd_exec *x;
	uint64_t   sid;
} gone_ctx;

static int gone_visit(void *arg, mpsd_container *c)
{
	gone_ctx *g = arg;
	if (c->k->session_gone != NULL)
		c->k->session_gone(g->x, c, g->sid);
	return 0;
}

void mpsd_store_session_gone(mpsd_store *st, mpsd_exec *x, uint64_t sid, void (*drop)(void *owner))
{
	if (sid == 0)
		return;
	/* waiters of the session: forgotten, never answered */
	for (size_t i = 0; i < st->nslots; i++) {
		mpsd_container *c = st->slots[i].c;
		if (c == NULL || c == TOMB)
			continue;
		mpsd_waiter *w = c->wait_head;
		while (w != NULL) {
			mpsd_waiter *n = w->next;
			if (w->session == sid) {
				void *owner = w->owner;
				mpsd_waiter_free(w);
				if (drop != NULL)
					drop(owner);
				store_wake_push(st, c); /* e.g. a queue slot it was blocking */
			}
			w = n;
		}
	}
	gone_ctx g = {x, sid};
	mpsd_store_foreach(st, gone_visit, &g);
}
