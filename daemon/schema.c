/*
 * schema.c - the daemon's schema registry: --schema files at start-up,
 * OP_REGISTER_SCHEMA / OP_GET_SCHEMA, the check of every message element
 * against its container's type, and the persistence of schemas (a CH_SCHEMA
 * change per registration, the whole registry first in every snapshot).
 *
 * The registry (mpstore_schema, see clients/schema/schema.h) is only used
 * under the store lock: ops, the store's hooks and recovery all hold it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "mpstore/mpstore.h"
#include "schema.h"

/* a --schema file, kept to take precedence over stored versions */
typedef struct start_set {
	const char *path;
	uint8_t    *data;
	size_t      len;
	Google__Protobuf__FileDescriptorSet *fds;
} start_set;

typedef struct schema_state {
	mpss_registry *reg;
	start_set      start[16];
	int            nstart;
} schema_state;

/* ---- helpers ---- */

static int read_file(const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "--schema %s: cannot read it: %s", path, strerror(errno));
		return -1;
	}
	uint8_t *buf = NULL;
	size_t   n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			size_t   ncap = cap ? cap * 2 : 65536;
			uint8_t *nb = realloc(buf, ncap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "--schema %s: out of memory", path);
				return -1;
			}
			buf = nb;
			cap = ncap;
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		snprintf(err, errlen, "--schema %s: read error", path);
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int is_start_file(const schema_state *s, const char *name)
{
	for (int i = 0; i < s->nstart; i++)
		for (size_t k = 0; k < s->start[i].fds->n_file; k++)
			if (s->start[i].fds->file[k]->name != NULL &&
			    strcmp(s->start[i].fds->file[k]->name, name) == 0)
				return 1;
	return 0;
}

typedef struct used_types {
	const char **v;
	size_t       n, cap;
	int          oom;
} used_types;

static int used_visit(void *arg, mpsd_container *c)
{
	used_types *u = arg;
	if (c->elem_type != MPSTORE__ELEM_TYPE__TYPE_MESSAGE || c->message_type[0] == '\0')
		return 0;
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->v[i], c->message_type) == 0)
			return 0;
	if (u->n == u->cap) {
		size_t       ncap = u->cap ? u->cap * 2 : 16;
		const char **nv = realloc(u->v, ncap * sizeof(*nv));
		if (nv == NULL) {
			u->oom = 1;
			return 1;
		}
		u->v = nv;
		u->cap = ncap;
	}
	u->v[u->n++] = c->message_type;
	return 0;
}

/* ---- store hooks ---- */

static int check_msg_cb(void *arg, const char *type, const uint8_t *data, size_t len, char *err,
    size_t errlen)
{
	schema_state *s = arg;
	mpss_error    e;
	e.msg[0] = '\0';
	int rv = mpss_validate(s->reg, type, data, len, &e);
	if (rv == 0)
		return 0;
	if (rv == MPS_ERR_NOT_FOUND)
		snprintf(err, errlen, "unknown message type %s (register its schema first)", type);
	else if (rv == MPS_ERR_SCHEMA)
		snprintf(err, errlen, "not a valid %s: %s", type, e.msg);
	else
		snprintf(err, errlen, "checking a %s: %s", type, e.msg[0] ? e.msg : "out of memory");
	return MPSTORE__STATUS__ERR_SCHEMA;
}

static int check_type_cb(void *arg, const char *type, char *err, size_t errlen)
{
	schema_state *s = arg;
	if (mpss_registry_find(s->reg, type) != NULL)
		return 0;
	snprintf(err, errlen, "unknown message type %s (register its schema first)",
	    type[0] == '.' ? type + 1 : type);
	return MPSTORE__STATUS__ERR_SCHEMA;
}

/* Recovery: merge a stored set, except files that a --schema file given at
 * start-up defines (the operator's file wins over the stored version). */
