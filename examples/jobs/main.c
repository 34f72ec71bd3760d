/*
 * jobs - a producer and a worker sharing a job queue through mpstored,
 * with the typed stubs generated from jobs.proto.
 *
 *   jobs [URL]      (URL defaults to $MPSTORE_URL, then mpstore's default)
 *
 * It registers the schema (creating the declared containers), puts three
 * jobs into jobs.pending, signs in as a worker in jobs.workers, takes and
 * "runs" every job, files each under its id in jobs.finished, and counts
 * them in jobs.completed. Exit status 0 when everything checked out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobs.mps.h"

#define CHECK(call)                                                                \
	do {                                                                       \
		mps_err e_ = (call);                                               \
		if (e_ != MPS_OK) {                                                \
			fprintf(stderr, "jobs: %s: %s (%s)\n", #call, mps_strerror(e_), \
			    mps_last_error());                                     \
			exit(1);                                                   \
		}                                                                  \
	} while (0)

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A job with a nested Resources message, a map of environment variables,
 * repeated args and an enum state. Everything points at the stack or at
 * string constants: the stubs only read what they are given. */
static void
submit(mps_client *c, const char *id, const char *command, int priority)
{
	Jobs__Job            job = JOBS__JOB__INIT;
	Jobs__Resources      res = JOBS__RESOURCES__INIT;
	Jobs__Job__EnvEntry  e1 = JOBS__JOB__ENV_ENTRY__INIT, e2 = JOBS__JOB__ENV_ENTRY__INIT;
	Jobs__Job__EnvEntry *env[] = {&e1, &e2};
	char                *args[] = {(char *) "--verbose", (char *) id};
	char                *gpus[] = {(char *) "gpu0"};

	res.cpus      = 2;
	res.memory_mb = 512;
	res.n_gpus    = priority > 1 ? 1 : 0;
	res.gpus      = gpus;
	e1.key        = (char *) "LANG";
	e1.value      = (char *) "C.UTF-8";
	e2.key        = (char *) "JOB_ID";
	e2.value      = (char *) id;

	job.id        = (char *) id;
	job.command   = (char *) command;
	job.n_args    = 2;
	job.args      = args;
	job.n_env     = 2;
	job.env       = env;
	job.resources = &res;
	job.state     = JOBS__STATE__QUEUED;
	job.priority  = priority;

	int64_t qsize;
	CHECK(cluster__pending__put(c, &job, 0, &qsize));
	printf("submitted %s (%s), queue size %lld\n", id, command, (long long) qsize);
}

/* Take jobs until the queue is empty, as worker `name`. */
static int
work(mps_client *c, const char *name)
{
	Jobs__Worker                 w = JOBS__WORKER__INIT;
	Jobs__Worker__StatsEntry     st = JOBS__WORKER__STATS_ENTRY__INIT;
	Jobs__Worker__StatsEntry    *stats[] = {&st};
	char                        *labels[] = {(char *) "example", (char *) "linux"};
	char                         host[256] = "localhost";
	int                          done = 0;

	gethostname(host, sizeof(host) - 1);
	w.host     = host;
	w.pid      = (int32_t) getpid();
	w.state    = JOBS__STATE__RUNNING;
	w.n_labels = 2;
	w.labels   = labels;
	w.n_stats  = 1;
	w.stats    = stats;
	st.key     = (char *) "jobs_done";
	w.current_job = (char *) "";
	CHECK(cluster__workers__set(c, name, &w));

	for (;;) {
		Jobs__Job *job = NULL;
		mps_err    e   = cluster__pending__get(c, 0, &job); /* 0: do not wait */
		if (e == MPS_ERR_EMPTY || e == MPS_ERR_TIMEOUT) {
			break;
		}
		CHECK(e);
		w.current_job = job->id;
		CHECK(cluster__workers__set(c, name, &w));

		/* "run" it, and keep a record of the attempt */
		Jobs__Job__Attempt  a   = JOBS__JOB__ATTEMPT__INIT;
		Jobs__Job__Attempt *att[] = {&a};
		a.worker     = (char *) name;
		a.started_ms = now_ms();
		a.exit_code  = 0;
		job->state      = JOBS__STATE__DONE;
		Jobs__Job__Attempt **old = job->attempts;
		size_t               nold = job->n_attempts;
		job->attempts   = att;
		job->n_attempts = 1;
		CHECK(cluster__finished__set(c, job->id, job));
		job->attempts   = old; /* give back what the decoder allocated */
		job->n_attempts = nold;
		CHECK(cluster__pending__task_done(c));
		int64_t total;
		CHECK(cluster__completed__add(c, 1, &total));
		printf("%s ran %s: %s %s (%zu env vars, %d cpus), %lld completed\n", name, job->id,
		    job->command, job->args[0], job->n_env, job->resources->cpus, (long long) total);
		jobs__job__free_unpacked(job, NULL);
		st.value = ++done;
	}
	w.state       = JOBS__STATE__DONE;
	w.current_job = (char *) "";
	CHECK(cluster__workers__set(c, name, &w));
	return done;
}

int
main(int argc, char **argv)
{
	const char *url = argc > 1 ? argv[1] : NULL;
	mps_client *c;
	CHECK(mps_open(&c, url, 5000));
	CHECK(cluster__register(c)); /* schema + containers; idempotent */

	int64_t before;
	CHECK(cluster__completed__get(c, &before));
	submit(c, "job-1", "make", 1);
	submit(c, "job-2", "make test", 2);
	submit(c, "job-3", "make install", 3);
	int n = work(c, "worker-a");

	/* read back what the worker filed */
	Jobs__Job *j = NULL;
	CHECK(cluster__finished__get(c, "job-2", &j));
	int ok = j->state == JOBS__STATE__DONE && j->n_attempts == 1 &&
	         strcmp(j->attempts[0]->worker, "worker-a") == 0 && j->n_env == 2 &&
	         j->resources != NULL && j->resources->n_gpus == 1;
	jobs__job__free_unpacked(j, NULL);
	Jobs__Worker *w = NULL;
	CHECK(cluster__workers__get(c, "worker-a", &w));
	ok = ok && w->state == JOBS__STATE__DONE && w->n_stats == 1 && w->stats[0]->value == 3;
	jobs__worker__free_unpacked(w, NULL);
	int64_t after;
	CHECK(cluster__completed__get(c, &after));
	ok = ok && n == 3 && after == before + 3;
	printf("completed %lld jobs in total; %s\n", (long long) after, ok ? "all good" : "MISMATCH");
	mps_close(c);
	return ok ? 0 : 1;
}
