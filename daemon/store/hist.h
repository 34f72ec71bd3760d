/*
 * hist.h - latency histograms for the daemon's metrics (request latency,
 * commit time): counts per bucket, bounded by the upper limits below in
 * seconds, the last bucket unbounded (Prometheus's "+Inf"). Counting is
 * one increment (plain on the loop thread, atomic on the commit thread);
 * the metrics page adds the buckets up into Prometheus's cumulative form.
 */
#ifndef MPSD_HIST_H
#define MPSD_HIST_H

#include <stdint.h>
#include <time.h>

#define MPSD_HIST_N 16 /* buckets; the last has no upper bound */

/* Upper bound of bucket i (i < MPSD_HIST_N - 1) in nanoseconds. */
static inline int64_t mpsd_hist_bound_ns(int i)
{
	static const int64_t b[MPSD_HIST_N - 1] = {100000, 250000, 500000, 1000000, 2500000,
		5000000, 10000000, 25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
		2500000000, 5000000000};
	return b[i];
}

/* The bucket of a duration. */
static inline int mpsd_hist_bucket(int64_t ns)
{
	int i = 0;
	while (i < MPSD_HIST_N - 1 && ns > mpsd_hist_bound_ns(i))
		i++;
	return i;
}

/* Monotonic nanoseconds. */
static inline int64_t mpsd_hist_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
