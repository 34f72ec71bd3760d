/*
 * gen_ops.c - the typed functions of one container: one table row per op
 * and kind, emitted as a declaration (header) or a definition (source).
 *
 * Patterns: PASS calls the generic function as is; IN converts the element
 * `v` to an mps_value first; OUT converts the returned mps_value into *out;
 * ARR converts an array of returned values. A dict's key `key` is converted
 * for every op that names one.
 */
#include <stdio.h>
#include <string.h>

#include "gen.h"

typedef enum { PASS, IN, OUT, ARR, ARRKEYS } pattern;

typedef struct op {
	int         kind;
	const char *name;   /* function suffix */
	pattern     pat;
	bool        key;    /* dict key parameter first */
	const char *params; /* extra parameters after c (and key); "$IN"/"$OUT" element */
	const char *call;   /* generic call; $N name macro, $K key value, $V element value */
	const char *doc;
} op;

static const op ops[] = {
    {MPSG_K_VALUE, "get", OUT, false, "$OUT out", "mps_value_get(c, $N, &r_)",
     "The value in *out (see the header's ownership note)."},
    {MPSG_K_VALUE, "set", IN, false, "$IN v", "mps_value_set(c, $N, &v_)", "Set the value."},
    {MPSG_K_LIST, "append", IN, false, "$IN v, int64_t *len", "mps_list_append(c, $N, &v_, len)",
     "Append v; *len (may be NULL) gets the new length."},
    {MPSG_K_LIST, "insert", IN, false, "int64_t index, $IN v",
     "mps_list_insert(c, $N, index, &v_)", "Insert v before index (Python insert)."},
    {MPSG_K_LIST, "get", OUT, false, "int64_t index, $OUT out",
     "mps_list_get(c, $N, index, &r_)", "Element index (negative: from the end) in *out."},
    {MPSG_K_LIST, "set", IN, false, "int64_t index, $IN v", "mps_list_set(c, $N, index, &v_)",
     "Replace element index."},
    {MPSG_K_LIST, "pop", OUT, false, "$OUT out", "mps_list_pop(c, $N, &r_)",
     "Remove the last element into *out; MPS_ERR_EMPTY when empty."},
    {MPSG_K_LIST, "len", PASS, false, "int64_t *len", "mps_list_len(c, $N, len)", "Length."},
    {MPSG_K_LIST, "clear", PASS, false, NULL, "mps_list_clear(c, $N)", "Remove every element."},
    {MPSG_K_LIST, "slice", ARR, false, "int64_t start, int64_t stop, int has_stop, $ARR",
     "mps_list_slice(c, $N, start, stop, has_stop, &r_, &n_)",
     "Elements [start, stop) in a new array *out of *n (free with $P__free_array)."},
    {MPSG_K_ARRAY, "get", OUT, false, "int64_t index, $OUT out",
     "mps_array_get(c, $N, index, &r_)", "Element index in *out."},
    {MPSG_K_ARRAY, "set", IN, false, "int64_t index, $IN v", "mps_array_set(c, $N, index, &v_)",
     "Replace element index."},
    {MPSG_K_ARRAY, "len", PASS, false, "int64_t *len", "mps_array_len(c, $N, len)", "Length."},
    {MPSG_K_ARRAY, "slice", ARR, false, "int64_t start, int64_t stop, int has_stop, $ARR",
     "mps_array_slice(c, $N, start, stop, has_stop, &r_, &n_)",
     "Elements [start, stop) in a new array *out of *n (free with $P__free_array)."},
    {MPSG_K_QUEUE, "put", IN, false, "$IN v, int64_t timeout_ms, int64_t *qsize",
     "mps_queue_put(c, $N, &v_, timeout_ms, qsize)",
     "Put v, waiting up to timeout_ms when full (< 0 for ever, 0 never)."},
    {MPSG_K_QUEUE, "get", OUT, false, "int64_t timeout_ms, $OUT out",
     "mps_queue_get(c, $N, timeout_ms, &r_)", "Take the head into *out, waiting up to timeout_ms."},
    {MPSG_K_QUEUE, "size", PASS, false, "int64_t *size", "mps_queue_size(c, $N, size)",
     "Number of items."},
    {MPSG_K_QUEUE, "task_done", PASS, false, NULL, "mps_queue_task_done(c, $N)",
     "Mark one taken item as processed."},
    {MPSG_K_DICT, "set", IN, true, "$IN v", "mps_dict_set(c, $N, &k_, &v_)", "Set key to v."},
    {MPSG_K_DICT, "get", OUT, true, "$OUT out", "mps_dict_get(c, $N, &k_, &r_)",
     "The value of key in *out; MPS_ERR_NO_KEY when missing."},
    {MPSG_K_DICT, "del", PASS, true, NULL, "mps_dict_del(c, $N, &k_)", "Remove key."},
    {MPSG_K_DICT, "contains", PASS, true, "int *yes", "mps_dict_contains(c, $N, &k_, yes)",
     "*yes = 1 when key is present."},
    {MPSG_K_DICT, "len", PASS, false, "int64_t *len", "mps_dict_len(c, $N, len)",
     "Number of entries."},
    {MPSG_K_DICT, "clear", PASS, false, NULL, "mps_dict_clear(c, $N)", "Remove every entry."},
    {MPSG_K_DICT, "keys", ARRKEYS, false, "$KARR", "mps_dict_keys(c, $N, &r_, &n_)",
     "Every key in a new array *keys of *n (free with $P__free_keys)."},
    {MPSG_K_LOCK, "acquire", PASS, false, "int64_t timeout_ms, uint64_t *token",
     "mps_lock_acquire(c, $N, timeout_ms, token)", "Acquire; *token gets the fencing token."},
    {MPSG_K_LOCK, "release", PASS, false, NULL, "mps_lock_release(c, $N)", "Release."},
    {MPSG_K_RLOCK, "acquire", PASS, false, "int64_t timeout_ms, uint64_t *token, int64_t *depth",
     "mps_rlock_acquire(c, $N, timeout_ms, token, depth)", "Acquire (re-entrant)."},
    {MPSG_K_RLOCK, "release", PASS, false, NULL, "mps_lock_release(c, $N)", "Release once."},
    {MPSG_K_SEMAPHORE, "acquire", PASS, false, "int64_t timeout_ms, int64_t *value",
     "mps_sem_acquire(c, $N, timeout_ms, value)", "Take one unit."},
    {MPSG_K_SEMAPHORE, "release", PASS, false, "int64_t *value", "mps_sem_release(c, $N, value)",
     "Give one unit back."},
    {MPSG_K_SEMAPHORE, "value", PASS, false, "int64_t *value", "mps_sem_value(c, $N, value)",
     "Units available."},
    {MPSG_K_BOUNDED_SEMAPHORE, "acquire", PASS, false, "int64_t timeout_ms, int64_t *value",
     "mps_sem_acquire(c, $N, timeout_ms, value)", "Take one unit."},
    {MPSG_K_BOUNDED_SEMAPHORE, "release", PASS, false, "int64_t *value",
     "mps_sem_release(c, $N, value)", "Give one unit back."},
    {MPSG_K_BOUNDED_SEMAPHORE, "value", PASS, false, "int64_t *value",
     "mps_sem_value(c, $N, value)", "Units available."},
    {MPSG_K_EVENT, "set", PASS, false, NULL, "mps_event_set(c, $N)", "Set the event."},
    {MPSG_K_EVENT, "clear", PASS, false, NULL, "mps_event_clear(c, $N)", "Clear the event."},
    {MPSG_K_EVENT, "is_set", PASS, false, "int *is_set", "mps_event_is_set(c, $N, is_set)",
     "*is_set = 1 when set."},
    {MPSG_K_EVENT, "wait", PASS, false, "int64_t timeout_ms, int *is_set",
     "mps_event_wait(c, $N, timeout_ms, is_set)", "Wait until set or timeout_ms passed."},
    {MPSG_K_CONDITION, "acquire", PASS, false, "int64_t timeout_ms, uint64_t *token",
     "mps_cond_acquire(c, $N, timeout_ms, token)", "Acquire the condition's lock."},
    {MPSG_K_CONDITION, "release", PASS, false, NULL, "mps_cond_release(c, $N)",
     "Release the condition's lock."},
    {MPSG_K_CONDITION, "wait", PASS, false, "int64_t timeout_ms, int *notified",
     "mps_cond_wait(c, $N, timeout_ms, notified)", "Wait for a notify (lock held)."},
    {MPSG_K_CONDITION, "notify", PASS, false, "int64_t n, int64_t *woken",
     "mps_cond_notify(c, $N, n, woken)", "Wake up to n waiters."},
    {MPSG_K_CONDITION, "notify_all", PASS, false, "int64_t *woken",
     "mps_cond_notify_all(c, $N, woken)", "Wake every waiter."},
    {MPSG_K_BARRIER, "wait", PASS, false, "int64_t timeout_ms, int64_t *index",
     "mps_barrier_wait(c, $N, timeout_ms, index)", "Wait for every party."},
    {MPSG_K_BARRIER, "abort", PASS, false, NULL, "mps_barrier_abort(c, $N)", "Break the barrier."},
    {MPSG_K_BARRIER, "reset", PASS, false, NULL, "mps_barrier_reset(c, $N)", "Reset the barrier."},
    {MPSG_K_NAMESPACE, "set", PASS, false, "const char *attr, const mps_value *v",
     "mps_ns_set(c, $N, attr, v)", "Set attribute attr."},
    {MPSG_K_NAMESPACE, "get", PASS, false, "const char *attr, mps_value *out",
     "mps_ns_get(c, $N, attr, out)", "Attribute attr in *out (mps_value_free)."},
    {MPSG_K_NAMESPACE, "del", PASS, false, "const char *attr", "mps_ns_del(c, $N, attr)",
     "Remove attribute attr."},
};

