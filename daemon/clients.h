/*
 * clients.h - a record per request connection (clients.c): made when the
 * transport accepts it (hooks.opened), ended when it closes
 * (hooks.closed). It holds what belongs to the connection rather than to
 * a client_id: its unanswered and parked requests, its authentication
 * (auth.c), the name its client gave, and what `mpstore clients` shows.
 * Loop thread only.
 */
#ifndef MPSD_CLIENTS_H
#define MPSD_CLIENTS_H

#include "daemon.h"

#define MPSD_NONCE_LEN 32
#define MPSD_CLIENT_NAME_MAX 63 /* bytes of a client's name; longer ones are cut */

struct mpsd_client {
	uint32_t     id;
	char         addr[64];
	pid_t        pid;          /* the peer's, for ipc:// (0: unknown) */
	int64_t      hello_pid;    /* the one its OP_HELLO gave (0: none) */
	int64_t      since_ms, last_ms;
	size_t       nparked;
	uint64_t     requests;
	mpsd_req    *reqs;         /* unanswered */
	uint8_t      nonce[MPSD_NONCE_LEN]; /* the HMAC challenge of this connection */
	int          authed;       /* passed OP_AUTH (a key is set) */
	int          auth_failures;
	uint64_t     authed_id;    /* ... for this client_id */
	uint64_t     client_id;    /* the last client_id seen */
	char         name[MPSD_CLIENT_NAME_MAX + 1]; /* from OP_HELLO, "" if none */
	mpsd_client *hnext;
};

mpsd_clients *mpsd_clients_alloc(void);
void          mpsd_clients_free(mpsd_clients *cs);
size_t        mpsd_clients_count(const mpsd_clients *cs);
mpsd_client  *mpsd_clients_find(mpsd_clients *cs, uint32_t id);
/* net hooks */
void          mpsd_clients_opened(void *arg, uint32_t id, const char *addr, pid_t pid);
void          mpsd_clients_closed(void *arg, uint32_t id);
/* Track r (unanswered) under its connection's record; untrack when done. */
void          mpsd_clients_track(mpsd_daemon *d, mpsd_req *r);
void          mpsd_clients_untrack(mpsd_req *r);
size_t        mpsd_clients_parked(const mpsd_req *r);
void          mpsd_clients_set_parked(mpsd_req *r, int on);
/*
 * OP_HELLO's name and pid: name is UTF-8 without control characters, cut
 * to MPSD_CLIENT_NAME_MAX bytes at a character boundary; pid >= 0. With c
 * NULL only checks. 0, or ERR_INVALID with a message in err.
 */
int           mpsd_clients_hello(mpsd_client *c, const char *name, int64_t pid, char *err,
              size_t errlen);
/* Every record, for `mpstore clients`. */
void          mpsd_clients_foreach(mpsd_clients *cs, void (*fn)(void *arg, mpsd_client *c),
              void *arg);

#endif
