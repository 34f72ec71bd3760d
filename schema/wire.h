/*
 * wire.h - hand-written protobuf codec for the hot messages of
 * mpstore.proto: Request (with Op, Txn, Compare, Value), Response (with
 * Result, ContainerInfo, Change) and Change.
 *
 * protobuf-c's generic pack/unpack walk descriptors field by field and
 * compute every nested size twice or more; profiles put them at 30-45% of
 * the daemon's and the client's CPU at 16 ops per request. These encode
 * the same structs in one backward pass (nested lengths are known when a
 * nested message is done) and decode straight into them.
 *
 * Encoding is byte-identical to protobuf-c's (fields in number order,
 * proto3 defaults left out, oneof members always written), except that
 * unknown fields kept in a struct are not written. Decoding accepts what
 * protobuf-c accepts, with two differences that valid senders never see:
 * a singular message field sent twice keeps the last copy (protobuf-c
 * merges them), and unknown fields are skipped, not kept; and a third for
 * requests: their strings must be valid UTF-8 without NUL
 * (mpw_request_decode), which protobuf-c does not check.
 */
#ifndef MPSTORE_WIRE_H
#define MPSTORE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "mpstore.pb-c.h"

/* An output buffer written from its end towards its start. */
typedef struct mpw_buf {
	uint8_t *base; /* allocation */
	uint8_t *p;    /* first byte written so far */
	uint8_t *end;  /* one past the allocation */
	int      oom;  /* an allocation failed: the output is incomplete */
	int      heap; /* base was malloc'd here */
} mpw_buf;

/* Start with the caller's memory (e.g. on the stack; may be NULL, 0): a
 * message that fits needs no allocation. */
void mpw_init(mpw_buf *b, void *mem, size_t size);
void mpw_fini(mpw_buf *b);
static inline const uint8_t *mpw_data(const mpw_buf *b) { return b->p; }
static inline size_t         mpw_len(const mpw_buf *b) { return (size_t)(b->end - b->p); }

/* Encode a whole message (no tag) in front of what b holds; 0 or -1
 * (out of memory). */
int mpw_request(mpw_buf *b, const Mpstore__Request *m);
int mpw_response(mpw_buf *b, const Mpstore__Response *m);
int mpw_change(mpw_buf *b, const Mpstore__Change *m);

/* Whether the n bytes at s are valid UTF-8: shortest forms only, no
 * surrogates, nothing above U+10FFFF (RFC 3629). NUL is valid here. */
int mpw_utf8_valid(const uint8_t *s, size_t n);

/* Decode; every struct, array and string comes from al (freed with it).
 * NULL when the bytes are not a valid message. */
Mpstore__Request  *mpw_request_unpack(ProtobufCAllocator *al, size_t len, const uint8_t *data);
/* The same, and on failure *why = a constant sentence saying what is wrong.
 * A request's strings (names, message types, string values and keys) must
 * be valid UTF-8 (proto3 `string` semantics) without NUL bytes, or the
 * request does not decode: a C string would silently cut "a\0b" to "a". */
Mpstore__Request  *mpw_request_decode(ProtobufCAllocator *al, size_t len, const uint8_t *data,
    const char **why);
Mpstore__Response *mpw_response_unpack(ProtobufCAllocator *al, size_t len, const uint8_t *data);
Mpstore__Change   *mpw_change_unpack(ProtobufCAllocator *al, size_t len, const uint8_t *data);

#endif