/* expands $IN $OUT $ARR $KARR $N $P in s */
static void
expand(mpsg_out *o, const mpsg_cont *k, const char *s)
{
	while (*s) {
		if (strncmp(s, "$IN", 3) == 0) {
			mpsg_printf(o, "%s", mpsg_in_type(k));
			s += 3;
			if (*s == ' ')
				s++;
		} else if (strncmp(s, "$OUT", 4) == 0) {
			mpsg_printf(o, "%s", mpsg_out_type(k));
			s += 4;
			if (*s == ' ')
				s++;
		} else if (strncmp(s, "$KARR", 5) == 0) {
			mpsg_printf(o, "%s**keys, size_t *n", mpsg_key_c(k));
			s += 5;
		} else if (strncmp(s, "$ARR", 4) == 0) {
			mpsg_printf(o, "%s**out, size_t *n", mpsg_elem_c(k));
			s += 4;
		} else if (strncmp(s, "$N", 2) == 0) {
			mpsg_printf(o, "%s__NAME", k->macro);
			s += 2;
		} else if (strncmp(s, "$P", 2) == 0) {
			mpsg_printf(o, "%s", k->prefix);
			s += 2;
		} else {
			mpsg_printf(o, "%c", *s++);
		}
	}
}

static void
signature(mpsg_out *o, const mpsg_cont *k, const op *p, bool decl)
{
	mpsg_printf(o, "mps_err%s%s__%s(mps_client *c", decl ? " " : "\n", k->prefix, p->name);
	if (p->key)
		mpsg_printf(o, ", %skey", mpsg_key_in(k));
	if (p->params) {
		mpsg_printf(o, ", ");
		expand(o, k, p->params);
	}
	mpsg_printf(o, ")");
}

