/*
 * k_dict.c - KIND_DICT: an insertion-ordered map with string or int64
 * keys, like a Python 3 dict (table in k_dict_table.c). Paging cursors are
 * entry positions.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict_kind.h"
#include "dict_table.h"
#include "exec.h"

#define DICT_ST(s) MPSTORE__STATUS__##s

static mpsd_dtab *dict_tab(const mpsd_container *c)
{
	return c->impl;
}

static int dict_nomem(mpsd_exec *x)
{
	return mpsd_exec_fail(x, DICT_ST(ERR_LIMIT), "out of memory");
}

/* "'name'" or "42", for error messages. */
static const char *dict_keydesc(const Mpstore__Value *k, char *buf, size_t n)
{
	if (k != NULL && k->v_case == MPSTORE__VALUE__V_STRING_VALUE && k->string_value != NULL)
		snprintf(buf, n, "'%.80s%s'", k->string_value, strlen(k->string_value) > 80 ? "..." : "");
	else if (k != NULL && k->v_case == MPSTORE__VALUE__V_INT_VALUE)
		snprintf(buf, n, "%" PRId64, k->int_value);
	else
		snprintf(buf, n, "(null)");
	return buf;
}

static int dict_missing(mpsd_exec *x, const mpsd_container *c, const Mpstore__Value *k)
{
	char buf[100];

	if (c->k->kind == MPSTORE__KIND__KIND_NAMESPACE)
		return mpsd_exec_fail(x, DICT_ST(ERR_NO_KEY), "namespace has no attribute %s",
		    dict_keydesc(k, buf, sizeof(buf)));
	return mpsd_exec_fail(x, DICT_ST(ERR_NO_KEY), "key %s not found", dict_keydesc(k, buf, sizeof(buf)));
}

/* Check op->key and look it up: position or -1; a status on failure. */
static int dict_lookup(mpsd_exec *x, const mpsd_container *c, int64_t *pos)
{
	mpsd_val k;
	int      rv;

	if ((rv = mpsd_exec_check_key(x, c, x->op->key)) != 0)
		return rv;
	if (mpsd_val_from_pb(&k, x->op->key) != 0)
		return dict_nomem(x);
	*pos = mpsd_dtab_find(dict_tab(c), &k);
	mpsd_val_fini(&k);
	return 0;
}

/* A change with one key (and a value when v is non-NULL), arena copies. */
static int dict_change1(mpsd_exec *x, mpsd_container *c, Mpstore__ChangeType type,
    const Mpstore__Value *k, const Mpstore__Value *v)
{
	Mpstore__Value **keys = mpsd_exec_vals(x, 1), **vals = NULL;
	Mpstore__Change *ch;

	if (keys == NULL || (keys[0] = mpsd_exec_pbval(x, k)) == NULL)
		return dict_nomem(x);
	if (type == MPSTORE__CHANGE_TYPE__CH_DICT_SET &&
	    ((vals = mpsd_exec_vals(x, 1)) == NULL || (vals[0] = mpsd_exec_pbval(x, v)) == NULL))
		return dict_nomem(x);
	if ((ch = mpsd_exec_change(x, c, type)) == NULL)
		return dict_nomem(x);
	ch->n_keys = 1;
	ch->keys   = keys;
	if (vals != NULL) {
		ch->n_values = 1;
		ch->values   = vals;
	}
	return 0;
}

