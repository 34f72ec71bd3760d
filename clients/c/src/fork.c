/*
 * fork.c - the registry of open handles, watches and mirrors that keeps
 * them usable across fork() (mps__forkable in mps_int.h), and the
 * monotonic condition variables the library waits on.
 *
 * One pthread_atfork() for the library: prepare takes the registry's lock
 * and every registered object's locks, in registration order (the
 * library's locks are leaves, so no other thread can hold one while
 * waiting for another: no deadlock), parent releases them, and child runs
 * alone in the new process: it makes each lock usable again and lets each
 * object forget what belongs to the parent.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "mps_int.h"

static pthread_mutex_t reg_mtx  = PTHREAD_MUTEX_INITIALIZER;
static mps__forkable   reg      = {&reg, &reg, NULL, NULL, NULL, NULL};
static pthread_once_t  reg_once = PTHREAD_ONCE_INIT;

static void
at_prepare(void)
{
	pthread_mutex_lock(&reg_mtx);
	for (mps__forkable *f = reg.next; f != &reg; f = f->next) {
		f->prepare(f->arg);
	}
}

static void
at_parent(void)
{
	for (mps__forkable *f = reg.next; f != &reg; f = f->next) {
		f->parent(f->arg);
	}
	pthread_mutex_unlock(&reg_mtx);
}

static void
at_child(void)
{
	/* locked by this thread's copy in the parent: start afresh */
	pthread_mutex_init(&reg_mtx, NULL);
	for (mps__forkable *f = reg.next; f != &reg; f = f->next) {
		f->child(f->arg);
	}
}

static void
reg_init(void)
{
	pthread_atfork(at_prepare, at_parent, at_child);
}

void
mps__fork_register(mps__forkable *f)
{
	pthread_once(&reg_once, reg_init);
	pthread_mutex_lock(&reg_mtx);
	f->prev       = reg.prev;
	f->next       = &reg;
	reg.prev->next = f;
	reg.prev       = f;
	pthread_mutex_unlock(&reg_mtx);
}

void
mps__fork_unregister(mps__forkable *f)
{
	if (f->next == NULL) {
		return; /* never registered */
	}
	pthread_mutex_lock(&reg_mtx);
	f->prev->next = f->next;
	f->next->prev = f->prev;
	f->next = f->prev = NULL;
	pthread_mutex_unlock(&reg_mtx);
}

void
mps__cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

int
mps__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m, int64_t deadline)
{
	if (deadline < 0) {
		return pthread_cond_wait(cv, m);
	}
	struct timespec ts = {(time_t) (deadline / 1000), (long) (deadline % 1000) * 1000000L};
	int             rv = pthread_cond_timedwait(cv, m, &ts);
	return rv == ETIMEDOUT ? ETIMEDOUT : 0;
}