/* helper names (defined in gen_file.c's prologue) */
static const char *
to_fn(const mpsg_cont *k)
{
	static char buf[300];
	switch (k->c->elem_type) {
	case MPSG_E_INT64: return "mps_gen__to_int";
	case MPSG_E_DOUBLE: return "mps_gen__to_double";
	case MPSG_E_BOOL: return "mps_gen__to_bool";
	case MPSG_E_STRING: return "mps_gen__to_string";
	case MPSG_E_BYTES: return "mps_gen__to_bytes";
	case MPSG_E_MESSAGE:
		snprintf(buf, sizeof(buf), "mps_gen__pack__%s", k->msg_low);
		return buf;
	default: return "mps_gen__to_any";
	}
}

static const char *
from_fn(const mpsg_cont *k)
{
	static char buf[300];
	switch (k->c->elem_type) {
	case MPSG_E_INT64: return "mps_gen__from_int";
	case MPSG_E_DOUBLE: return "mps_gen__from_double";
	case MPSG_E_BOOL: return "mps_gen__from_bool";
	case MPSG_E_STRING: return "mps_gen__from_string";
	case MPSG_E_BYTES: return "mps_gen__from_bytes";
	case MPSG_E_MESSAGE:
		snprintf(buf, sizeof(buf), "mps_gen__unpack__%s", k->msg_low);
		return buf;
	default: return "mps_gen__from_any";
	}
}

