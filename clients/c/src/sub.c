/* sub.c - what both kinds of subscription share (sub.h): the choice by
 * URL, and the topic filter of nng's SUB (a message is kept when it
 * starts with a subscribed prefix). */
#include <stdlib.h>
#include <string.h>

#include "sp_conn.h"
#include "sub.h"

int
mps__sub_topics_init(mps__sub *s, const uint8_t *const *topics, const size_t *tlen, int n)
{
	s->topics  = calloc((size_t) n + 1, sizeof(*s->topics));
	s->tlen    = calloc((size_t) n + 1, sizeof(*s->tlen));
	s->ntopics = 0;
	s->intr_fd = -1;
	if (s->topics == NULL || s->tlen == NULL) {
		return -1;
	}
	for (int i = 0; i < n; i++) {
		uint8_t *t = malloc(tlen[i] ? tlen[i] : 1);
		if (t == NULL) {
			return -1;
		}
		memcpy(t, topics[i], tlen[i]);
		s->topics[i] = t;
		s->tlen[i]   = tlen[i];
		s->ntopics++;
	}
	return 0;
}

void
mps__sub_topics_fini(mps__sub *s)
{
	for (int i = 0; i < s->ntopics; i++) {
		free((void *) s->topics[i]);
	}
	free(s->topics);
	free(s->tlen);
	s->topics  = NULL;
	s->tlen    = NULL;
	s->ntopics = 0;
}

int
mps__sub_match(const mps__sub *s, const uint8_t *msg, size_t len)
{
	for (int i = 0; i < s->ntopics; i++) {
		if (s->tlen[i] <= len && memcmp(msg, s->topics[i], s->tlen[i]) == 0) {
			return 1;
		}
	}
	return 0;
}

mps_err
mps__sub_open(const mps__dialopts *o, const uint8_t *const *topics, const size_t *tlen,
    int ntopics, mps__sub **out)
{
	if (mps__sp_scheme(o->url)) {
		return mps__sub_sp_open(o, topics, tlen, ntopics, out);
	} else if (strncmp(o->url, "tls+tcp://", 10) == 0) {
		return mps__sub_nng_open(o, topics, tlen, ntopics, out);
	} else {
		return mps__fail(MPS_ERR_CONNECT,
		    "cannot subscribe to %s: unsupported transport (use ipc://, tcp:// or tls+tcp://)",
		    o->url);
	}
}