static int apply_cb(void *arg, const uint8_t *set, size_t len, char *err, size_t errlen)
{
	schema_state *s = arg;
	mpss_error    e;
	e.msg[0] = '\0';
	if (s->nstart == 0) {
		if (mpss_registry_add_set(s->reg, set, len, &e) != 0) {
			snprintf(err, errlen, "stored schema: %s", e.msg);
			return MPSTORE__STATUS__ERR_SCHEMA;
		}
		return 0;
	}
	Google__Protobuf__FileDescriptorSet *fds =
	    google__protobuf__file_descriptor_set__unpack(NULL, len, set);
	if (fds == NULL) {
		snprintf(err, errlen, "stored schema does not decode as a FileDescriptorSet");
		return MPSTORE__STATUS__ERR_SCHEMA;
	}
	Google__Protobuf__FileDescriptorProto **keep = calloc(fds->n_file + 1, sizeof(*keep));
	int rv = 0;
	if (keep == NULL) {
		snprintf(err, errlen, "out of memory");
		rv = MPSTORE__STATUS__ERR_LIMIT;
		goto out;
	}
	size_t nk = 0;
	for (size_t i = 0; i < fds->n_file; i++)
		if (fds->file[i]->name == NULL || !is_start_file(s, fds->file[i]->name))
			keep[nk++] = fds->file[i];
	if (nk == 0)
		goto out;
	Google__Protobuf__FileDescriptorSet sub = *fds;
	sub.file = keep;
	sub.n_file = nk;
	size_t   plen = google__protobuf__file_descriptor_set__get_packed_size(&sub);
	uint8_t *p = malloc(plen ? plen : 1);
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		rv = MPSTORE__STATUS__ERR_LIMIT;
		goto out;
	}
	google__protobuf__file_descriptor_set__pack(&sub, p);
	if (mpss_registry_add_set(s->reg, p, plen, &e) != 0) {
		snprintf(err, errlen, "stored schema (with the --schema files): %s", e.msg);
		rv = MPSTORE__STATUS__ERR_SCHEMA;
	}
	free(p);
out:
	free(keep);
	google__protobuf__file_descriptor_set__free_unpacked(fds, NULL);
	return rv;
}

static int dump_cb(void *arg, uint8_t **set, size_t *len)
{
	schema_state *s = arg;
	*set = NULL;
	*len = 0;
	if (mpss_registry_n_files(s->reg) == 0)
		return 0;
	return mpss_registry_serialize(s->reg, set, len) != 0 ? -1 : 0;
}

static const mpsd_schema_hooks hooks = {check_type_cb, apply_cb, dump_cb};

/* ---- start / stop ---- */

static void state_free(schema_state *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->nstart; i++) {
		google__protobuf__file_descriptor_set__free_unpacked(s->start[i].fds, NULL);
		free(s->start[i].data);
	}
	mpss_registry_free(s->reg);
	free(s);
}

int mpsd_schema_start(mpsd_daemon *d, char *err, size_t errlen)
{
	schema_state *s = calloc(1, sizeof(*s));
	if (s == NULL || mpss_registry_alloc(&s->reg) != 0) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < d->cfg.nschemas; i++) {
		const char *path = d->cfg.schemas[i];
		start_set  *ss = &s->start[s->nstart];
		mpss_error  e;
		e.msg[0] = '\0';
		if (read_file(path, &ss->data, &ss->len, err, errlen) != 0)
			goto fail;
		ss->path = path;
		ss->fds = google__protobuf__file_descriptor_set__unpack(NULL, ss->len, ss->data);
		if (ss->fds == NULL || ss->fds->n_file == 0) {
			snprintf(err, errlen,
			    "--schema %s: not a FileDescriptorSet (make one with protoc --include_imports -o %s ...)",
			    path, path);
			free(ss->data);
			if (ss->fds != NULL)
				google__protobuf__file_descriptor_set__free_unpacked(ss->fds, NULL);
			goto fail;
		}
		s->nstart++;
		if (mpss_registry_add_set(s->reg, ss->data, ss->len, &e) != 0) {
			snprintf(err, errlen, "--schema %s: %s", path, e.msg);
			goto fail;
		}
		mpsd_log("schema %s: %zu files, %zu message types in the registry", path,
		    mpss_registry_n_files(s->reg), mpss_registry_n_messages(s->reg));
	}
	d->schema = s;
	mpsd_store_set_msg_check(d->st, check_msg_cb, s);
	mpsd_store_set_schema_hooks(d->st, &hooks, s);
	return 0;
fail:
	state_free(s);
	return -1;
}

void mpsd_schema_stop(mpsd_daemon *d)
{
	if (d->schema == NULL)
		return;
	mpsd_store_lock(d->st);
	mpsd_store_set_msg_check(d->st, NULL, NULL);
	mpsd_store_set_schema_hooks(d->st, NULL, NULL);
	mpsd_store_unlock(d->st);
	state_free(d->schema);
	d->schema = NULL;
}

/* ---- ops ---- */

/* Record the registration as a change without a container (CH_SCHEMA). */
static int record_change(mpsd_exec *x, const uint8_t *set, size_t len)
{
	if (x->nchanges == x->cap) {
		size_t            ncap = x->cap ? x->cap * 2 : 8;
		Mpstore__Change **n = mpsd_exec_alloc(x, ncap * sizeof(*n));
		if (n == NULL)
			return -1;
		if (x->nchanges)
			memcpy(n, x->changes, x->nchanges * sizeof(*n));
		x->changes = n;
		x->cap = ncap;
	}
	Mpstore__Change *ch = mpsd_exec_alloc(x, sizeof(*ch));
	Mpstore__Value  *v = mpsd_exec_alloc(x, sizeof(*v));
	uint8_t         *copy = mpsd_exec_alloc(x, len ? len : 1);
	if (ch == NULL || v == NULL || copy == NULL)
		return -1;
	memcpy(copy, set, len);
	mpstore__change__init(ch);
	mpstore__value__init(v);
	v->v_case = MPSTORE__VALUE__V_BYTES_VALUE;
	v->bytes_value.data = copy;
	v->bytes_value.len = len;
	ch->revision = mpsd_store_next_revision(x->st);
	ch->name = (char *)"";
	ch->type = MPSTORE__CHANGE_TYPE__CH_SCHEMA;
	ch->value = v;
	x->res->revision = ch->revision;
	x->changes[x->nchanges++] = ch;
	return 0;
}

