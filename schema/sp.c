/* sp.c - see sp.h. */
#include "sp.h"

void mps_sp_handshake(uint8_t out[MPS_SP_HANDSHAKE_LEN], uint16_t proto)
{
	out[0] = 0;
	out[1] = 'S';
	out[2] = 'P';
	out[3] = 0;
	out[4] = (uint8_t)(proto >> 8);
	out[5] = (uint8_t)proto;
	out[6] = 0;
	out[7] = 0;
}

int mps_sp_handshake_parse(const uint8_t in[MPS_SP_HANDSHAKE_LEN])
{
	if (in[0] != 0 || in[1] != 'S' || in[2] != 'P' || in[3] != 0 || in[6] != 0 || in[7] != 0)
		return -1;
	return (in[4] << 8) | in[5];
}

size_t mps_sp_hdr(uint8_t out[MPS_SP_HDR_MAX], int ipc, uint64_t len)
{
	uint8_t *p = out;
	if (ipc)
		*p++ = 1;
	mps_sp_put32(p, (uint32_t)(len >> 32));
	mps_sp_put32(p + 4, (uint32_t)len);
	return ipc ? 9 : 8;
}

int mps_sp_frame(const uint8_t *buf, size_t n, int ipc, uint64_t max, size_t *hdrlen,
    uint64_t *bodylen)
{
	size_t h = ipc ? 9 : 8;
	if (ipc && n >= 1 && buf[0] != 1)
		return -1;
	if (n < h)
		return 0;
	uint64_t len = 0;
	for (size_t i = h - 8; i < h; i++)
		len = (len << 8) | buf[i];
	if (len > max)
		return -1;
	*hdrlen = h;
	*bodylen = len;
	return 1;
}

size_t mps_sp_backtrace(const uint8_t *body, size_t len)
{
	for (size_t off = 0; off + 4 <= len && off < MPS_SP_BT_MAX; off += 4)
		if (body[off] & 0x80)
			return off + 4;
	return 0;
}