/* Store k = v (wire values, already checked) and record CH_DICT_SET. */
static int dict_store(mpsd_exec *x, mpsd_container *c, const Mpstore__Value *pk, const Mpstore__Value *pv)
{
	mpsd_val k, v;
	int      rv;

	if (mpsd_val_from_pb(&k, pk) != 0)
		return dict_nomem(x);
	if (mpsd_val_from_pb(&v, pv) != 0) {
		mpsd_val_fini(&k);
		return dict_nomem(x);
	}
	rv = mpsd_dtab_reserve(dict_tab(c), 1);
	if (rv == 0)
		rv = dict_change1(x, c, MPSTORE__CHANGE_TYPE__CH_DICT_SET, pk, pv);
	else
		rv = rv == E2BIG ? mpsd_exec_fail(x, DICT_ST(ERR_LIMIT), "dict is full") : dict_nomem(x);
	if (rv != 0) {
		mpsd_val_fini(&k);
		mpsd_val_fini(&v);
		return rv;
	}
	mpsd_dtab_put(dict_tab(c), &k, &v, NULL); /* cannot fail after reserve */
	return 0;
}

/* DICT_SET key value -> count (new length) */
int mpsd_dict_op_set(mpsd_exec *x, mpsd_container *c)
{
	int64_t pos;
	int     rv;

	if ((rv = dict_lookup(x, c, &pos)) != 0 || (rv = mpsd_exec_check_value(x, c, x->op->value)) != 0)
		return rv;
	if (pos < 0 && (rv = mpsd_exec_check_room(x, c, mpsd_dtab_len(dict_tab(c)), 1)) != 0)
		return rv;
	if ((rv = dict_store(x, c, x->op->key, x->op->value)) != 0)
		return rv;
	x->res->count = mpsd_dtab_len(dict_tab(c));
	return 0;
}

/* DICT_GET key [value = default with FLAG_HAS_DEFAULT] -> value */
int mpsd_dict_op_get(mpsd_exec *x, mpsd_container *c)
{
	int64_t pos;
	int     rv;

	if ((rv = dict_lookup(x, c, &pos)) != 0)
		return rv;
	if (pos >= 0)
		x->res->value = mpsd_exec_val(x, mpsd_dtab_value(dict_tab(c), pos));
	else if (x->op->flags & MPSTORE__OP_FLAG__FLAG_HAS_DEFAULT)
		x->res->value = mpsd_exec_pbval(x, x->op->value);
	else
		return dict_missing(x, c, x->op->key);
	return x->res->value == NULL ? dict_nomem(x) : 0;
}

/* Remove op->key, moving its value to the result when want_value. */
static int dict_remove(mpsd_exec *x, mpsd_container *c, int want_value)
{
	mpsd_val k, v;
	int64_t  pos;
	int      rv;

	if ((rv = dict_lookup(x, c, &pos)) != 0)
		return rv;
	if (pos < 0) {
		if (want_value && (x->op->flags & MPSTORE__OP_FLAG__FLAG_HAS_DEFAULT)) {
			x->res->value = mpsd_exec_pbval(x, x->op->value);
			return x->res->value == NULL ? dict_nomem(x) : 0;
		}
		return dict_missing(x, c, x->op->key);
	}
	if (want_value && (x->res->value = mpsd_exec_val(x, mpsd_dtab_value(dict_tab(c), pos))) == NULL)
		return dict_nomem(x);
	if (mpsd_val_dup(&k, mpsd_dtab_key(dict_tab(c), pos)) != 0)
		return dict_nomem(x);
	rv = dict_change1(x, c, MPSTORE__CHANGE_TYPE__CH_DICT_DELETE, x->op->key, NULL);
	if (rv == 0) {
		mpsd_dtab_del(dict_tab(c), &k, &v);
		mpsd_val_fini(&v);
	}
	mpsd_val_fini(&k);
	return rv;
}

/* DICT_DEL key */
int mpsd_dict_op_del(mpsd_exec *x, mpsd_container *c)
{
	return dict_remove(x, c, 0);
}

/* DICT_POP key [value = default with FLAG_HAS_DEFAULT] -> value */
static int dict_op_pop(mpsd_exec *x, mpsd_container *c)
{
	return dict_remove(x, c, 1);
}

