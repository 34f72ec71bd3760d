/*
 * gen.h - internals of protoc-gen-mpstore: the output printer, naming
 * rules (protobuf-c's) and the per-file generation context.
 */
#ifndef MPSG_GEN_H
#define MPSG_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"

/* growable text; out of memory aborts the plugin (it is a short-lived tool) */
typedef struct mpsg_out {
	char  *p;
	size_t len, cap;
} mpsg_out;
void mpsg_printf(mpsg_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *mpsg_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* protobuf-c naming: "pkg.Outer.Inner" -> "Pkg__Outer__Inner" / "pkg__outer__inner" */
char *mpsg_c_type(const char *full);
char *mpsg_c_lower(const char *full);
/* "dir/shop.proto" -> "dir/shop" */
char *mpsg_file_base(const char *proto_name);
/* "dir/shop.proto" -> "DIR_SHOP_MPS_H" style identifier (upper, [A-Z0-9_]) */
char *mpsg_ident(const char *s, bool upper);

/* One container, with its generated C names. */
typedef struct mpsg_cont {
	const mpss_container *c;
	char *prefix;   /* "shop__jobs" */
	char *macro;    /* "SHOP__JOBS" */
	char *msg_type; /* "Shop__Job" when elem is a message */
	char *msg_low;  /* "shop__job" */
	char *store_low; /* "shop" (store message without package) */
} mpsg_cont;

typedef struct mpsg_file {
	const char *proto;  /* "shop.proto" */
	char       *base;   /* "shop" */
	char       *guard;  /* "SHOP_MPS_H" */
	char       *set_sym; /* "shop__mps_descriptor_set" */
	mpsg_cont  *conts;
	size_t      n;
	const uint8_t *set; /* embedded FileDescriptorSet */
	size_t      set_len;
} mpsg_file;

void mpsg_gen_header(mpsg_out *o, const mpsg_file *f);
void mpsg_gen_source(mpsg_out *o, const mpsg_file *f);
void mpsg_gen_ops(mpsg_out *o, const mpsg_cont *k, bool decl);

/* wire enums, as in schema/mpstore.proto */
enum { MPSG_K_VALUE = 1, MPSG_K_LIST, MPSG_K_DICT, MPSG_K_QUEUE, MPSG_K_LOCK, MPSG_K_RLOCK,
       MPSG_K_SEMAPHORE, MPSG_K_BOUNDED_SEMAPHORE, MPSG_K_EVENT, MPSG_K_CONDITION,
       MPSG_K_BARRIER, MPSG_K_ARRAY, MPSG_K_NAMESPACE };
enum { MPSG_E_ANY, MPSG_E_INT64, MPSG_E_DOUBLE, MPSG_E_BOOL, MPSG_E_STRING, MPSG_E_BYTES,
       MPSG_E_MESSAGE };

/* C spellings of an element type for a container */
const char *mpsg_in_type(const mpsg_cont *k);  /* "const Shop__Job *", "int64_t", ... */
const char *mpsg_out_type(const mpsg_cont *k); /* "Shop__Job **", "int64_t *", ... */
const char *mpsg_elem_c(const mpsg_cont *k);   /* "Shop__Job *", "int64_t", "char *", ... */
const char *mpsg_key_in(const mpsg_cont *k);   /* "const char *" / "int64_t" */
const char *mpsg_key_c(const mpsg_cont *k);    /* "char *" / "int64_t" */

#endif
