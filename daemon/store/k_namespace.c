/*
 * k_namespace.c - KIND_NAMESPACE, like multiprocessing's
 * Manager().Namespace(): attributes by name. It is a dict (k_dict.c) whose
 * keys are always strings; a missing attribute fails with ERR_NO_KEY.
 */
#include "dict_kind.h"

static int ns_init(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen)
{
	c->key_type = MPSTORE__KEY_TYPE__KEY_STRING;
	return mpsd_dict_init_table(c, err, errlen);
}

static const mpsd_opdef ns_ops[] = {
	{ MPSTORE__OP_CODE__OP_DICT_SET, "set", MPSD_OPF_WRITE | MPSD_OPF_GROWS, mpsd_dict_op_set },
	{ MPSTORE__OP_CODE__OP_DICT_GET, "get", 0, mpsd_dict_op_get },
	{ MPSTORE__OP_CODE__OP_DICT_DEL, "del", MPSD_OPF_WRITE, mpsd_dict_op_del },
	{ MPSTORE__OP_CODE__OP_DICT_CONTAINS, "contains", 0, mpsd_dict_op_contains },
	{ MPSTORE__OP_CODE__OP_DICT_LEN, "len", 0, mpsd_dict_op_len },
	{ MPSTORE__OP_CODE__OP_DICT_KEYS, "keys", 0, mpsd_dict_op_keys },
	{ MPSTORE__OP_CODE__OP_DICT_VALUES, "values", 0, mpsd_dict_op_values },
	{ MPSTORE__OP_CODE__OP_DICT_ITEMS, "items", 0, mpsd_dict_op_items },
	{ MPSTORE__OP_CODE__OP_DICT_CLEAR, "clear", MPSD_OPF_WRITE, mpsd_dict_op_clear },
	{ 0, NULL, 0, NULL },
};

const mpsd_kind mpsd_kind_namespace = {
	.kind   = MPSTORE__KIND__KIND_NAMESPACE,
	.name   = "namespace",
	.ops    = ns_ops,
	.init   = ns_init,
	.fini   = mpsd_dict_fini,
	.length = mpsd_dict_length,
	.memory = mpsd_dict_memory,
	.dump   = mpsd_dict_dump,
	.apply  = mpsd_dict_apply,
};
