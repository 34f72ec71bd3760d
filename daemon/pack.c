/*
 * pack.c - see pack.h. A message is encoded on the stack (or in a heap
 * buffer when it is big) and copied out once, into the nng message or the
 * record: cheaper than protobuf-c's second sizing pass.
 */
#include "pack.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define STACK_BUF 2048

nng_msg *mpsd_pack_response(const Mpstore__Response *resp)
{
	uint8_t  mem[STACK_BUF];
	mpw_buf  b;
	nng_msg *m = NULL;
	mpw_init(&b, mem, sizeof(mem));
	if (mpw_response(&b, resp) == 0 && nng_msg_alloc(&m, mpw_len(&b)) == 0)
		memcpy(nng_msg_body(m), mpw_data(&b), mpw_len(&b));
	mpw_fini(&b);
	return m;
}

uint8_t *mpsd_pack_change(const Mpstore__Change *ch, size_t extra, size_t *len)
{
	uint8_t  mem[STACK_BUF];
	mpw_buf  b;
	uint8_t *p = NULL;
	mpw_init(&b, mem, sizeof(mem));
	if (mpw_change(&b, ch) == 0 && (p = malloc(mpw_len(&b) + extra + 1)) != NULL) {
		*len = mpw_len(&b);
		memcpy(p, mpw_data(&b), *len);
	}
	mpw_fini(&b);
	return p;
}
