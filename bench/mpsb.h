/*
 * mpsb.h - what mpstore-bench's two files share: the options (set by
 * mpstore-bench.c's main), the tests, the per-run results, and the
 * drivers that run a test's clients (mpsb_run.c: async on one handle,
 * blocking threads, --threads, --procs).
 */
#ifndef MPSB_H
#define MPSB_H

#include <pthread.h>
#include <stdint.h>

#include <mpstore/mpstore.h>

#include "bench_util.h"

enum { PMODE_BATCH, PMODE_ASYNC };
enum { RUN_ASYNC, RUN_SYNC, RUN_PROCS };

/* ---- options (mpstore-bench.c) ---- */
extern const char *o_url;
extern int         o_clients;
extern long        o_requests;
extern int         o_pipeline;
extern int         o_pmode;
extern int         o_run;
extern int         o_threads;
extern int         o_csv;
extern int         o_quiet;
extern int         o_size;
extern long        o_keyspace;
extern long        o_prefill;
extern long        o_memory;
extern long        o_pid;
extern int         o_keep;
extern int         o_calls;
extern int         o_timeout;
extern const char *o_prefix;
extern char        o_tests[512];

/* ---- tests (mpsb_run.c) ---- */
typedef enum {
	T_PING, T_INCR, T_VGET, T_APPEND, T_LGET, T_DSET, T_DGET, T_QPUT, T_QGET, T_TXN, T_MDGET
} test_id;

typedef struct test_def {
	const char *name;
	test_id     id;
	const char *suffix; /* container: PREFIX:suffix */
	mps_kind    kind;
	mps_elem_type type;
} test_def;

extern const test_def TESTS[];
extern const size_t   NTESTS;
const test_def *find_test(const char *name);

/* the current test: payload, container name, dict keyspace */
extern char *g_payload;
extern char  g_cname[256];
extern long  g_keyspace;

/* Written by workers (threads or forked children: it is MAP_SHARED). */
typedef struct shared_res {
	mpsb_hist   hist;
	uint64_t    t_start; /* first submit */
	uint64_t    t_end;   /* last reply */
	uint64_t    ops;
	uint64_t    errors;
	int         first_err;
	char        errmsg[160];
} shared_res;

void res_init(shared_res *r);
void res_merge(shared_res *dst, const shared_res *src);

/* ---- drivers (mpsb_run.c) ---- */
/* nclients async clients on handle c, ops[i] ops each; results into *out. */
void run_async(mps_client *c, const test_def *t, int nclients, const long *ops, uint64_t seed,
    shared_res *out);
/* nclients threads making blocking calls on handle c. */
void run_sync(mps_client *c, const test_def *t, int nclients, const long *ops, shared_res *out);
/* --threads: a thread with its own handle running async clients. */
typedef struct athread {
	pthread_t       tid;
	const test_def *t;
	mps_client     *c;
	int             nclients;
	const long     *ops;
	uint64_t        seed;
	shared_res      res;
} athread;
void *athread_main(void *p);
/* --procs: children forked before this process's first mps_open. */
void procs_start(void);
void procs_run(const test_def *t, const long *ops, shared_res *out);
void procs_stop(void);

#endif
