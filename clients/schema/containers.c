/*
 * containers.c - the containers declared with schema/mpstore/options.proto:
 * every field of a message marked (mpstore.store) = true is one container.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"

/* wire enums (schema/mpstore.proto) */
enum { K_NONE, K_VALUE, K_LIST, K_DICT, K_QUEUE, K_LOCK, K_RLOCK, K_SEMAPHORE,
       K_BOUNDED_SEMAPHORE, K_EVENT, K_CONDITION, K_BARRIER, K_ARRAY, K_NAMESPACE };
enum { E_ANY, E_INT64, E_DOUBLE, E_BOOL, E_STRING, E_BYTES, E_MESSAGE };
enum { KEY_STRING, KEY_INT64 };

const char *
mpss_kind_name(int kind)
{
	static const char *n[] = {"none", "value", "list", "dict", "queue", "lock", "rlock",
	                          "semaphore", "bounded_semaphore", "event", "condition",
	                          "barrier", "array", "namespace"};
	return kind >= 0 && kind <= K_NAMESPACE ? n[kind] : "unknown";
}

const char *
mpss_elem_name(int elem)
{
	static const char *n[] = {"any", "int64", "double", "bool", "string", "bytes", "message"};
	return elem >= 0 && elem <= E_MESSAGE ? n[elem] : "unknown";
}

static int
elem_of(const mpss_field *f)
{
	switch (f->type) {
	case FT_DOUBLE: case FT_FLOAT: return E_DOUBLE;
	case FT_BOOL: return E_BOOL;
	case FT_STRING: return E_STRING;
	case FT_BYTES: return E_BYTES;
	case FT_MESSAGE: case FT_GROUP: return E_MESSAGE;
	default: return E_INT64; /* every integer type and enums */
	}
}

static int
declare(const mpss_msg *store, const mpss_field *f, const char *prefix, size_t plen,
        mpss_container *c, mpss_error *err)
{
	const ProtobufCMessage *fo = f->d->options ? &f->d->options->base : NULL;
	const uint8_t          *name;
	size_t                  nlen;
	uint64_t                u;
	int                     kind = K_NONE;
	const mpss_field       *elem = f;
	bool                    is_map = f->label == LBL_REPEATED && f->msg != NULL &&
	                f->msg->map_entry;

	if (mpss__opt_varint(fo, MPSS_OPT_KIND, &u))
		kind = (int)u;
	if (kind < 0 || kind > K_NAMESPACE)
		return mpss__fail(err, MPS_ERR_SCHEMA, "%s.%s: unknown (mpstore.kind) %d",
		                  store->full, f->name, kind);
	if (kind == K_NONE)
		kind = is_map ? K_DICT : f->label == LBL_REPEATED ? K_LIST : K_VALUE;
	if (!mpss__opt_string(fo, MPSS_OPT_NAME, &name, &nlen)) {
		name = (const uint8_t *)f->name;
		nlen = strlen(f->name);
	}
	if (mpss__opt_varint(fo, MPSS_OPT_MAXSIZE, &u))
		c->maxsize = (int64_t)u;
	if (kind == K_DICT) {
		const mpss_field *key;
		if (!is_map)
			return mpss__fail(err, MPS_ERR_SCHEMA,
			                  "%s.%s: a dict must be declared as a map<K, V> field",
			                  store->full, f->name);
		key = mpss__field_by_number(f->msg, 1);
		elem = mpss__field_by_number(f->msg, 2);
		if (key == NULL || elem == NULL)
			return mpss__fail(err, MPS_ERR_SCHEMA, "%s.%s: bad map entry", store->full,
			                  f->name);
		if (key->type == FT_STRING)
			c->key_type = KEY_STRING;
		else if (elem_of(key) == E_INT64 && key->type != FT_BOOL)
			c->key_type = KEY_INT64;
		else
			return mpss__fail(err, MPS_ERR_SCHEMA,
			                  "%s.%s: dict keys must be string or an integer type",
			                  store->full, f->name);
	} else if (kind == K_LIST || kind == K_QUEUE || kind == K_ARRAY) {
		if (f->label != LBL_REPEATED || is_map)
			return mpss__fail(err, MPS_ERR_SCHEMA,
			                  "%s.%s: a %s must be declared as a repeated field",
			                  store->full, f->name, mpss_kind_name(kind));
	} else if (kind == K_VALUE) {
		if (f->label == LBL_REPEATED)
			return mpss__fail(err, MPS_ERR_SCHEMA,
			                  "%s.%s: a value must be declared as a singular field",
			                  store->full, f->name);
	}
	c->kind = kind;
	/* synchronisation kinds and namespaces hold no typed elements */
	if (kind == K_VALUE || kind == K_LIST || kind == K_DICT || kind == K_QUEUE ||
	    kind == K_ARRAY) {
		c->elem_type = elem_of(elem);
		if (c->elem_type == E_MESSAGE && (c->message_type = strdup(elem->msg->full)) == NULL)
			return MPS_ERR_NOMEM;
	} else {
		c->elem_type = E_ANY;
	}
	if ((c->name = malloc(plen + nlen + 1)) == NULL)
		return MPS_ERR_NOMEM;
	memcpy(c->name, prefix, plen);
	memcpy(c->name + plen, name, nlen);
	c->name[plen + nlen] = 0;
	if ((c->store = strdup(store->full)) == NULL || (c->field = strdup(f->name)) == NULL ||
	    (c->file = strdup(store->file->name ? store->file->name : "")) == NULL)
		return MPS_ERR_NOMEM;
	return 0;
}

