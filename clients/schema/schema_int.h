/*
 * schema_int.h - internals of mpstore_schema shared by its .c files.
 */
#ifndef MPSS_SCHEMA_INT_H
#define MPSS_SCHEMA_INT_H

#include <stdarg.h>
#include <stdbool.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "mpstore/mpstore.h"
#include "schema.h"

typedef Google__Protobuf__FileDescriptorSet   gpb_set;
typedef Google__Protobuf__FileDescriptorProto gpb_file;
typedef Google__Protobuf__DescriptorProto     gpb_msg;
typedef Google__Protobuf__FieldDescriptorProto gpb_field;
typedef Google__Protobuf__EnumDescriptorProto gpb_enum;

/* FieldDescriptorProto.Type values */
enum {
	FT_DOUBLE = 1, FT_FLOAT, FT_INT64, FT_UINT64, FT_INT32, FT_FIXED64,
	FT_FIXED32, FT_BOOL, FT_STRING, FT_GROUP, FT_MESSAGE, FT_BYTES,
	FT_UINT32, FT_ENUM, FT_SFIXED32, FT_SFIXED64, FT_SINT32, FT_SINT64
};
enum { LBL_OPTIONAL = 1, LBL_REQUIRED = 2, LBL_REPEATED = 3 };
/* wire types */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

typedef struct mpss_enum {
	char           *full; /* without leading dot */
	const gpb_enum *d;
} mpss_enum;

typedef struct mpss_field {
	const gpb_field *d;
	const char      *name;
	const char      *json_name; /* never NULL */
	int32_t          number;
	int              type;  /* FT_* */
	int              label; /* LBL_* */
	bool             packed; /* preferred encoding when writing */
	struct mpss_msg *msg;   /* FT_MESSAGE / FT_GROUP */
	mpss_enum       *en;    /* FT_ENUM */
	char            *json_alloc;
} mpss_field;

struct mpss_msg {
	char           *full; /* without leading dot */
	const gpb_msg  *d;
	const gpb_file *file;
	bool            proto3;
	bool            map_entry;
	mpss_field     *fields;
	size_t          n_fields;
	size_t          n_required;
};

typedef struct mpss_file {
	uint8_t  *bytes; /* packed FileDescriptorProto */
	size_t    len;
	gpb_file *fd;
} mpss_file;

struct mpss_registry {
	mpss_file *files;
	size_t     n_files;
	mpss_msg  *msgs; /* sorted by full */
	size_t     n_msgs;
	mpss_enum *enums; /* sorted by full */
	size_t     n_enums;
};

/* error helper; err may be NULL; returns code */
int mpss__fail(mpss_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const mpss_field *mpss__field_by_number(const mpss_msg *m, int32_t num);
const mpss_field *mpss__field_by_name(const mpss_msg *m, const char *name);
const mpss_enum *mpss__enum_find(const mpss_registry *reg, const char *name);

/* unknown-field (extension) options */
bool mpss__opt_varint(const ProtobufCMessage *opts, uint32_t tag, uint64_t *v);
bool mpss__opt_string(const ProtobufCMessage *opts, uint32_t tag, const uint8_t **s,
                      size_t *len);

/* wire reading: return bytes consumed, 0 on truncation/overlong */
size_t mpss__varint(const uint8_t *p, size_t len, uint64_t *v);
const char *mpss__wt_name(int wt);
int mpss__expected_wt(int type);
bool mpss__utf8_ok(const uint8_t *s, size_t len);

/* growable buffer */
typedef struct mpss_buf {
	uint8_t *p;
	size_t   len, cap;
	bool     oom;
} mpss_buf;
void mpss__buf_put(mpss_buf *b, const void *d, size_t n);
void mpss__buf_puts(mpss_buf *b, const char *s);
void mpss__buf_printf(mpss_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mpss__buf_varint(mpss_buf *b, uint64_t v);

#endif
