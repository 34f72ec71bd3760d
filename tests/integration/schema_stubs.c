/* schema_stubs.c - see schema_util.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_util.h"

static char *
dupf(const char *fmt, int seed)
{
	char buf[128];
	snprintf(buf, sizeof(buf), fmt, seed);
	return strdup(buf);
}

Shop__Job *
su_job(int seed)
{
	Shop__Job *j = calloc(1, sizeof(*j));
	shop__job__init(j);
	j->id       = 1000000000000LL + seed;
	j->title    = dupf("job %d: \xc3\xa9t\xc3\xa9", seed); /* UTF-8 */
	j->priority = seed % 2 ? SHOP__PRIORITY__HIGH : SHOP__PRIORITY__LOW;
	j->n_tags   = 3;
	j->tags     = calloc(3, sizeof(char *));
	j->tags[0]  = dupf("t%d", seed);
	j->tags[1]  = strdup("");
	j->tags[2]  = strdup("third");
	j->n_counts = 2;
	j->counts   = calloc(2, sizeof(*j->counts));
	for (int i = 0; i < 2; i++) {
		j->counts[i] = calloc(1, sizeof(**j->counts));
		shop__job__counts_entry__init(j->counts[i]);
		j->counts[i]->key   = dupf(i ? "k%d" : "first%d", seed);
		j->counts[i]->value = i ? -seed : INT64_MAX;
	}
	j->address = calloc(1, sizeof(*j->address));
	shop__address__init(j->address);
	j->address->street = dupf("%d Main St", seed);
	j->address->city   = strdup("Oslo");
	j->payload.len     = 5;
	j->payload.data    = malloc(5);
	memcpy(j->payload.data, "\x00\xff\x01\x80\x7f", 5);
	if (seed % 2) {
		j->target_case = SHOP__JOB__TARGET_HOST;
		j->host        = dupf("host%d.example", seed);
	} else {
		j->target_case = SHOP__JOB__TARGET_PORT;
		j->port        = 8000 + seed;
	}
	j->n_steps = 2;
	j->steps   = calloc(2, sizeof(*j->steps));
	for (int i = 0; i < 2; i++) {
		j->steps[i] = calloc(1, sizeof(**j->steps));
		shop__job__step__init(j->steps[i]);
		j->steps[i]->name = dupf("step%d", i);
		j->steps[i]->cost = 0.5 * (i + 1) + seed;
	}
	j->done = seed % 3 == 0;
	return j;
}

void
su_job_free(Shop__Job *j)
{
	if (j == NULL) {
		return;
	}
	/* every field was malloc'ed as protobuf-c's unpack would: its free fits */
	shop__job__free_unpacked(j, NULL);
}

Shop__Scalars *
su_scalars(int seed)
{
	Shop__Scalars *s = calloc(1, sizeof(*s));
	shop__scalars__init(s);
	s->f_double   = -1.0 / 3.0 + seed;
	s->f_float    = 3.25f;
	s->f_int32    = INT32_MIN;
	s->f_int64    = INT64_MIN + seed;
	s->f_uint32   = UINT32_MAX;
	s->f_uint64   = UINT64_MAX - (uint64_t) seed;
	s->f_sint32   = -123456 - seed;
	s->f_sint64   = INT64_MIN;
	s->f_fixed32  = 0xdeadbeefu;
	s->f_fixed64  = 0x0123456789abcdefULL;
	s->f_sfixed32 = -7;
	s->f_sfixed64 = -8000000000LL;
	s->f_bool     = 1;
	s->f_string   = dupf("s%d \xe2\x82\xac", seed);
	s->f_bytes.len  = 3;
	s->f_bytes.data = malloc(3);
	memcpy(s->f_bytes.data, "\0a\0", 3);
	s->n_r_int32 = 3;
	s->r_int32   = calloc(3, sizeof(int32_t));
	s->r_int32[0] = -1;
	s->r_int32[1] = 0;
	s->r_int32[2] = seed;
	s->n_r_double = 2;
	s->r_double   = calloc(2, sizeof(double));
	s->r_double[0] = INFINITY;
	s->r_double[1] = -0.0;
	s->n_m_int = 2;
	s->m_int   = calloc(2, sizeof(*s->m_int));
	for (int i = 0; i < 2; i++) {
		s->m_int[i] = calloc(1, sizeof(**s->m_int));
		shop__scalars__mint_entry__init(s->m_int[i]);
		s->m_int[i]->key   = i ? -5 : seed;
		s->m_int[i]->value = dupf("v%d", i);
	}
	s->f_enum = SHOP__PRIORITY__HIGH;
	return s;
}

void
su_scalars_free(Shop__Scalars *s)
{
	if (s != NULL) {
		shop__scalars__free_unpacked(s, NULL);
	}
}

uint8_t *
su_pack(const ProtobufCMessage *m, size_t *len)
{
	*len         = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len ? *len : 1);
	protobuf_c_message_pack(m, buf);
	return buf;
}

int
su_same(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	if (a == NULL || b == NULL) {
		return a == b;
	}
	size_t   la, lb;
	uint8_t *pa = su_pack(a, &la), *pb = su_pack(b, &lb);
	int      same = la == lb && memcmp(pa, pb, la) == 0;
	free(pa);
	free(pb);
	return same;
}

uint8_t *
su_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(n > 0 ? (size_t) n : 1);
	*len         = fread(buf, 1, (size_t) n, f);
	fclose(f);
	return buf;
}

int
su_has(const char *haystack, const char *needle)
{
	return haystack != NULL && strstr(haystack, needle) != NULL;
}
