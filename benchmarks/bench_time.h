/*
 * bench_time.h -- the clock and the median the standalone C drivers share
 * (sgemm_ceiling.c, fma_peak.c, core_latency.c): each is one file compiled alone.
 */
#ifndef SWANN_BENCH_TIME_H
#define SWANN_BENCH_TIME_H

#include <stdlib.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0 ..< n] ascending (v[0] is then the min, v[n - 1] the max) and returns its median. */
static inline double sorted_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
