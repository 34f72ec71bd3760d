/*
 * pack.h - the daemon's replies, packed with the hand-written codec
 * (schema/wire.h) into messages for the transport (net.h).
 */
#ifndef MPSD_PACK_H
#define MPSD_PACK_H

#include "mpstore.pb-c.h"
#include "net.h"

/* A reply message, or NULL when out of memory. */
mpsd_msg *mpsd_pack_response(const Mpstore__Response *resp);
/* A reply with only a request-level status and message. */
mpsd_msg *mpsd_pack_error(uint64_t id, Mpstore__Status st, const char *msg);

#endif
