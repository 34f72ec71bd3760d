/* kinds.c - the table of container kinds and the names used in messages. */
#include <stddef.h>

#include "container.h"

/* Kinds not linked in yet resolve to NULL (weak), so the daemon can be
 * built while a kind is being written; the daemon links the core whole. */
#define WEAK __attribute__((weak))
extern const mpsd_kind mpsd_kind_value WEAK;
extern const mpsd_kind mpsd_kind_list WEAK;
extern const mpsd_kind mpsd_kind_dict WEAK;
extern const mpsd_kind mpsd_kind_queue WEAK;
extern const mpsd_kind mpsd_kind_lock WEAK;
extern const mpsd_kind mpsd_kind_rlock WEAK;
extern const mpsd_kind mpsd_kind_semaphore WEAK;
extern const mpsd_kind mpsd_kind_bounded_semaphore WEAK;
extern const mpsd_kind mpsd_kind_event WEAK;
extern const mpsd_kind mpsd_kind_condition WEAK;
extern const mpsd_kind mpsd_kind_barrier WEAK;
extern const mpsd_kind mpsd_kind_array WEAK;
extern const mpsd_kind mpsd_kind_namespace WEAK;

const mpsd_kind *mpsd_kind_find(Mpstore__Kind kind)
{
	switch (kind) {
	case MPSTORE__KIND__KIND_VALUE: return &mpsd_kind_value;
	case MPSTORE__KIND__KIND_LIST: return &mpsd_kind_list;
	case MPSTORE__KIND__KIND_DICT: return &mpsd_kind_dict;
	case MPSTORE__KIND__KIND_QUEUE: return &mpsd_kind_queue;
	case MPSTORE__KIND__KIND_LOCK: return &mpsd_kind_lock;
	case MPSTORE__KIND__KIND_RLOCK: return &mpsd_kind_rlock;
	case MPSTORE__KIND__KIND_SEMAPHORE: return &mpsd_kind_semaphore;
	case MPSTORE__KIND__KIND_BOUNDED_SEMAPHORE: return &mpsd_kind_bounded_semaphore;
	case MPSTORE__KIND__KIND_EVENT: return &mpsd_kind_event;
	case MPSTORE__KIND__KIND_CONDITION: return &mpsd_kind_condition;
	case MPSTORE__KIND__KIND_BARRIER: return &mpsd_kind_barrier;
	case MPSTORE__KIND__KIND_ARRAY: return &mpsd_kind_array;
	case MPSTORE__KIND__KIND_NAMESPACE: return &mpsd_kind_namespace;
	default: return NULL;
	}
}

const char *mpsd_kind_name(Mpstore__Kind kind)
{
	static const char *const names[] = {"none", "value", "list", "dict", "queue", "lock",
	    "rlock", "semaphore", "bounded_semaphore", "event", "condition", "barrier", "array",
	    "namespace"};
	if ((unsigned)kind < sizeof(names) / sizeof(names[0]))
		return names[kind];
	return "unknown";
}

const char *mpsd_elem_type_name(Mpstore__ElemType t)
{
	static const char *const names[] = {"any", "int64", "double", "bool", "string", "bytes",
	    "message"};
	if ((unsigned)t < sizeof(names) / sizeof(names[0]))
		return names[t];
	return "unknown";
}
