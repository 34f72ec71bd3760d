/*
 * sp_req_int.h - the state of libmpstore's own REQ0 transport, shared by
 * sp_req.c (the table of requests, writing, the leader, synchronous
 * calls, open/close/fork) and sp_async.c (asynchronous requests and the
 * reader thread that completes them). Hidden. The locking rules are in
 * sp_req.c's header comment.
 */
#ifndef MPS_SP_REQ_INT_H
#define MPS_SP_REQ_INT_H

#include <pthread.h>

#include "sp_conn.h"
#include "transport.h"

#define SP_BUCKETS        64
#define SP_BACKOFF_MIN_MS 10
#define SP_BACKOFF_MAX_MS 1000
#define SP_FRAMES         32      /* frames handed out per read */
#define SP_NONE           INT64_MAX /* no deadline, in comparisons */

enum { RQ_IDLE, RQ_PENDING, RQ_QUEUED };

typedef struct mps__sp mps__sp;
typedef struct spreq   spreq;

struct spreq {
	spreq   *hnext;        /* id hash chain */
	spreq   *prev, *next;  /* pending list: synchronous first */
	spreq   *dnext;        /* completions to deliver (async) */
	spreq   *aprev, *anext; /* every areq of the connection (async) */
	mps__sp *sp;
	uint32_t id;
	uint8_t *frame;        /* header + id + body: what is (re)sent */
	size_t   flen;
	int64_t  deadline;     /* monotonic ms; SP_NONE: none */
	unsigned gen;          /* connection it was written on; 0: none */
	unsigned downs;        /* sp->downs when it was added */
	int      state;        /* RQ_* */
	int      writing;      /* a thread is writing its frame */
	int      done;
	int      async;
	mps_err  err;
	uint8_t *rmem;         /* the reply frame's body (id first) */
	size_t   rlen;
	pthread_cond_t cv;     /* synchronous: its caller waits here */
	mps__adone_fn  fn;
	void          *arg;
	char     why[448];     /* a failure's message */
};

struct mps__areq {
	spreq r;
};

struct mps__sp {
	mps__addr       addr;
	int             dial_ms;   /* longest single dial */
	pthread_mutex_t mtx;
	pthread_mutex_t wmtx;
	pthread_cond_t  rcv;       /* the reader thread waits here */
	pthread_cond_t  dcv;       /* a delivery or a write finished */
	int             fd;        /* -1: not connected */
	unsigned        gen;       /* connections made (ids of them) */
	int             leader;    /* a thread reads or dials */
	int             closing;
	uint32_t        next_id;
	spreq          *tab[SP_BUCKETS];
	spreq           pend;      /* sentinel of the pending list */
	spreq           areqs;     /* sentinel of the areq list */
	size_t          nasync;    /* async requests pending */
	int64_t         next_adl;  /* earliest async deadline */
	spreq          *dhead, *dtail;
	spreq          *delivering;
	int             rthr_running;
	pthread_t       rthr;
	mps_err         down_err;  /* why there is no connection */
	char            down_why[256];
	unsigned        downs;     /* connections lost */
	mps_err         lost_err;  /* why the last one was */
	char            lost_why[256];
	int64_t         retry_at;
	int             backoff_ms;
	mps__rd         rd;        /* the leader's */
	int             spin_ok;   /* the last busy poll saw the reply come */
	unsigned        spin_skips; /* waits without one since it did not */
	mps_err       (*on_connect)(void *arg, int fd, int ipc, int64_t deadline, char *why,
	                  size_t len);
	void           *on_connect_arg;
};

/* sp_req.c, for sp_async.c: all with mtx held unless said otherwise. */
void    mps__spq_tab_add(mps__sp *sp, spreq *r);   /* assigns its id */
void    mps__spq_tab_del(mps__sp *sp, spreq *r);
void    mps__spq_complete(mps__sp *sp, spreq *r);  /* wake whoever delivers it */
mps_err mps__spq_late_err(mps__sp *sp, const spreq *r, char *why, size_t len);
void    mps__spq_send_one(mps__sp *sp, spreq *r);  /* mtx NOT held */
void    mps__spq_lead_step(mps__sp *sp, int64_t deadline, pthread_cond_t *mycv);
void    mps__spq_frame_set(mps__sp *sp, spreq *r, mps__msg *m);
int64_t mps__spq_to_deadline(int64_t timeout_ms);

/* sp_async.c: the asynchronous half of mps__tp_sp. */
mps_err mps__spq_areq_alloc(void *tpd, mps__adone_fn done, void *arg, mps__areq **out);
mps_err mps__spq_submit(mps__areq *a, mps__msg *m, int64_t timeout_ms);
void    mps__spq_areq_free(mps__areq *a);

#endif