static void
body(mpsg_out *o, const mpsg_cont *k, const op *p)
{
	mpsg_printf(o, "\n{\n");
	if (p->key)
		mpsg_printf(o, "\tmps_value k_ = %s;\n",
		            k->c->key_type == 1 ? "mps_int(key)" : "mps_str(key)");
	switch (p->pat) {
	case PASS:
		mpsg_printf(o, "\treturn ");
		expand(o, k, p->call);
		mpsg_printf(o, ";\n");
		break;
	case IN:
		mpsg_printf(o, "\tmps_value v_;\n\tuint8_t  *buf_ = NULL;\n");
		mpsg_printf(o, "\tmps_err   rv_ = %s(v, &v_, &buf_);\n\n", to_fn(k));
		mpsg_printf(o, "\tif (rv_ != MPS_OK)\n\t\treturn rv_;\n\trv_ = ");
		expand(o, k, p->call);
		mpsg_printf(o, ";\n\tfree(buf_);\n\treturn rv_;\n");
		break;
	case OUT:
		mpsg_printf(o, "\tmps_value r_;\n\tmps_err   rv_ = ");
		expand(o, k, p->call);
		mpsg_printf(o, ";\n\n\tif (rv_ != MPS_OK)\n\t\treturn rv_;\n");
		mpsg_printf(o, "\trv_ = %s(&r_, out);\n\tmps_value_free(&r_);\n\treturn rv_;\n",
		            from_fn(k));
		break;
	case ARR:
	case ARRKEYS: {
		const char *dst = p->pat == ARR ? "out" : "keys";
		const char *conv = p->pat == ARR ? from_fn(k)
		                   : k->c->key_type == 1 ? "mps_gen__from_int"
		                                         : "mps_gen__from_string";
		mpsg_printf(o, "\tmps_value *r_ = NULL;\n\tsize_t     n_ = 0;\n\tmps_err    rv_ = ");
		expand(o, k, p->call);
		mpsg_printf(o, ";\n\n\tif (rv_ != MPS_OK)\n\t\treturn rv_;\n");
		mpsg_printf(o, "\tif ((*%s = calloc(n_ ? n_ : 1, sizeof(**%s))) == NULL) {\n"
		               "\t\tmps_values_free(r_, n_);\n\t\treturn MPS_ERR_NOMEM;\n\t}\n",
		            dst, dst);
		mpsg_printf(o, "\tfor (size_t i_ = 0; i_ < n_ && rv_ == MPS_OK; i_++)\n"
		               "\t\trv_ = %s(&r_[i_], &(*%s)[i_]);\n\tmps_values_free(r_, n_);\n",
		            conv, dst);
		mpsg_printf(o, "\tif (rv_ != MPS_OK) {\n\t\t%s__free_%s(*%s, n_);\n\t\t*%s = NULL;\n"
		               "\t\treturn rv_;\n\t}\n\t*n = n_;\n\treturn MPS_OK;\n",
		            k->prefix, p->pat == ARR ? "array" : "keys", dst, dst);
		break;
	}
	}
	mpsg_printf(o, "}\n");
}

