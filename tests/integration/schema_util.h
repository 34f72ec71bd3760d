/* schema_util.h - helpers shared by the schema_* integration tests: full
 * messages of tests/plugin/fixtures/shop.proto, comparing messages by their
 * encoding, reading descriptor sets. Implemented in schema_stubs.c, which
 * is built with the generated stubs (it_schema_shop). */
#ifndef SCHEMA_UTIL_H
#define SCHEMA_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "client_test_util.h"
#include "shop.mps.h"

/* A Job with every field set (seed varies the values; odd seeds take the
 * oneof's host, even ones its port). Free with su_job_free. */
Shop__Job *su_job(int seed);
void       su_job_free(Shop__Job *j);
/* A Scalars with every field set, extreme values included. */
Shop__Scalars *su_scalars(int seed);
void           su_scalars_free(Shop__Scalars *s);

/* 1 when a and b have the same protobuf encoding. */
int su_same(const ProtobufCMessage *a, const ProtobufCMessage *b);
/* The encoding of m (malloc'ed) and its length. */
uint8_t *su_pack(const ProtobufCMessage *m, size_t *len);

/* A whole file (malloc'ed) or NULL. */
uint8_t *su_read(const char *path, size_t *len);
/* 1 when haystack contains needle. */
int su_has(const char *haystack, const char *needle);

#endif