/* Put the registry back as it was (its serialized form `old`). */
static void restore(schema_state *s, const uint8_t *old, size_t oldlen)
{
	mpss_registry *r;
	if (mpss_registry_alloc(&r) != 0)
		return;
	if (oldlen > 0 && mpss_registry_add_set(r, old, oldlen, NULL) != 0) {
		mpss_registry_free(r);
		mpsd_log("schema: could not restore the registry after a refused registration");
		return;
	}
	mpss_registry_free(s->reg);
	s->reg = r;
}

/* Containers that the set's files declare; n = 0 when none. */
static int declared(schema_state *s, const Google__Protobuf__FileDescriptorSet *fds,
    mpss_container **out, size_t *n, mpss_error *e)
{
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < fds->n_file; i++) {
		mpss_container *c;
		size_t          k;
		if (fds->file[i]->name == NULL)
			continue;
		int rv = mpss_containers(s->reg, fds->file[i]->name, &c, &k, e);
		if (rv != 0) {
			mpss_containers_free(*out, *n);
			*out = NULL;
			*n = 0;
			return rv;
		}
		if (k == 0) {
			mpss_containers_free(c, k);
			continue;
		}
		mpss_container *nv = realloc(*out, (*n + k) * sizeof(*nv));
		if (nv == NULL) {
			mpss_containers_free(c, k);
			mpss_containers_free(*out, *n);
			*out = NULL;
			*n = 0;
			return MPS_ERR_NOMEM;
		}
		memcpy(nv + *n, c, k * sizeof(*c));
		free(c); /* the strings moved to nv */
		*out = nv;
		*n += k;
	}
	return 0;
}

static void create_op_of(const mpss_container *dc, Mpstore__Op *op)
{
	mpstore__op__init(op);
	op->code = MPSTORE__OP_CODE__OP_CREATE;
	op->name = dc->name;
	op->kind = (Mpstore__Kind)dc->kind;
	op->elem_type = (Mpstore__ElemType)dc->elem_type;
	op->key_type = (Mpstore__KeyType)dc->key_type;
	op->message_type = dc->message_type != NULL ? dc->message_type : (char *)"";
	op->count = dc->maxsize;
}