/* DICT_CONTAINS key -> flag */
int mpsd_dict_op_contains(mpsd_exec *x, mpsd_container *c)
{
	int64_t pos;
	int     rv;

	if ((rv = dict_lookup(x, c, &pos)) != 0)
		return rv;
	x->res->flag = pos >= 0;
	return 0;
}

/* DICT_LEN -> count */
int mpsd_dict_op_len(mpsd_exec *x, mpsd_container *c)
{
	x->res->count = mpsd_dtab_len(dict_tab(c));
	return 0;
}

/* One page of entries from cursor op->index, op->count at most (0 = all). */
static int dict_page(mpsd_exec *x, mpsd_container *c, int want_keys, int want_values)
{
	mpsd_dtab        *t = dict_tab(c);
	Mpstore__Result  *r = x->res;
	int64_t           page = x->op->count, pos;
	size_t            n = 0;
	Mpstore__Value  **keys = NULL, **vals = NULL;

	if (x->op->index < 0 || page < 0)
		return mpsd_exec_fail(x, DICT_ST(ERR_INVALID), "cursor and page size must not be negative");
	if (page == 0 || page > (int64_t) mpsd_dtab_len(t))
		page = mpsd_dtab_len(t);
	if ((want_keys && (keys = mpsd_exec_vals(x, (size_t) page)) == NULL && page > 0) ||
	    (want_values && (vals = mpsd_exec_vals(x, (size_t) page)) == NULL && page > 0))
		return dict_nomem(x);
	for (pos = mpsd_dtab_next(t, x->op->index); pos >= 0 && (int64_t) n < page;
	     pos = mpsd_dtab_next(t, pos + 1), n++) {
		if (want_keys && (keys[n] = mpsd_exec_val(x, mpsd_dtab_key(t, pos))) == NULL)
			return dict_nomem(x);
		if (want_values && (vals[n] = mpsd_exec_val(x, mpsd_dtab_value(t, pos))) == NULL)
			return dict_nomem(x);
	}
	r->next = pos;
	if (want_keys) {
		r->n_keys = n;
		r->keys   = keys;
	}
	if (want_values) {
		r->n_values = n;
		r->values   = vals;
	}
	return 0;
}

/* DICT_KEYS index (cursor) count (page) -> keys, next */
int mpsd_dict_op_keys(mpsd_exec *x, mpsd_container *c)
{
	return dict_page(x, c, 1, 0);
}

/* DICT_VALUES index (cursor) count (page) -> values, next */
int mpsd_dict_op_values(mpsd_exec *x, mpsd_container *c)
{
	return dict_page(x, c, 0, 1);
}

/* DICT_ITEMS index (cursor) count (page) -> keys, values, next */
int mpsd_dict_op_items(mpsd_exec *x, mpsd_container *c)
{
	return dict_page(x, c, 1, 1);
}

static void dict_free_vals(mpsd_val *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mpsd_val_fini(&v[i]);
	free(v);
}

/* Record CH_DICT_SET of every op key/value pair (arena copies). */
static int dict_change_update(mpsd_exec *x, mpsd_container *c)
{
	const Mpstore__Op *op = x->op;
	Mpstore__Value   **keys = mpsd_exec_vals(x, op->n_keys);
	Mpstore__Value   **vals = mpsd_exec_vals(x, op->n_keys);
	Mpstore__Change   *ch;

	if (keys == NULL || vals == NULL)
		return dict_nomem(x);
	for (size_t i = 0; i < op->n_keys; i++)
		if ((keys[i] = mpsd_exec_pbval(x, op->keys[i])) == NULL ||
		    (vals[i] = mpsd_exec_pbval(x, op->values[i])) == NULL)
			return dict_nomem(x);
	if ((ch = mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_DICT_SET)) == NULL)
		return dict_nomem(x);
	ch->n_keys   = ch->n_values = op->n_keys;
	ch->keys     = keys;
	ch->values   = vals;
	return 0;
}

