/*
 * fma_peak.c -- the cores' arithmetic peak: float32 fused multiply-adds on registers only,
 * no loads or stores, the most FLOPs per second this machine does at its current clock.
 *
 * make bench's sgemm ceiling is what the fastest product reaches; this is the bound over
 * it and over every workload. A workload (swann's or a peer's) at 97 % of the peak has
 * nothing left to win but the last few percent any real loop pays for its loads, and two
 * programs both that close to it differ by the machine's run-to-run spread.
 *
 *   cc -O2 benchmarks/fma_peak.c -o build/fma_peak -lpthread
 *   build/fma_peak [--threads 2] [--repeats 5] [--seconds 0.2]
 *
 * For each vector width the CPU has (zmm with AVX-512F, ymm with AVX2 and FMA, chosen from
 * cpuid at run time: the program itself runs on any x86-64), at 1..threads threads started
 * together, each thread a loop of independent FMA chains, enough to cover the FMA latency
 * on two pipes. GFLOP/s = 2 x lanes x FMAs / the slowest thread's time; median, min and
 * max over the repeats. Prints one JSON line.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bench_time.h"

/* acc = acc * m + c converges to c / (1 - m) = 1: normal numbers throughout, nothing a
 * fast path could skip. Each chain starts elsewhere (identical chains would be merged
 * into one by the compiler); each call runs `iters` rounds of `CHAINS` FMAs and returns a
 * sum of the chains, so no chain is dead code. */
#define CHAINS 12

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static float fma_zmm(long iters) {
    __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
    __m512 a0 = _mm512_set1_ps(0.0f), a1 = _mm512_set1_ps(0.1f), a2 = _mm512_set1_ps(0.2f),
           a3 = _mm512_set1_ps(0.3f), a4 = _mm512_set1_ps(0.4f), a5 = _mm512_set1_ps(0.5f),
           a6 = _mm512_set1_ps(0.6f), a7 = _mm512_set1_ps(0.7f), a8 = _mm512_set1_ps(0.8f),
           a9 = _mm512_set1_ps(0.9f), a10 = _mm512_set1_ps(1.1f), a11 = _mm512_set1_ps(1.2f);
    for (long i = 0; i < iters; i++) {
        a0 = _mm512_fmadd_ps(a0, m, c), a1 = _mm512_fmadd_ps(a1, m, c), a2 = _mm512_fmadd_ps(a2, m, c);
        a3 = _mm512_fmadd_ps(a3, m, c), a4 = _mm512_fmadd_ps(a4, m, c), a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c), a7 = _mm512_fmadd_ps(a7, m, c), a8 = _mm512_fmadd_ps(a8, m, c);
        a9 = _mm512_fmadd_ps(a9, m, c), a10 = _mm512_fmadd_ps(a10, m, c), a11 = _mm512_fmadd_ps(a11, m, c);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float fma_ymm(long iters) {
    __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
    __m256 a0 = _mm256_set1_ps(0.0f), a1 = _mm256_set1_ps(0.1f), a2 = _mm256_set1_ps(0.2f),
           a3 = _mm256_set1_ps(0.3f), a4 = _mm256_set1_ps(0.4f), a5 = _mm256_set1_ps(0.5f),
           a6 = _mm256_set1_ps(0.6f), a7 = _mm256_set1_ps(0.7f), a8 = _mm256_set1_ps(0.8f),
           a9 = _mm256_set1_ps(0.9f), a10 = _mm256_set1_ps(1.1f), a11 = _mm256_set1_ps(1.2f);
    for (long i = 0; i < iters; i++) {
        a0 = _mm256_fmadd_ps(a0, m, c), a1 = _mm256_fmadd_ps(a1, m, c), a2 = _mm256_fmadd_ps(a2, m, c);
        a3 = _mm256_fmadd_ps(a3, m, c), a4 = _mm256_fmadd_ps(a4, m, c), a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c), a7 = _mm256_fmadd_ps(a7, m, c), a8 = _mm256_fmadd_ps(a8, m, c);
        a9 = _mm256_fmadd_ps(a9, m, c), a10 = _mm256_fmadd_ps(a10, m, c), a11 = _mm256_fmadd_ps(a11, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float v[8];
    _mm256_storeu_ps(v, s);
    return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}
#endif

struct width {
    const char *name;
    int lanes;
    float (*run)(long);
};

struct worker {
    const struct width *w;
    long iters;
    pthread_barrier_t *start;
    double elapsed;
    float sink;
};

static void *work(void *p) {
    struct worker *k = p;
    pthread_barrier_wait(k->start);
    double t0 = seconds();
    k->sink = k->w->run(k->iters);
    k->elapsed = seconds() - t0;
    return NULL;
}

/* GFLOP/s of `threads` threads each running `iters` rounds, timed by the slowest. */
static double measure(const struct width *w, int threads, long iters, float *sink) {
    pthread_t id[64];
    struct worker k[64];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    for (int i = 0; i < threads; i++) {
        k[i] = (struct worker){.w = w, .iters = iters, .start = &start};
        if (i > 0 && pthread_create(&id[i], NULL, work, &k[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(1);
        }
    }
    work(&k[0]);
    double slowest = k[0].elapsed;
    for (int i = 1; i < threads; i++) {
        pthread_join(id[i], NULL);
        if (k[i].elapsed > slowest) slowest = k[i].elapsed;
    }
    for (int i = 0; i < threads; i++) *sink += k[i].sink;
    pthread_barrier_destroy(&start);
    return 2.0 * w->lanes * CHAINS * (double)iters * threads / slowest * 1e-9;
}

int main(int argc, char **argv) {
    int threads = 2, repeats = 5;
    double target = 0.2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) target = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--threads 2] [--repeats 5] [--seconds 0.2]\n", argv[0]);
            return 2;
        }
    }
    if (threads < 1 || threads > 64 || repeats < 1 || repeats > 100 || !(target > 0 && target < 60)) {
        fprintf(stderr, "bad --threads (1-64), --repeats (1-100) or --seconds\n");
        return 2;
    }
    struct width widths[2];
    int n = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) widths[n++] = (struct width){"avx512", 16, fma_zmm};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) widths[n++] = (struct width){"avx2", 8, fma_ymm};
#endif
    float sink = 0;
    printf("{\"widths\": {");
    for (int w = 0; w < n; w++) {
        /* Rounds for about `target` seconds on one thread, from a short calibration run. */
        long iters = 1L << 16;
        double t0 = seconds();
        widths[w].run(iters);
        double dt = seconds() - t0;
        iters = dt > 0 ? (long)((double)iters * target / dt) : 1L << 24;
        if (iters < 1024) iters = 1024;
        printf("%s\"%s\": {\"lanes\": %d, \"chains\": %d, \"rounds\": %ld", w ? ", " : "", widths[w].name,
               widths[w].lanes, CHAINS, iters);
        for (int t = 1; t <= threads; t++) {
            double g[100];
            measure(&widths[w], t, iters / 8, &sink); /* warm-up: the clock settles at the width */
            for (int r = 0; r < repeats; r++) g[r] = measure(&widths[w], t, iters, &sink);
            double med = sorted_median(g, repeats);
            printf(", \"t%d\": {\"gflops_median\": %.2f, \"gflops_min\": %.2f, \"gflops_max\": %.2f}", t, med, g[0],
                   g[repeats - 1]);
        }
        printf("}");
    }
    printf("}, \"threads\": %d, \"repeats\": %d, \"sink\": %.3f}\n", threads, repeats, (double)sink);
    return n ? 0 : 1;
}
