/*
 * val.c - the 16-byte value (see val.h).
 *
 * Layout of b[]: inline data at b[0..slen] (NUL-terminated, rest zeroed so
 * two inline values compare with memcmp); heap data as a uint32 length at
 * b[2] and a pointer at b[6]; numbers at b[6]. b[2] and b[6] are offsets 4
 * and 8 of the struct, so they are naturally aligned; memcpy keeps the
 * accesses free of aliasing trouble and compiles to plain loads.
 */
#include "val.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define VAL_HEAP  0xffu
#define VAL_LENAT 2
#define VAL_PTRAT 6
#define VAL_NUMAT 6

static void val_clear(mpsd_val *v, mpsd_vtype t)
{
	memset(v, 0, sizeof(*v));
	v->type = (uint8_t) t;
}

static int val_is_blob(const mpsd_val *v)
{
	return v->type == MPSD_V_STR || v->type == MPSD_V_BYTES || v->type == MPSD_V_MSG;
}

static char *val_heap_ptr(const mpsd_val *v)
{
	char *p;
	memcpy(&p, v->b + VAL_PTRAT, sizeof(p));
	return p;
}

static uint32_t val_heap_len(const mpsd_val *v)
{
	uint32_t n;
	memcpy(&n, v->b + VAL_LENAT, sizeof(n));
	return n;
}

void mpsd_val_null(mpsd_val *v)
{
	val_clear(v, MPSD_V_NULL);
}

void mpsd_val_int(mpsd_val *v, int64_t i)
{
	val_clear(v, MPSD_V_INT);
	memcpy(v->b + VAL_NUMAT, &i, sizeof(i));
}

void mpsd_val_double(mpsd_val *v, double d)
{
	val_clear(v, MPSD_V_DOUBLE);
	memcpy(v->b + VAL_NUMAT, &d, sizeof(d));
}

void mpsd_val_bool(mpsd_val *v, int b)
{
	val_clear(v, MPSD_V_BOOL);
	v->b[0] = b ? 1 : 0;
}

int mpsd_val_blob(mpsd_val *v, mpsd_vtype type, const void *data, size_t len)
{
	char *p;
	uint32_t n;

	if (len <= MPSD_VAL_INLINE) {
		val_clear(v, type);
		v->slen = (uint8_t) len;
		if (len > 0)
			memcpy(v->b, data, len);
		return 0;
	}
	val_clear(v, MPSD_V_NULL);
	if (len > UINT32_MAX - 1 || (p = malloc(len + 1)) == NULL)
		return ENOMEM;
	memcpy(p, data, len);
	p[len] = '\0';
	n = (uint32_t) len;
	v->type = (uint8_t) type;
	v->slen = VAL_HEAP;
	memcpy(v->b + VAL_LENAT, &n, sizeof(n));
	memcpy(v->b + VAL_PTRAT, &p, sizeof(p));
	return 0;
}

int64_t mpsd_val_get_int(const mpsd_val *v)
{
	int64_t i = 0;
	if (v->type == MPSD_V_INT)
		memcpy(&i, v->b + VAL_NUMAT, sizeof(i));
	else if (v->type == MPSD_V_DOUBLE) {
		/* saturating, as a cast of NaN or of |d| >= 2^63 is undefined */
		double d = mpsd_val_get_double(v);
		i = d != d ? 0 : d >= 9223372036854775808.0 ? INT64_MAX
		    : d < -9223372036854775808.0 ? INT64_MIN : (int64_t) d;
	}
	else if (v->type == MPSD_V_BOOL)
		i = v->b[0];
	return i;
}

double mpsd_val_get_double(const mpsd_val *v)
{
	double d = 0;
	if (v->type == MPSD_V_DOUBLE)
		memcpy(&d, v->b + VAL_NUMAT, sizeof(d));
	else if (v->type == MPSD_V_INT)
		d = (double) mpsd_val_get_int(v);
	else if (v->type == MPSD_V_BOOL)
		d = v->b[0];
	return d;
}

int mpsd_val_get_bool(const mpsd_val *v)
{
	switch (v->type) {
	case MPSD_V_BOOL:
		return v->b[0] != 0;
	case MPSD_V_INT:
		return mpsd_val_get_int(v) != 0;
	case MPSD_V_DOUBLE:
		return mpsd_val_get_double(v) != 0;
	default:
		return 0;
	}
}