/* DICT_UPDATE keys values (pairwise; all checked before any is stored) -> count */
static int dict_op_update(mpsd_exec *x, mpsd_container *c)
{
	const Mpstore__Op *op = x->op;
	size_t             n  = op->n_keys, i;
	mpsd_val          *kv;
	int                rv;

	if (op->n_keys != op->n_values)
		return mpsd_exec_fail(x, DICT_ST(ERR_INVALID), "update needs as many values (%zu) as keys (%zu)",
		    op->n_values, op->n_keys);
	for (i = 0; i < n; i++)
		if ((rv = mpsd_exec_check_key(x, c, op->keys[i])) != 0 ||
		    (rv = mpsd_exec_check_value(x, c, op->values[i])) != 0)
			return rv;
	if (n == 0) {
		x->res->count = mpsd_dtab_len(dict_tab(c));
		return 0;
	}
	if ((kv = calloc(2 * n, sizeof(*kv))) == NULL)
		return dict_nomem(x);
	size_t added = 0; /* new keys (a key given twice counts twice: a bound) */
	for (i = 0; i < n; i++) {
		if (mpsd_val_from_pb(&kv[2 * i], op->keys[i]) != 0 ||
		    mpsd_val_from_pb(&kv[2 * i + 1], op->values[i]) != 0)
			break;
		added += mpsd_dtab_find(dict_tab(c), &kv[2 * i]) < 0;
	}
	rv = i < n ? dict_nomem(x) : mpsd_exec_check_room(x, c, mpsd_dtab_len(dict_tab(c)), added);
	if (rv == 0 && (rv = mpsd_dtab_reserve(dict_tab(c), n)) != 0)
		rv = rv == E2BIG ? mpsd_exec_fail(x, DICT_ST(ERR_LIMIT), "dict is full") : dict_nomem(x);
	if (rv == 0)
		rv = dict_change_update(x, c);
	if (rv != 0) {
		dict_free_vals(kv, 2 * n);
		return rv;
	}
	for (i = 0; i < n; i++)
		mpsd_dtab_put(dict_tab(c), &kv[2 * i], &kv[2 * i + 1], NULL);
	free(kv);
	x->res->count = mpsd_dtab_len(dict_tab(c));
	return 0;
}

/* DICT_SETDEFAULT key value -> value (the existing one, or value inserted) */
static int dict_op_setdefault(mpsd_exec *x, mpsd_container *c)
{
	int64_t pos;
	int     rv;

	if ((rv = dict_lookup(x, c, &pos)) != 0)
		return rv;
	if (pos >= 0) {
		x->res->value = mpsd_exec_val(x, mpsd_dtab_value(dict_tab(c), pos));
		return x->res->value == NULL ? dict_nomem(x) : 0;
	}
	if ((rv = mpsd_exec_check_value(x, c, x->op->value)) != 0 ||
	    (rv = mpsd_exec_check_room(x, c, mpsd_dtab_len(dict_tab(c)), 1)) != 0)
		return rv;
	if ((x->res->value = mpsd_exec_pbval(x, x->op->value)) == NULL)
		return dict_nomem(x);
	return dict_store(x, c, x->op->key, x->op->value);
}

/* DICT_CLEAR */
int mpsd_dict_op_clear(mpsd_exec *x, mpsd_container *c)
{
	if (mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_CLEAR) == NULL)
		return dict_nomem(x);
	mpsd_dtab_fini(dict_tab(c));
	return 0;
}

