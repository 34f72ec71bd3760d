/* bench_util.c - histogram, clock and report for the benchmarks. */
#include "bench_util.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
mpsb_hist_init(mpsb_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

static int
hist_index(uint64_t v)
{
	if (v < 128)
		return (int) v;
	int e = 63 - __builtin_clzll(v); /* >= 7 */
	if (e > MPSB_HIST_MAX_EXP)
		return MPSB_HIST_BUCKETS - 1;
	uint64_t m = v >> (e - 6); /* 64..127 */
	return 128 + (e - 7) * 64 + (int) (m - 64);
}

/* midpoint of bucket i */
static uint64_t
hist_value(int i)
{
	if (i < 128)
		return (uint64_t) i;
	int e = (i - 128) / 64 + 7;
	uint64_t m = (uint64_t) ((i - 128) % 64 + 64);
	uint64_t lo = m << (e - 6);
	uint64_t w = (uint64_t) 1 << (e - 6);
	return lo + w / 2;
}

void
mpsb_hist_add(mpsb_hist *h, uint64_t ns)
{
	h->count++;
	h->sum_ns += (double) ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->b[hist_index(ns)]++;
}

void
mpsb_hist_merge(mpsb_hist *dst, const mpsb_hist *src)
{
	if (src->count == 0)
		return;
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	if (src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	for (int i = 0; i < MPSB_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
}

uint64_t
mpsb_hist_pct(const mpsb_hist *h, double p)
{
	if (h->count == 0)
		return 0;
	uint64_t rank = (uint64_t) ceil(p / 100.0 * (double) h->count);
	if (rank < 1)
		rank = 1;
	uint64_t cum = 0;
	for (int i = 0; i < MPSB_HIST_BUCKETS; i++) {
		cum += h->b[i];
		if (cum >= rank) {
			uint64_t v = hist_value(i);
			/* the bucket midpoint may overshoot the true extremes */
			if (v > h->max_ns)
				v = h->max_ns;
			if (v < h->min_ns)
				v = h->min_ns;
			return v;
		}
	}
	return h->max_ns;
}

uint64_t
mpsb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

void
mpsb_report(FILE *out, int csv, const char *test, uint64_t ops, uint64_t elapsed_ns,
            const mpsb_hist *h)
{
	double rps = elapsed_ns ? (double) ops * 1e9 / (double) elapsed_ns : 0.0;
	double avg = h->count ? h->sum_ns / (double) h->count / 1e6 : 0.0;
	double mn = h->count ? (double) h->min_ns / 1e6 : 0.0;
	double p50 = (double) mpsb_hist_pct(h, 50) / 1e6;
	double p95 = (double) mpsb_hist_pct(h, 95) / 1e6;
	double p99 = (double) mpsb_hist_pct(h, 99) / 1e6;
	double mx = (double) h->max_ns / 1e6;
	if (csv) {
		fprintf(out, "\"%s\",\"%.2f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\"\n",
		        test, rps, avg, mn, p50, p95, p99, mx);
	} else {
		fprintf(out,
		        "%s: %.2f requests per second, %llu ops in %.3f s\n"
		        "  latency (msec): avg %.3f min %.3f p50 %.3f p95 %.3f p99 %.3f max %.3f\n",
		        test, rps, (unsigned long long) ops, (double) elapsed_ns / 1e9, avg, mn, p50,
		        p95, p99, mx);
	}
	fflush(out);
}

long long
mpsb_parse_count(const char *s)
{
	char *end;
	if (s == NULL || !isdigit((unsigned char) *s))
		return -1;
	long long v = strtoll(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		v *= 1000, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1000000, end++;
	else if (*end == 'g' || *end == 'G')
		v *= 1000000000, end++;
	if (*end != '\0' || v < 0)
		return -1;
	return v;
}
