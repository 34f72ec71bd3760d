/*
 * schema.h - mpstore_schema: protobuf schemas (descriptor sets) for mpstore.
 *
 * Used by the daemon (load/merge schemas, check every message element
 * against its declared type, refuse incompatible re-registration, create
 * declared containers), by the CLI (message <-> JSON) and by
 * protoc-gen-mpstore (declared containers). Static library, prefix mpss_.
 *
 * A registry holds FileDescriptorProtos parsed from FileDescriptorSets
 * (`protoc --include_imports -o`). Type names are accepted with or without
 * the leading dot (".shop.Job" or "shop.Job").
 *
 * Errors: functions return 0 or a positive mps_err code (see
 * mpstore/mpstore.h): MPS_ERR_SCHEMA (bad descriptor set, unresolved or
 * incompatible type, message that does not parse as its type), MPS_ERR_INVALID
 * (bad JSON or a JSON value that does not fit its field), MPS_ERR_NOT_FOUND
 * (unknown type name), MPS_ERR_NOMEM. When an `mpss_error *err` is given
 * (it may be NULL) it receives a readable, NUL-terminated message naming the
 * type, the field and the problem, e.g.
 *   "shop.Job.priority (field 3): expected varint, got length-delimited".
 *
 * Thread-safety: a registry is not locked. Concurrent reads (lookup,
 * validate, JSON, containers) are safe; a mutation (mpss_registry_add_set*)
 * needs exclusive access, and invalidates every mpss_msg pointer obtained
 * from the registry before it.
 */
#ifndef MPSS_SCHEMA_H
#define MPSS_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpss_registry mpss_registry;
typedef struct mpss_msg      mpss_msg;

typedef struct mpss_error {
	char msg[512];
} mpss_error;

/* Extension numbers of schema/mpstore/options.proto. */
#define MPSS_OPT_STORE   512340 /* MessageOptions bool   (mpstore.store)   */
#define MPSS_OPT_PREFIX  512341 /* MessageOptions string (mpstore.prefix)  */
#define MPSS_OPT_KIND    512342 /* FieldOptions   enum   (mpstore.kind)    */
#define MPSS_OPT_NAME    512343 /* FieldOptions   string (mpstore.name)    */
#define MPSS_OPT_MAXSIZE 512344 /* FieldOptions   int64  (mpstore.maxsize) */

/* Maximum nesting of messages the walkers follow (deeper is an error). */
#define MPSS_MAX_DEPTH 64

/* ---- registry ---------------------------------------------------------- */

/* An empty registry. Free with mpss_registry_free (accepts NULL). */
int  mpss_registry_alloc(mpss_registry **out);
void mpss_registry_free(mpss_registry *reg);

/*
 * Merges the FileDescriptorSet `data` (`len` bytes; copied) into reg. A
 * file whose name is already present replaces the old one. Every type
 * reference must resolve in the merged registry and no type may be defined
 * twice. All or nothing: on failure reg is unchanged.
 */
int mpss_registry_add_set(mpss_registry *reg, const uint8_t *data, size_t len,
                          mpss_error *err);

/*
 * As mpss_registry_add_set, but also refuses the merge when one of the
 * `n_used` message types in `used` (types that containers hold data of)
 * changes incompatibly (see mpss_compat_check) or disappears.
 */
int mpss_registry_add_set_checked(mpss_registry *reg, const uint8_t *data,
                                  size_t len, const char *const *used,
                                  size_t n_used, mpss_error *err);

/*
 * The registry as one FileDescriptorSet (files in dependency order), e.g.
 * for OP_GET_SCHEMA or persistence. *out is malloc'ed; the caller frees it.
 */
int mpss_registry_serialize(const mpss_registry *reg, uint8_t **out, size_t *len);

/* Number of files and message types held. */
size_t mpss_registry_n_files(const mpss_registry *reg);
size_t mpss_registry_n_messages(const mpss_registry *reg);

/* The message type `name` (".pkg.Msg" or "pkg.Msg"), or NULL. */
const mpss_msg *mpss_registry_find(const mpss_registry *reg, const char *name);

/* Its full name without the leading dot ("pkg.Msg"); owned by reg. */
const char *mpss_msg_name(const mpss_msg *m);

