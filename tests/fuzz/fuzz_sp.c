/*
 * fuzz_sp.c - libFuzzer target: the SP framing of schema/sp.h as a
 * receiver meets it: a peer's bytes arrive in chunks of any size; the
 * receiver reads the 8-byte handshake, then frames (tcp: 64-bit length;
 * ipc: a type byte and the length), and in each request body the REQ/REP
 * backtrace.
 *
 * Input: byte 0 picks the transport (bit 0: ipc) and the size limit (bits
 * 1-3); bytes 1-8 say how to cut the rest into chunks; the rest is what
 * the peer sends. Oracles: the frames found do not depend on how the bytes
 * were cut (each stream is read twice: in the input's chunks and whole);
 * a header written by mps_sp_hdr parses back to its length; nothing reads
 * past what arrived (ASan).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp.h"

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_sp: %s\n", what);
		abort();
	}
}

/* What a receiver saw: the peer's protocol, then per frame its body length
 * and backtrace length; ended by how it stopped. */
typedef struct seen {
	int      proto;
	uint64_t events[256];
	size_t   n;
	int      end; /* 0: wants more, -1: dropped the connection */
} seen;

static void note(seen *s, uint64_t v)
{
	if (s->n < sizeof(s->events) / sizeof(s->events[0]))
		s->events[s->n++] = v;
}

/* Feed stream[0..len) in chunks; cut[] (8 bytes) drives chunk sizes. */
static void receive(const uint8_t *stream, size_t len, int ipc, uint64_t max, const uint8_t *cut,
    seen *s)
{
	uint8_t *buf = malloc(len ? len : 1); /* what has arrived so far */
	size_t   have = 0, used = 0, off = 0;
	int      shaken = 0;
	memset(s, 0, sizeof(*s));
	s->proto = -2;
	for (int i = 0; off < len; i++) {
		size_t chunk = cut != NULL ? (size_t)cut[i % 8] % 37 + 1 : len - off;
		if (chunk > len - off)
			chunk = len - off;
		memcpy(buf + have, stream + off, chunk);
		have += chunk;
		off += chunk;
		for (;;) {
			if (!shaken) {
				if (have - used < MPS_SP_HANDSHAKE_LEN)
					break;
				s->proto = mps_sp_handshake_parse(buf + used);
				used += MPS_SP_HANDSHAKE_LEN;
				shaken = 1;
				if (s->proto < 0) {
					s->end = -1;
					goto out;
				}
				continue;
			}
			size_t   hdr = 0;
			uint64_t body = 0;
			int      rv = mps_sp_frame(buf + used, have - used, ipc, max, &hdr, &body);
			if (rv < 0) {
				s->end = -1;
				goto out;
			}
			if (rv == 0)
				break;
			check(hdr == (size_t)(ipc ? 9 : 8), "a header of the wrong size");
			check(body <= max, "a frame over the limit accepted");
			if (body > have - used - hdr)
				break; /* the body is still on its way */
			size_t bt = mps_sp_backtrace(buf + used + hdr, (size_t)body);
			check(bt <= body && bt % 4 == 0 && bt <= MPS_SP_BT_MAX, "a bad backtrace length");
			check(bt == 0 || (buf[used + hdr + bt - 4] & 0x80), "a backtrace without its id");
			note(s, body);
			note(s, bt);
			used += hdr + (size_t)body;
		}
	}
out:
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 9)
		return 0;
	int      ipc = data[0] & 1;
	uint64_t max = (uint64_t)1 << (4 * ((data[0] >> 1) & 7) + 4); /* 16 B .. 4 GiB */
	seen     a, b;
	receive(data + 9, size - 9, ipc, max, data + 1, &a);
	receive(data + 9, size - 9, ipc, max, NULL, &b);
	check(a.proto == b.proto && a.n == b.n && a.end == b.end &&
	          memcmp(a.events, b.events, a.n * sizeof(a.events[0])) == 0,
	    "the frames found depend on how the bytes arrived");
	/* headers written parse back */
	uint8_t  h[MPS_SP_HDR_MAX], hs[MPS_SP_HANDSHAKE_LEN];
	uint64_t len = 0;
	for (size_t i = 1; i < 9; i++)
		len = (len << 8) | data[i];
	size_t   hl = mps_sp_hdr(h, ipc, len), hdr = 0;
	uint64_t body = 0;
	int      rv = mps_sp_frame(h, hl, ipc, UINT64_MAX, &hdr, &body);
	check(rv == 1 && hdr == hl && body == len, "a header does not parse back");
	check(mps_sp_frame(h, hl - 1, ipc, UINT64_MAX, &hdr, &body) == 0, "half a header parsed");
	mps_sp_handshake(hs, (uint16_t)len);
	check(mps_sp_handshake_parse(hs) == (int)(uint16_t)len, "a handshake does not parse back");
	return 0;
}