/* store messages in file order, then field order (the index is sorted by name) */
static int
walk_msgs(const mpss_registry *reg, const char *scope, gpb_msg *const *msgs, size_t n,
          mpss_container **out, size_t *cnt, size_t *cap, mpss_error *err)
{
	for (size_t i = 0; i < n; i++) {
		char            full[512];
		const mpss_msg *m;
		const uint8_t  *prefix = (const uint8_t *)"";
		size_t          plen = 0;
		uint64_t        store = 0;
		int             rv;
		snprintf(full, sizeof(full), "%s%s%s", scope, *scope ? "." : "", msgs[i]->name);
		if ((m = mpss_registry_find(reg, full)) == NULL)
			continue;
		rv = walk_msgs(reg, full, msgs[i]->nested_type, msgs[i]->n_nested_type, out, cnt,
		               cap, err);
		if (rv != 0)
			return rv;
		if (m->d->options == NULL ||
		    !mpss__opt_varint(&m->d->options->base, MPSS_OPT_STORE, &store) || store == 0)
			continue;
		mpss__opt_string(&m->d->options->base, MPSS_OPT_PREFIX, &prefix, &plen);
		for (size_t k = 0; k < m->n_fields; k++) {
			if (*cnt == *cap) {
				size_t          c = *cap ? *cap * 2 : 8;
				mpss_container *p = realloc(*out, c * sizeof(*p));
				if (p == NULL)
					return MPS_ERR_NOMEM;
				*out = p;
				*cap = c;
			}
			memset(&(*out)[*cnt], 0, sizeof(**out));
			rv = declare(m, &m->fields[k], (const char *)prefix, plen, &(*out)[*cnt], err);
			(*cnt)++;
			if (rv != 0)
				return rv;
			for (size_t j = 0; j + 1 < *cnt; j++)
				if (strcmp((*out)[j].name, (*out)[*cnt - 1].name) == 0)
					return mpss__fail(err, MPS_ERR_SCHEMA,
					                  "container %s declared twice (%s.%s and %s.%s)",
					                  (*out)[j].name, (*out)[j].store, (*out)[j].field,
					                  m->full, m->fields[k].name);
		}
	}
	return 0;
}

int
mpss_containers(const mpss_registry *reg, const char *file, mpss_container **out, size_t *n,
                mpss_error *err)
{
	mpss_container *v = NULL;
	size_t          cnt = 0, cap = 0;
	int             rv = 0;
	for (size_t i = 0; i < reg->n_files && rv == 0; i++) {
		const gpb_file *f = reg->files[i].fd;
		if (file != NULL && strcmp(file, f->name) != 0)
			continue;
		rv = walk_msgs(reg, f->package ? f->package : "", f->message_type, f->n_message_type,
		               &v, &cnt, &cap, err);
	}
	if (rv != 0) {
		if (rv == MPS_ERR_NOMEM)
			mpss__fail(err, rv, "out of memory");
		mpss_containers_free(v, cnt);
		return rv;
	}
	*out = v;
	*n = cnt;
	return 0;
}

void
mpss_containers_free(mpss_container *c, size_t n)
{
	for (size_t i = 0; c != NULL && i < n; i++) {
		free(c[i].name);
		free(c[i].message_type);
		free(c[i].store);
		free(c[i].field);
		free(c[i].file);
	}
	free(c);
}
