/*
 * dict_kind.h - the dict kind's handlers, shared with the namespace kind
 * (k_namespace.c), which is a dict with string keys. Same contracts as
 * mpsd_op_fn and the mpsd_kind members (container.h).
 */
#ifndef MPSD_DICT_KIND_H
#define MPSD_DICT_KIND_H

#include "container.h"

int mpsd_dict_op_set(mpsd_exec *x, mpsd_container *c);
int mpsd_dict_op_get(mpsd_exec *x, mpsd_container *c);
int mpsd_dict_op_del(mpsd_exec *x, mpsd_container *c);
int mpsd_dict_op_contains(mpsd_exec *x, mpsd_container *c);
int mpsd_dict_op_len(mpsd_exec *x, mpsd_container *c);
int mpsd_dict_op_keys(mpsd_exec *x, mpsd_container *c);
int mpsd_dict_op_values(mpsd_exec *x, mpsd_container *c);
int mpsd_dict_op_items(mpsd_exec *x, mpsd_container *c);
int mpsd_dict_op_clear(mpsd_exec *x, mpsd_container *c);

/* Allocate the table; c->key_type must be set and valid. */
int     mpsd_dict_init_table(mpsd_container *c, char *err, size_t errlen);
void    mpsd_dict_fini(mpsd_container *c);
int64_t mpsd_dict_length(const mpsd_container *c);
size_t  mpsd_dict_memory(const mpsd_container *c);
int     mpsd_dict_dump(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg);
int     mpsd_dict_apply(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen);

#endif
