/* store_admin.c - the ops on containers as a whole: create, delete, ls,
 * info and dump. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "wire.h"

/* create NAME KIND [TYPE]: flag = true when it was created now */
int store_op_create(mpsd_exec *x)
{
	char            err[400];
	const char     *name = x->op->name != NULL ? x->op->name : "";
	mpsd_container *c = mpsd_store_find(x->st, name);
	int             existed = c != NULL;
	int             rv;
	/* requests arrive checked (wire.c); names from elsewhere (schema
	 * declarations) are checked here. Recovery does not come this way:
	 * a stored name always loads. */
	if (!mpw_utf8_valid((const uint8_t *)name, strlen(name)))
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
		    "container name is not valid UTF-8");
	if (!existed && (rv = store_check_create(x)) != 0)
		return rv;
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
	x->res->info = store_info_copy(x, c);
	if (existed) {
		x->res->revision = c->revision;
		return 0;
	}
	Mpstore__Change *ch = mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_CREATE);
	if (ch == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	if (x->op->value != NULL)
		ch->value = mpsd_exec_pbval(x, x->op->value);
	ch->info = store_info_copy(x, c);
	x->res->info->revision = c->revision;
	return 0;
}

/* delete NAME */
int store_op_delete(mpsd_exec *x, mpsd_container *c)
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
	Mpstore__ContainerInfo *i = store_info_copy(l->x, c);
	if (i == NULL) {
		l->oom = 1;
		return 1;
	}
	l->x->res->containers[l->n++] = i;
	return 0;
}

/* ls [PREFIX] */
int store_op_ls(mpsd_exec *x)
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
int store_op_dump(mpsd_exec *x, mpsd_container *c)
{
	dump_ctx d = {x, NULL, 0, 0};
	if (mpsd_store_dump(x->st, c, 65536, dump_collect, &d) != 0)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	x->res->changes = d.v;
	x->res->n_changes = d.n;
	x->res->info = store_info_copy(x, c);
	x->res->revision = x->st->revision;
	return 0;
}