const char *mpsd_val_data(const mpsd_val *v, size_t *len)
{
	if (!val_is_blob(v)) {
		if (len != NULL)
			*len = 0;
		return "";
	}
	if (v->slen == VAL_HEAP) {
		if (len != NULL)
			*len = val_heap_len(v);
		return val_heap_ptr(v);
	}
	if (len != NULL)
		*len = v->slen;
	return v->b;
}

void mpsd_val_fini(mpsd_val *v)
{
	if (val_is_blob(v) && v->slen == VAL_HEAP)
		free(val_heap_ptr(v));
	val_clear(v, MPSD_V_NULL);
}

int mpsd_val_dup(mpsd_val *dst, const mpsd_val *src)
{
	const char *p;
	size_t      n;

	if (!val_is_blob(src) || src->slen != VAL_HEAP) {
		*dst = *src;
		return 0;
	}
	p = mpsd_val_data(src, &n);
	return mpsd_val_blob(dst, (mpsd_vtype) src->type, p, n);
}

/* Whether d is integral and fits an int64 (then *i is it). */
static int val_double_int(double d, int64_t *i)
{
	if (!isfinite(d) || d != floor(d) || d < -9223372036854775808.0 ||
	    d >= 9223372036854775808.0)
		return 0;
	*i = (int64_t) d;
	return 1;
}

/* Python's int == float: exact, so 2**53 + 1 != 2.0**53. */
static int val_int_eq_double(int64_t i, double d)
{
	int64_t di;
	return val_double_int(d, &di) && di == i;
}

int mpsd_val_equal(const mpsd_val *a, const mpsd_val *b)
{
	const char *pa, *pb;
	size_t      na, nb;

	if (a->type != b->type) {
		if (a->type == MPSD_V_INT && b->type == MPSD_V_DOUBLE)
			return val_int_eq_double(mpsd_val_get_int(a), mpsd_val_get_double(b));
		if (a->type == MPSD_V_DOUBLE && b->type == MPSD_V_INT)
			return val_int_eq_double(mpsd_val_get_int(b), mpsd_val_get_double(a));
		return 0;
	}
	switch (a->type) {
	case MPSD_V_NULL:
		return 1;
	case MPSD_V_INT:
		return mpsd_val_get_int(a) == mpsd_val_get_int(b);
	case MPSD_V_DOUBLE:
		return mpsd_val_get_double(a) == mpsd_val_get_double(b);
	case MPSD_V_BOOL:
		return a->b[0] == b->b[0];
	default:
		if (a->slen != VAL_HEAP && b->slen != VAL_HEAP)
			return memcmp(a, b, sizeof(*a)) == 0;
		pa = mpsd_val_data(a, &na);
		pb = mpsd_val_data(b, &nb);
		return na == nb && memcmp(pa, pb, na) == 0;
	}
}

/*
 * Per-process hash seed, so that peers cannot pick keys that collide in
 * the dict index (hash flooding). Hashes are never stored or sent: dict
 * order is insertion order, so dumps do not depend on the seed.
 */
static uint64_t val_seed;

__attribute__((constructor)) static void val_seed_init(void)
{
	struct timespec ts;

	if (getrandom(&val_seed, sizeof(val_seed), GRND_NONBLOCK) != (ssize_t) sizeof(val_seed)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		val_seed = (uint64_t) ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t) ts.tv_sec;
	}
}

static uint64_t val_mix(uint64_t x)
{
	/* splitmix64 finaliser */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t val_hash_bytes(const char *p, size_t n)
{
	uint64_t h = val_seed ^ 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
	uint64_t w;

	while (n >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ val_mix(w)) * 0x9fb21c651e98df25ull;
		p += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ val_mix(w ^ n)) * 0x9fb21c651e98df25ull;
	return val_mix(h);
}