/* ---- validation -------------------------------------------------------- */

/*
 * Checks that data parses as message type `type`: every field's wire type
 * matches its declaration (packed or not for repeated scalars), lengths and
 * varints are not truncated, strings are UTF-8 (proto3 files), nested
 * messages and map entries recursively, proto2 required fields present.
 * Unknown field numbers are accepted when well-formed.
 * Returns 0, MPS_ERR_NOT_FOUND (no such type) or MPS_ERR_SCHEMA.
 */
int mpss_validate(const mpss_registry *reg, const char *type,
                  const uint8_t *data, size_t len, mpss_error *err);
int mpss_validate_msg(const mpss_msg *m, const uint8_t *data, size_t len,
                      mpss_error *err);

/* ---- compatibility ----------------------------------------------------- */

/*
 * Whether data stored as `type` under old_reg still parses, with the same
 * meaning, as `type` under new_reg. Refused: the type removed; a field
 * number whose type changed to a wire-incompatible one (e.g. int64 ->
 * string, double -> float, sint64 -> int64, bytes -> string in proto3),
 * singular <-> repeated, a new or newly required field (proto2), and the
 * same checks recursively on message fields. Allowed: added optional
 * fields, removed fields, renamed fields/types, int32 <-> int64 <-> uint32
 * <-> uint64 <-> bool <-> enum, string -> bytes, message <-> bytes.
 * Returns 0 or MPS_ERR_SCHEMA with the first problem in err.
 */
int mpss_compat_check(const mpss_registry *old_reg, const mpss_registry *new_reg,
                      const char *type, mpss_error *err);

/* ---- declared containers ---------------------------------------------- */

/* Kinds/elem/key numbers equal the wire enums Kind, ElemType, KeyType. */
typedef struct mpss_container {
	char   *name;         /* container name (prefix applied) */
	int     kind;         /* mpstore.Kind */
	int     elem_type;    /* mpstore.ElemType */
	int     key_type;     /* mpstore.KeyType (dicts) */
	char   *message_type; /* full name without dot when elem is a message, else NULL */
	int64_t maxsize;      /* (mpstore.maxsize): Op.count on create, 0 if unset */
	/* where it was declared (for generators and error messages) */
	char   *store;        /* full name of the store message */
	char   *field;        /* field name */
	char   *file;         /* .proto file name */
} mpss_container;

/*
 * Lists the containers declared by every store message in reg (or only in
 * file `file` when not NULL), in file and field order. *out is an array of
 * *n entries; free with mpss_containers_free. A declaration that cannot be
 * a container (map with a bool key, kind DICT on a non-map field, ...) is
 * MPS_ERR_SCHEMA.
 */
int  mpss_containers(const mpss_registry *reg, const char *file,
                     mpss_container **out, size_t *n, mpss_error *err);
void mpss_containers_free(mpss_container *c, size_t n);

/* Names of the wire enums ("list", "int64", "string"), for messages. */
const char *mpss_kind_name(int kind);
const char *mpss_elem_name(int elem_type);

/* ---- JSON -------------------------------------------------------------- */

/*
 * Message bytes -> JSON text (proto3 JSON mapping with the fields' proto
 * names, e.g. "job_name", not "jobName"; 64-bit integers as JSON numbers;
 * bytes as base64; enums by name (number when unknown); maps as objects;
 * NaN/Infinity as strings; fields absent on the wire are omitted; unknown
 * fields are dropped). data must validate as `type`. *json is malloc'ed and
 * NUL-terminated; the caller frees it.
 */
int mpss_to_json(const mpss_registry *reg, const char *type, const uint8_t *data,
                 size_t len, char **json, mpss_error *err);

/*
 * JSON text -> message bytes of `type`. Field keys may be the proto name or
 * the json name; integers may be numbers or strings; enums names or numbers;
 * bytes standard or URL-safe base64; null means "not set". Unknown fields,
 * wrong JSON types and out-of-range numbers are MPS_ERR_INVALID with the
 * path in err. *out is malloc'ed (non-NULL even when *len is 0).
 */
int mpss_from_json(const mpss_registry *reg, const char *type, const char *json,
                   size_t json_len, uint8_t **out, size_t *len, mpss_error *err);

#ifdef __cplusplus
}
#endif
#endif
