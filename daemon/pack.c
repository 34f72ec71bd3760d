/*
 * pack.c - see pack.h. A reply is encoded on the stack (or in a heap
 * buffer when it is big) and copied out once, into the nng message:
 * cheaper than protobuf-c's second sizing pass. (Change records are packed
 * by crec_pack_all in commit.c.)
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
