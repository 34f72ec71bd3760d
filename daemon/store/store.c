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
	if (st != NULL && st->last == c)
		st->last = NULL;
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
	if (st->last != NULL && strcmp(st->last->name, name) == 0)
		return st->last;
	store_slot *s = slot_find(st, name, name_hash(name));
	if (s == NULL)
		return NULL;
	st->last = s->c;
	return s->c;
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
	if (st->last == c)
		st->last = NULL;
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

size_t mpsd_store_container_memory(const mpsd_container *c)
{
	return sizeof(*c) + strlen(c->name) + 1 + strlen(c->message_type) + 1 +
	       (size_t)c->nwaiters * sizeof(mpsd_waiter) + (c->k->memory != NULL ? c->k->memory(c) : 0);
}

Mpstore__ContainerInfo *store_info_copy(mpsd_exec *x, const mpsd_container *c)
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
	size_t n = name != NULL ? strlen(name) : 0;
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
	store_account_new(st, c);
	*out = c;
	return 0;
}

void store_delete(mpsd_store *st, mpsd_container *c)
{
	store_account_gone(st, c);
	table_remove(st, c);
	container_free(st, c);
}

/* ---- running ops ---- */

int mpsd_store_exec(mpsd_store *st, mpsd_exec *x)
{
	const Mpstore__Op *op = x->op;
	if (op->code == MPSTORE__OP_CODE__OP_CREATE)
		return store_op_create(x);
	if (op->code == MPSTORE__OP_CODE__OP_LIST_CONTAINERS)
		return store_op_ls(x);
	if (op->name == NULL || op->name[0] == '\0')
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID, "operation needs a container name");
	mpsd_container *c = mpsd_store_find(st, op->name);
	if (c == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_NOT_FOUND, "no container named '%s'",
		    op->name);
	switch (op->code) {
	case MPSTORE__OP_CODE__OP_DELETE: return store_op_delete(x, c);
	case MPSTORE__OP_CODE__OP_INFO:
		if ((x->res->info = store_info_copy(x, c)) == NULL)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
		x->res->info->memory = (int64_t)mpsd_store_container_memory(c);
		x->res->revision = c->revision;
		return 0;
	case MPSTORE__OP_CODE__OP_DUMP: return store_op_dump(x, c);
	default: break;
	}
	for (const mpsd_opdef *d = c->k->ops; d != NULL && d->code != 0; d++)
		if (d->code == op->code) {
			if ((d->flags & MPSD_OPF_GROWS) && store_check_memory(x) != 0)
				return (int)x->res->status;
			int rv = d->fn(x, c);
			store_account(st, c); /* kinds never delete their container */
			return rv;
		}
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
		if (ch->type == MPSTORE__CHANGE_TYPE__CH_RESYNC) {
			rv = c->k->apply(c, ch, err, errlen);
			store_account(st, c);
		}
	} else if (c == NULL) {
		snprintf(err, errlen, "change %llu to missing container '%s'",
		    (unsigned long long)ch->revision, ch->name ? ch->name : "");
		return MPSTORE__STATUS__ERR_NOT_FOUND;
	} else if (ch->type == MPSTORE__CHANGE_TYPE__CH_DELETE) {
		store_delete(st, c);
		c = NULL;
	} else {
		rv = c->k->apply(c, ch, err, errlen);
		store_account(st, c);
	}
	if (rv == 0 && c != NULL && ch->revision > c->revision)
		c->revision = ch->revision;
	if (ch->revision > st->revision)
		st->revision = ch->revision;
	return rv;
}