int mpsd_dict_init_table(mpsd_container *c, char *err, size_t errlen)
{
	mpsd_dtab *t;

	if (c->key_type != MPSTORE__KEY_TYPE__KEY_STRING && c->key_type != MPSTORE__KEY_TYPE__KEY_INT64) {
		snprintf(err, errlen, "unknown key type %d", (int) c->key_type);
		return DICT_ST(ERR_INVALID);
	}
	if ((t = malloc(sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return DICT_ST(ERR_LIMIT);
	}
	mpsd_dtab_init(t);
	c->impl = t;
	return 0;
}

static int dict_init(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen)
{
	return mpsd_dict_init_table(c, err, errlen);
}

void mpsd_dict_fini(mpsd_container *c)
{
	if (c->impl != NULL) {
		mpsd_dtab_fini(dict_tab(c));
		free(c->impl);
		c->impl = NULL;
	}
}

int64_t mpsd_dict_length(const mpsd_container *c)
{
	return mpsd_dtab_len(dict_tab(c));
}

size_t mpsd_dict_memory(const mpsd_container *c)
{
	return sizeof(mpsd_dtab) + mpsd_dtab_memory(dict_tab(c));
}

/* Emit entries from *pos on as one change of at most chunk pairs. */
static int dict_emit(const mpsd_container *c, Mpstore__ChangeType type, int64_t *pos, size_t chunk,
    mpsd_emit_fn emit, void *arg)
{
	const mpsd_dtab *t  = dict_tab(c);
	Mpstore__Change  ch = MPSTORE__CHANGE__INIT;
	Mpstore__Value  *pv = calloc(2 * chunk + 2, sizeof(*pv));
	Mpstore__Value **pp = calloc(2 * chunk + 2, sizeof(*pp));
	size_t           n  = 0;
	int              rv;

	if (pv == NULL || pp == NULL) {
		free(pv);
		free(pp);
		return DICT_ST(ERR_LIMIT);
	}
	for (; *pos >= 0 && n < chunk; *pos = mpsd_dtab_next(t, *pos + 1), n++) {
		mpsd_val_to_pb(mpsd_dtab_key(t, *pos), &pv[2 * n]);
		mpsd_val_to_pb(mpsd_dtab_value(t, *pos), &pv[2 * n + 1]);
		pp[n]         = &pv[2 * n];
		pp[chunk + n] = &pv[2 * n + 1];
	}
	ch.revision = c->revision;
	ch.name     = c->name;
	ch.kind     = c->k->kind;
	ch.type     = type;
	ch.n_keys   = ch.n_values = n;
	ch.keys     = pp;
	ch.values   = pp + chunk;
	rv          = emit(arg, &ch);
	free(pv);
	free(pp);
	return rv;
}

int mpsd_dict_dump(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg)
{
	const mpsd_dtab *t   = dict_tab(c);
	int64_t          pos = mpsd_dtab_next(t, 0);
	int              rv;

	if (chunk == 0 || chunk > mpsd_dtab_len(t))
		chunk = mpsd_dtab_len(t) > 0 ? mpsd_dtab_len(t) : 1;
	rv = dict_emit(c, MPSTORE__CHANGE_TYPE__CH_RESYNC, &pos, chunk, emit, arg);
	while (rv == 0 && pos >= 0)
		rv = dict_emit(c, MPSTORE__CHANGE_TYPE__CH_DICT_SET, &pos, chunk, emit, arg);
	return rv;
}

static int dict_apply_set(mpsd_dtab *t, const Mpstore__Change *ch, char *err, size_t errlen)
{
	mpsd_val k, v;

	if (ch->n_keys != ch->n_values) {
		snprintf(err, errlen, "dict change with %zu keys and %zu values", ch->n_keys, ch->n_values);
		return DICT_ST(ERR_INVALID);
	}
	for (size_t i = 0; i < ch->n_keys; i++) {
		if (ch->keys[i] == NULL || ch->keys[i]->v_case == MPSTORE__VALUE__V__NOT_SET) {
			snprintf(err, errlen, "dict change with a null key");
			return DICT_ST(ERR_INVALID);
		}
		if (mpsd_val_from_pb(&k, ch->keys[i]) != 0)
			goto nomem;
		if (mpsd_val_from_pb(&v, ch->values[i]) != 0) {
			mpsd_val_fini(&k);
			goto nomem;
		}
		if (mpsd_dtab_put(t, &k, &v, NULL) != 0) {
			mpsd_val_fini(&k);
			mpsd_val_fini(&v);
			goto nomem;
		}
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return DICT_ST(ERR_LIMIT);
}

static int dict_apply_delete(mpsd_dtab *t, const Mpstore__Change *ch, char *err, size_t errlen)
{
	mpsd_val k;

	for (size_t i = 0; i < ch->n_keys; i++) {
		if (mpsd_val_from_pb(&k, ch->keys[i]) != 0) {
			snprintf(err, errlen, "out of memory");
			return DICT_ST(ERR_LIMIT);
		}
		mpsd_dtab_del(t, &k, NULL);
		mpsd_val_fini(&k);
	}
	return 0;
}

int mpsd_dict_apply(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen)
{
	mpsd_dtab *t = dict_tab(c);

	switch (ch->type) {
	case MPSTORE__CHANGE_TYPE__CH_RESYNC:
		mpsd_dtab_fini(t);
		return dict_apply_set(t, ch, err, errlen);
	case MPSTORE__CHANGE_TYPE__CH_DICT_SET:
		return dict_apply_set(t, ch, err, errlen);
	case MPSTORE__CHANGE_TYPE__CH_DICT_DELETE:
		return dict_apply_delete(t, ch, err, errlen);
	case MPSTORE__CHANGE_TYPE__CH_CLEAR:
		mpsd_dtab_fini(t);
		return 0;
	default:
		snprintf(err, errlen, "change type %d does not apply to a %s", (int) ch->type, c->k->name);
		return DICT_ST(ERR_INVALID);
	}
}

static const mpsd_opdef dict_ops[] = {
	{ MPSTORE__OP_CODE__OP_DICT_SET, "set", MPSD_OPF_WRITE | MPSD_OPF_GROWS, mpsd_dict_op_set },
	{ MPSTORE__OP_CODE__OP_DICT_GET, "get", 0, mpsd_dict_op_get },
	{ MPSTORE__OP_CODE__OP_DICT_DEL, "del", MPSD_OPF_WRITE, mpsd_dict_op_del },
	{ MPSTORE__OP_CODE__OP_DICT_CONTAINS, "contains", 0, mpsd_dict_op_contains },
	{ MPSTORE__OP_CODE__OP_DICT_LEN, "len", 0, mpsd_dict_op_len },
	{ MPSTORE__OP_CODE__OP_DICT_KEYS, "keys", 0, mpsd_dict_op_keys },
	{ MPSTORE__OP_CODE__OP_DICT_VALUES, "values", 0, mpsd_dict_op_values },
	{ MPSTORE__OP_CODE__OP_DICT_ITEMS, "items", 0, mpsd_dict_op_items },
	{ MPSTORE__OP_CODE__OP_DICT_UPDATE, "update", MPSD_OPF_WRITE | MPSD_OPF_GROWS, dict_op_update },
	{ MPSTORE__OP_CODE__OP_DICT_SETDEFAULT, "setdefault", MPSD_OPF_WRITE | MPSD_OPF_GROWS, dict_op_setdefault },
	{ MPSTORE__OP_CODE__OP_DICT_POP, "pop", MPSD_OPF_WRITE, dict_op_pop },
	{ MPSTORE__OP_CODE__OP_DICT_CLEAR, "clear", MPSD_OPF_WRITE, mpsd_dict_op_clear },
	{ 0, NULL, 0, NULL },
};

const mpsd_kind mpsd_kind_dict = {
	.kind    = MPSTORE__KIND__KIND_DICT,
	.name    = "dict",
	.ops     = dict_ops,
	.init    = dict_init,
	.fini    = mpsd_dict_fini,
	.length  = mpsd_dict_length,
	.memory  = mpsd_dict_memory,
	.dump    = mpsd_dict_dump,
	.apply   = mpsd_dict_apply,
};
