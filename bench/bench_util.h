/*
 * bench_util.h - shared by mpstore-bench and echo_bench: a latency histogram,
 * a clock, and the redis-benchmark style report (CSV or readable).
 *
 * Not part of libmpstore; only the benchmark programs use it.
 */
#ifndef MPSB_BENCH_UTIL_H
#define MPSB_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>

/*
 * Log-linear histogram of latencies in nanoseconds (HDR-like): exact below
 * 128 ns, then 64 sub-buckets per power of two (under 1.6% error), up to
 * about 2^40 ns (18 minutes). Plain storage with no pointers, so that it can
 * live in a MAP_SHARED page written by forked children. Not thread-safe: give
 * each thread (or each in-flight slot driven by one callback at a time) its
 * own and merge them at the end.
 */
#define MPSB_HIST_MAX_EXP 40
#define MPSB_HIST_BUCKETS (128 + (MPSB_HIST_MAX_EXP - 7 + 1) * 64)

typedef struct mpsb_hist {
	uint64_t count;
	uint64_t min_ns;
	uint64_t max_ns;
	double sum_ns;
	uint64_t b[MPSB_HIST_BUCKETS];
} mpsb_hist;

void mpsb_hist_init(mpsb_hist *h);
void mpsb_hist_add(mpsb_hist *h, uint64_t ns);
/* dst += src */
void mpsb_hist_merge(mpsb_hist *dst, const mpsb_hist *src);
/* The value (ns) at percentile p (0..100): the smallest recorded bucket whose
 * cumulative count reaches ceil(p/100 * count). 0 when empty. */
uint64_t mpsb_hist_pct(const mpsb_hist *h, double p);

/* Monotonic clock, nanoseconds. */
uint64_t mpsb_now_ns(void);

/* The exact header redis-benchmark --csv prints. */
#define MPSB_CSV_HEADER                                                                        \
	"\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\","           \
	"\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\""

/* One report row for `test`: ops done in elapsed_ns with latencies in h.
 * csv != 0: one CSV line (as redis-benchmark --csv); else a readable summary. */
void mpsb_report(FILE *out, int csv, const char *test, uint64_t ops, uint64_t elapsed_ns,
                 const mpsb_hist *h);

/* Parses a non-negative integer with an optional k/m/g suffix (x1000). Returns
 * -1 on a malformed string. */
long long mpsb_parse_count(const char *s);

#endif
