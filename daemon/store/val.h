/*
 * val.h - the daemon's in-memory value: 16 bytes, strings of up to 13 bytes
 * stored inline (no allocation), longer ones on the heap.
 *
 * A mpsd_val owns its heap data; copy with mpsd_val_dup, release with
 * mpsd_val_fini. The protobuf conversion helpers translate at the wire
 * boundary. Nothing here knows about nng or SQLite. Not thread-safe: the
 * store lock protects every value reachable from a container.
 */
#ifndef MPSD_VAL_H
#define MPSD_VAL_H

#include <stddef.h>
#include <stdint.h>

#include "mpstore.pb-c.h"

typedef enum mpsd_vtype {
	MPSD_V_NULL = 0,
	MPSD_V_INT,
	MPSD_V_DOUBLE,
	MPSD_V_BOOL,
	MPSD_V_STR,
	MPSD_V_BYTES,
	MPSD_V_MSG, /* protobuf encoding of the container's message type */
} mpsd_vtype;

#define MPSD_VAL_INLINE 13

/*
 * Layout (opaque; use the accessors): type, a length byte that is 0xff when
 * the data is on the heap, then 14 bytes holding either inline data
 * (len <= 13, NUL-terminated) or a uint32 length and a pointer, or an
 * int64/double.
 */
typedef struct mpsd_val {
	uint8_t type;
	uint8_t slen;
	char    b[14];
} mpsd_val;

/* Constructors. Data is copied. Return 0, or ENOMEM (val left NULL). */
void mpsd_val_null(mpsd_val *v);
void mpsd_val_int(mpsd_val *v, int64_t i);
void mpsd_val_double(mpsd_val *v, double d);
void mpsd_val_bool(mpsd_val *v, int b);
int  mpsd_val_blob(mpsd_val *v, mpsd_vtype type, const void *data, size_t len);

/* Accessors. Data pointer valid until the value is changed or freed; it is
 * NUL-terminated for convenience. */
int64_t     mpsd_val_get_int(const mpsd_val *v);
double      mpsd_val_get_double(const mpsd_val *v);
int         mpsd_val_get_bool(const mpsd_val *v);
const char *mpsd_val_data(const mpsd_val *v, size_t *len);

void     mpsd_val_fini(mpsd_val *v); /* frees heap data; v becomes null */
int      mpsd_val_dup(mpsd_val *dst, const mpsd_val *src);
int      mpsd_val_equal(const mpsd_val *a, const mpsd_val *b);
uint64_t mpsd_val_hash(const mpsd_val *v);
/* Heap bytes owned by the value (0 when inline); for memory stats. */
size_t mpsd_val_heap(const mpsd_val *v);

/*
 * Wire conversion. mpsd_val_from_pb copies; a NULL pv is null. Returns 0 or
 * ENOMEM. mpsd_val_to_pb fills *pv (initialised here) with pointers INTO v:
 * valid only while v is unchanged; use mpsd_val_to_pb_copy with an
 * allocator for data that must outlive the store lock.
 */
int  mpsd_val_from_pb(mpsd_val *v, const Mpstore__Value *pv);
void mpsd_val_to_pb(const mpsd_val *v, Mpstore__Value *pv);

/* Name of a value's type for error messages ("int64", "string", ...). */
const char *mpsd_vtype_name(mpsd_vtype t);

#endif
