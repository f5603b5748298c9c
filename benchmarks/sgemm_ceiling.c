/*
 * sgemm_ceiling.c -- the C OpenBLAS part of `make bench`'s ceiling: cblas_sgemm on
 * square float32 matrices (default 4096^3, 2 n^3 FLOPs per call), at a given thread
 * count, with the core type OpenBLAS actually ran recorded next to the rate.
 *
 *   cc -O2 benchmarks/sgemm_ceiling.c -o build/sgemm_ceiling -lopenblas
 *   OPENBLAS_CORETYPE=SkylakeX build/sgemm_ceiling --threads 1 [--n 4096] [--repeats 5]
 *   build/sgemm_ceiling --corename        only the core type OpenBLAS picks (no product)
 *
 * Prints one JSON line: n, threads, GFLOP/s median / min / max over the repeats (after
 * one warm-up call), OpenBLAS's corename and config, and the OPENBLAS_CORETYPE it saw.
 * Why a core type at all: Debian's OpenBLAS 0.3.21 does not know every CPU and then
 * falls back to SSE3 kernels (a third of the real ceiling); benchmarks/run.sh names the
 * best type the CPU's flags allow, and this program reports whether OpenBLAS took it.
 */
#define _POSIX_C_SOURCE 199309L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_time.h"

extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);

int main(int argc, char **argv) {
    int n = 4096, threads = 1, repeats = 5, name_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--corename")) name_only = 1;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--n 4096] [--repeats 5] [--corename]\n", argv[0]);
            return 2;
        }
    }
    const char *env = getenv("OPENBLAS_CORETYPE");
    if (name_only) {
        printf("{\"corename\": \"%s\", \"OPENBLAS_CORETYPE\": \"%s\"}\n", openblas_get_corename(),
               env ? env : "<unset>");
        return 0;
    }
    if (n < 1 || threads < 1 || repeats < 1 || repeats > 100) {
        fprintf(stderr, "bad --n, --threads or --repeats\n");
        return 2;
    }
    openblas_set_num_threads(threads);
    size_t count = (size_t)n * (size_t)n;
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b), *c = malloc(count * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* Values in [-0.5, 0.5): no subnormals, no overflow, nothing for a fast path to skip. */
    unsigned s = 12345u;
    for (size_t i = 0; i < count; i++) {
        s = s * 1664525u + 1013904223u;
        a[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
        s = s * 1664525u + 1013904223u;
        b[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    double flop = 2.0 * (double)n * (double)n * (double)n, g[100];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    for (int r = 0; r < repeats; r++) {
        double t0 = seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        g[r] = flop / (seconds() - t0) * 1e-9;
    }
    double med = sorted_median(g, repeats);
    printf("{\"n\": %d, \"threads\": %d, \"gflops_median\": %.2f, \"gflops_min\": %.2f, \"gflops_max\": %.2f, "
           "\"repeats\": %d, \"corename\": \"%s\", \"config\": \"%s\", \"OPENBLAS_CORETYPE\": \"%s\"}\n",
           n, openblas_get_num_threads(), med, g[0], g[repeats - 1], repeats, openblas_get_corename(),
           openblas_get_config(), env ? env : "<unset>");
    free(a);
    free(b);
    free(c);
    return 0;
}