static bool
has_arr(const mpsg_cont *k)
{
	return k->c->kind == MPSG_K_LIST || k->c->kind == MPSG_K_ARRAY;
}

void
mpsg_gen_ops(mpsg_out *o, const mpsg_cont *k, bool decl)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const op *p = &ops[i];
		if (p->kind != k->c->kind)
			continue;
		if (decl) {
			mpsg_printf(o, "/* ");
			expand(o, k, p->doc);
			mpsg_printf(o, " */\n");
		}
		if (!decl)
			mpsg_printf(o, "\n");
		signature(o, k, p, decl);
		if (decl)
			mpsg_printf(o, ";\n");
		else
			body(o, k, p);
	}
	/* counters and double values: atomic add */
	if (k->c->kind == MPSG_K_VALUE &&
	    (k->c->elem_type == MPSG_E_INT64 || k->c->elem_type == MPSG_E_DOUBLE)) {
		const char *t = k->c->elem_type == MPSG_E_INT64 ? "int64_t" : "double";
		if (!decl)
			mpsg_printf(o, "\n");
		if (decl)
			mpsg_printf(o, "/* Atomically add delta; *newval (may be NULL) gets the result. */\n");
		mpsg_printf(o, "mps_err%s%s__add(mps_client *c, %s delta, %s *newval)%s",
		            decl ? " " : "\n", k->prefix, t, t, decl ? ";\n" : "\n{\n");
		if (!decl)
			mpsg_printf(o, "\treturn %s(c, %s__NAME, delta, newval);\n}\n",
			            k->c->elem_type == MPSG_E_INT64 ? "mps_counter_add"
			                                            : "mps_value_add_double",
			            k->macro);
	}
	if (has_arr(k)) {
		if (!decl)
			mpsg_printf(o, "\n");
		if (decl)
			mpsg_printf(o, "/* Free an array returned by %s__slice (NULL is fine). */\n",
			            k->prefix);
		mpsg_printf(o, "void%s%s__free_array(%s*v, size_t n)%s", decl ? " " : "\n",
		            k->prefix, mpsg_elem_c(k), decl ? ";\n" : "\n{\n");
		if (!decl) {
			if (k->c->elem_type == MPSG_E_MESSAGE)
				mpsg_printf(o, "\tfor (size_t i = 0; v != NULL && i < n; i++)\n"
				               "\t\t%s__free_unpacked(v[i], NULL);\n", k->msg_low);
			else if (k->c->elem_type == MPSG_E_STRING)
				mpsg_printf(o, "\tfor (size_t i = 0; v != NULL && i < n; i++)\n"
				               "\t\tfree(v[i]);\n");
			else if (k->c->elem_type == MPSG_E_BYTES)
				mpsg_printf(o, "\tfor (size_t i = 0; v != NULL && i < n; i++)\n"
				               "\t\tfree(v[i].data);\n");
			else if (k->c->elem_type == MPSG_E_ANY)
				mpsg_printf(o, "\tfor (size_t i = 0; v != NULL && i < n; i++)\n"
				               "\t\tmps_value_free(&v[i]);\n");
			else
				mpsg_printf(o, "\t(void)n;\n");
			mpsg_printf(o, "\tfree(v);\n}\n");
		}
	}
	if (k->c->kind == MPSG_K_DICT) {
		if (!decl)
			mpsg_printf(o, "\n");
		if (decl)
			mpsg_printf(o, "/* Free an array returned by %s__keys (NULL is fine). */\n",
			            k->prefix);
		mpsg_printf(o, "void%s%s__free_keys(%s*keys, size_t n)%s", decl ? " " : "\n",
		            k->prefix, mpsg_key_c(k), decl ? ";\n" : "\n{\n");
		if (!decl) {
			if (k->c->key_type == 1)
				mpsg_printf(o, "\t(void)n;\n");
			else
				mpsg_printf(o, "\tfor (size_t i = 0; keys != NULL && i < n; i++)\n"
				               "\t\tfree(keys[i]);\n");
			mpsg_printf(o, "\tfree(keys);\n}\n");
		}
	}
}
