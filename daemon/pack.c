/*
 * pack.c - see pack.h. A reply is encoded on the stack (or in a heap
 * buffer when it is big) and copied out once, into the message: cheaper
 * than protobuf-c's second sizing pass. (Change records are packed by
 * crec_pack_all in commit/commit.c.)
 */
#include "pack.h"

#include <string.h>

#include "mpstore/mpstore.h"
#include "wire.h"

#define STACK_BUF 2048

mpsd_msg *mpsd_pack_response(const Mpstore__Response *resp)
{
	uint8_t   mem[STACK_BUF];
	mpw_buf   b;
	mpsd_msg *m = NULL;
	mpw_init(&b, mem, sizeof(mem));
	if (mpw_response(&b, resp) == 0 && (m = mpsd_msg_alloc(mpw_len(&b))) != NULL)
		memcpy(m->body, mpw_data(&b), mpw_len(&b));
	mpw_fini(&b);
	return m;
}

mpsd_msg *mpsd_pack_error(uint64_t id, Mpstore__Status st, const char *msg)
{
	Mpstore__Response resp;
	mpstore__response__init(&resp);
	resp.version = MPS_PROTOCOL_VERSION;
	resp.id = id;
	resp.status = st;
	resp.error = (char *)msg;
	return mpsd_pack_response(&resp);
}