uint64_t mpsd_val_hash(const mpsd_val *v)
{
	const char *p;
	size_t      n;
	double      d;
	int64_t     i;
	uint64_t    bits;

	switch (v->type) {
	case MPSD_V_NULL:
		return 0x6e756c6cull;
	case MPSD_V_INT:
		return val_mix((uint64_t) mpsd_val_get_int(v) ^ val_seed);
	case MPSD_V_BOOL:
		return val_mix((uint64_t) v->b[0]);
	case MPSD_V_DOUBLE:
		/* equal values hash equal: 1.0 hashes as 1 */
		d = mpsd_val_get_double(v);
		if (val_double_int(d, &i)) /* also folds -0.0 into 0 */
			return val_mix((uint64_t) i ^ val_seed);
		memcpy(&bits, &d, sizeof(bits));
		return val_mix(bits ^ 0x646f75626c65ull);
	default:
		p = mpsd_val_data(v, &n);
		return val_hash_bytes(p, n) + v->type;
	}
}

size_t mpsd_val_heap(const mpsd_val *v)
{
	if (val_is_blob(v) && v->slen == VAL_HEAP)
		return (size_t) val_heap_len(v) + 1;
	return 0;
}

int mpsd_val_from_pb(mpsd_val *v, const Mpstore__Value *pv)
{
	if (pv == NULL) {
		mpsd_val_null(v);
		return 0;
	}
	switch (pv->v_case) {
	case MPSTORE__VALUE__V_INT_VALUE:
		mpsd_val_int(v, pv->int_value);
		return 0;
	case MPSTORE__VALUE__V_DOUBLE_VALUE:
		mpsd_val_double(v, pv->double_value);
		return 0;
	case MPSTORE__VALUE__V_BOOL_VALUE:
		mpsd_val_bool(v, pv->bool_value);
		return 0;
	case MPSTORE__VALUE__V_STRING_VALUE:
		if (pv->string_value == NULL)
			return mpsd_val_blob(v, MPSD_V_STR, "", 0);
		return mpsd_val_blob(v, MPSD_V_STR, pv->string_value, strlen(pv->string_value));
	case MPSTORE__VALUE__V_BYTES_VALUE:
		return mpsd_val_blob(v, MPSD_V_BYTES, pv->bytes_value.data, pv->bytes_value.len);
	case MPSTORE__VALUE__V_MESSAGE_VALUE:
		return mpsd_val_blob(v, MPSD_V_MSG, pv->message_value.data, pv->message_value.len);
	default:
		mpsd_val_null(v);
		return 0;
	}
}

void mpsd_val_to_pb(const mpsd_val *v, Mpstore__Value *pv)
{
	const char *p;
	size_t      n;

	mpstore__value__init(pv);
	switch (v->type) {
	case MPSD_V_INT:
		pv->v_case    = MPSTORE__VALUE__V_INT_VALUE;
		pv->int_value = mpsd_val_get_int(v);
		break;
	case MPSD_V_DOUBLE:
		pv->v_case       = MPSTORE__VALUE__V_DOUBLE_VALUE;
		pv->double_value = mpsd_val_get_double(v);
		break;
	case MPSD_V_BOOL:
		pv->v_case     = MPSTORE__VALUE__V_BOOL_VALUE;
		pv->bool_value = v->b[0] != 0;
		break;
	case MPSD_V_STR:
		pv->v_case       = MPSTORE__VALUE__V_STRING_VALUE;
		pv->string_value = (char *) mpsd_val_data(v, NULL);
		break;
	case MPSD_V_BYTES:
		p                     = mpsd_val_data(v, &n);
		pv->v_case            = MPSTORE__VALUE__V_BYTES_VALUE;
		pv->bytes_value.data  = (uint8_t *) p;
		pv->bytes_value.len   = n;
		break;
	case MPSD_V_MSG:
		p                      = mpsd_val_data(v, &n);
		pv->v_case             = MPSTORE__VALUE__V_MESSAGE_VALUE;
		pv->message_value.data = (uint8_t *) p;
		pv->message_value.len  = n;
		break;
	default:
		break;
	}
}

const char *mpsd_vtype_name(mpsd_vtype t)
{
	switch (t) {
	case MPSD_V_NULL:
		return "null";
	case MPSD_V_INT:
		return "int64";
	case MPSD_V_DOUBLE:
		return "double";
	case MPSD_V_BOOL:
		return "bool";
	case MPSD_V_STR:
		return "string";
	case MPSD_V_BYTES:
		return "bytes";
	case MPSD_V_MSG:
		return "message";
	default:
		return "unknown";
	}
}