/* register schema: data = FileDescriptorSet [flags FLAG_CREATE_DECLARED] -> count created */
static int op_register(mpsd_daemon *d, schema_state *s, mpsd_exec *x)
{
	const Mpstore__Op *op = x->op;
	if (x->in_txn)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
		    "register schema is not allowed in a txn");
	if (op->data.len == 0)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
		    "register schema needs a FileDescriptorSet in data (protoc --include_imports -o)");
	Google__Protobuf__FileDescriptorSet *fds =
	    google__protobuf__file_descriptor_set__unpack(NULL, op->data.len, op->data.data);
	if (fds == NULL || fds->n_file == 0) {
		if (fds != NULL)
			google__protobuf__file_descriptor_set__free_unpacked(fds, NULL);
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_SCHEMA,
		    "data is not a FileDescriptorSet with at least one file");
	}
	uint8_t        *old = NULL, *now = NULL;
	size_t          oldlen = 0, nowlen = 0, ndc = 0;
	mpss_container *dc = NULL;
	used_types      u = {NULL, 0, 0, 0};
	mpss_error      e;
	int             rv = 0;
	e.msg[0] = '\0';
	if (mpss_registry_n_files(s->reg) > 0 && mpss_registry_serialize(s->reg, &old, &oldlen) != 0) {
		rv = mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
		goto out;
	}
	mpsd_store_foreach(x->st, used_visit, &u);
	if (u.oom) {
		rv = mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
		goto out;
	}
	if (mpss_registry_add_set_checked(s->reg, op->data.data, op->data.len, u.v, u.n, &e) != 0) {
		rv = mpsd_exec_fail(x, MPSTORE__STATUS__ERR_SCHEMA, "schema refused: %s", e.msg);
		goto out;
	}
	if (op->flags & MPSTORE__OP_FLAG__FLAG_CREATE_DECLARED) {
		if (declared(s, fds, &dc, &ndc, &e) != 0) {
			rv = mpsd_exec_fail(x, MPSTORE__STATUS__ERR_SCHEMA, "schema refused: %s", e.msg);
			restore(s, old, oldlen);
			goto out;
		}
		/* all or nothing: a declared name taken by another type fails first */
		for (size_t i = 0; i < ndc; i++) {
			mpsd_container *c = mpsd_store_find(x->st, dc[i].name);
			const char     *mt = dc[i].message_type ? dc[i].message_type : "";
			if (c == NULL)
				continue;
			if (c->k->kind != (Mpstore__Kind)dc[i].kind ||
			    c->elem_type != (Mpstore__ElemType)dc[i].elem_type ||
			    c->key_type != (Mpstore__KeyType)dc[i].key_type ||
			    strcmp(c->message_type, dc[i].elem_type == MPSTORE__ELEM_TYPE__TYPE_MESSAGE ? mt : "") != 0) {
				rv = mpsd_exec_fail(x, MPSTORE__STATUS__ERR_EXISTS,
				    "schema refused: %s.%s declares '%s' as a %s of %s%s%s, but it exists as "
				    "a %s of %s%s%s",
				    dc[i].store, dc[i].field, dc[i].name, mpss_kind_name(dc[i].kind),
				    mpss_elem_name(dc[i].elem_type), mt[0] ? " " : "", mt, c->k->name,
				    mpss_elem_name(c->elem_type), c->message_type[0] ? " " : "",
				    c->message_type);
				restore(s, old, oldlen);
				goto out;
			}
		}
	}
	if (mpss_registry_serialize(s->reg, &now, &nowlen) != 0) {
		rv = mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
		restore(s, old, oldlen);
		goto out;
	}
	/* re-registering the same schema changes nothing and logs nothing */
	if (nowlen != oldlen || memcmp(now, old, nowlen) != 0) {
		if (record_change(x, op->data.data, op->data.len) != 0) {
			rv = mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
			restore(s, old, oldlen);
			goto out;
		}
		if (d->cfg.verbose)
			mpsd_log("schema registered: %zu files, %zu message types",
			    mpss_registry_n_files(s->reg), mpss_registry_n_messages(s->reg));
	} else {
		x->res->revision = mpsd_store_revision(x->st);
	}
	int64_t created = 0;
	for (size_t i = 0; i < ndc; i++) {
		Mpstore__Op     cop;
		Mpstore__Result cres;
		mpsd_exec       sx = *x;
		int             existed = mpsd_store_find(x->st, dc[i].name) != NULL;
		create_op_of(&dc[i], &cop);
		mpstore__result__init(&cres);
		sx.op = &cop;
		sx.res = &cres;
		int crv = mpsd_store_exec(x->st, &sx);
		x->changes = sx.changes;
		x->nchanges = sx.nchanges;
		x->cap = sx.cap;
		if (crv != 0) {
			rv = mpsd_exec_fail(x, (Mpstore__Status)crv, "creating '%s' declared by %s.%s: %s",
			    dc[i].name, dc[i].store, dc[i].field, cres.error ? cres.error : "failed");
			goto out;
		}
		if (!existed) {
			created++;
			x->res->revision = cres.revision;
		}
	}
	x->res->count = created;
out:
	mpss_containers_free(dc, ndc);
	free(u.v);
	free(old);
	free(now);
	google__protobuf__file_descriptor_set__free_unpacked(fds, NULL);
	return rv;
}

/* get schema -> value.bytes_value = FileDescriptorSet of every registered file */
static int op_get(schema_state *s, mpsd_exec *x)
{
	uint8_t        *set = NULL;
	size_t          len = 0;
	Mpstore__Value *v = mpsd_exec_alloc(x, sizeof(*v));
	if (v == NULL || (mpss_registry_n_files(s->reg) > 0 &&
	                     mpss_registry_serialize(s->reg, &set, &len) != 0))
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	mpstore__value__init(v);
	v->v_case = MPSTORE__VALUE__V_BYTES_VALUE;
	v->bytes_value.len = len;
	v->bytes_value.data = mpsd_exec_alloc(x, len ? len : 1);
	if (v->bytes_value.data == NULL) {
		free(set);
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	}
	if (len)
		memcpy(v->bytes_value.data, set, len);
	free(set);
	x->res->value = v;
	x->res->count = (int64_t)mpss_registry_n_files(s->reg);
	x->res->revision = mpsd_store_revision(x->st);
	return 0;
}

int mpsd_schema_op(mpsd_daemon *d, mpsd_exec *x)
{
	schema_state *s = d->schema;
	if (s == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_UNKNOWN_OP, "schema support is not running");
	if (x->op->code == MPSTORE__OP_CODE__OP_GET_SCHEMA)
		return op_get(s, x);
	return op_register(d, s, x);
}
