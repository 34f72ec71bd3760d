/*
 * sp.h - the SP (scalability protocols) framing that nng and nanomsg speak,
 * for mpstored's own transport and libmpstore's: the connection header,
 * message framing for tcp:// and ipc://, and REQ/REP's request-id
 * backtrace. Pure functions over bytes, no I/O, no allocation: both sides
 * and the fuzz targets share them. See docs/protocol.md section 16 and
 * nng's RFCs sp-tcp-mapping, sp-ipc-mapping and sp-request-reply.
 */
#ifndef MPSTORE_SP_H
#define MPSTORE_SP_H

#include <stddef.h>
#include <stdint.h>

/* Protocol numbers (16 bits, sent by each side in its header). */
enum {
	MPS_SP_PUB0 = 0x20,
	MPS_SP_SUB0 = 0x21,
	MPS_SP_REQ0 = 0x30,
	MPS_SP_REP0 = 0x31,
};

#define MPS_SP_HANDSHAKE_LEN 8
/* A message header: ipc:// has a type byte (1) before the 64-bit length. */
#define MPS_SP_HDR_MAX 9
/* A REQ/REP backtrace holds at most this many 32-bit hops (nng's max TTL). */
#define MPS_SP_MAX_HOPS 15
#define MPS_SP_BT_MAX   (4 * MPS_SP_MAX_HOPS)

/* The 8 bytes a side sends first: 00 'S' 'P' 00, proto (BE16), 00 00. */
void mps_sp_handshake(uint8_t out[MPS_SP_HANDSHAKE_LEN], uint16_t proto);
/* The peer's protocol number from its 8 header bytes, or -1 when they are
 * not an SP header (wrong magic or reserved bytes not zero). */
int mps_sp_handshake_parse(const uint8_t in[MPS_SP_HANDSHAKE_LEN]);

/* Write a message header for a body of len bytes; returns its size (8 for
 * tcp, 9 for ipc). */
size_t mps_sp_hdr(uint8_t out[MPS_SP_HDR_MAX], int ipc, uint64_t len);

/*
 * Parse the header at the start of buf (n bytes available). Returns
 *  1: *hdrlen and *bodylen are set (the whole frame is *hdrlen + *bodylen
 *     bytes; it may not all be in buf yet),
 *  0: more bytes are needed to read the header,
 * -1: not a valid frame (ipc type byte other than 1, or a body longer than
 *     max): the connection must be dropped.
 */
int mps_sp_frame(const uint8_t *buf, size_t n, int ipc, uint64_t max, size_t *hdrlen,
    uint64_t *bodylen);

/*
 * REQ/REP: the backtrace at the start of a request body: 32-bit big-endian
 * hops up to and including the first with the high bit set (the request
 * id). Returns its length in bytes (4 for a direct REQ peer), or 0 when
 * there is none within the body or within MPS_SP_MAX_HOPS (nng drops such
 * a message).
 */
size_t mps_sp_backtrace(const uint8_t *body, size_t len);

/* Big-endian helpers. */
static inline void mps_sp_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t mps_sp_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

#endif
