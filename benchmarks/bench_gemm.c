/*
 * bench_gemm.c -- swann's matrix products against OpenBLAS cblas_sgemm, same shapes,
 * same transposes, same thread count, in the same process.
 *
 * swann's GEMM is internal, so it is measured through the public API, on a
 * one-layer identity net {"input": K, "layers": [{"units": N, "activation":
 * "identity"}], "loss": "none", "threads": T} created for batch M:
 *
 *   fwd   swann_forward(net, X, M, NULL)            Z = X W^T + b   [M x N], inner K
 *         one call = finite check of X, copy of X into the arena, bias broadcast
 *         into Z, the product (accumulated onto Z), identity copy Z -> Y.
 *         OpenBLAS: sgemm(NoTrans, Trans, M, N, K, beta 1)        2 M N K flops
 *   dW    swann_backward_grad(net, dY, NULL)        dW += dY^T X   [N x K], inner M
 *         one call = finite check and copy of dY, the product, the bias
 *         gradient (column sums of dY). dX is not computed (dx == NULL, one layer).
 *         OpenBLAS: sgemm(Trans, NoTrans, N, K, M, beta 1)        2 M N K flops
 *   bwd   swann_backward_grad(net, dY, dX)          dW as above, then dX = dY W [M x K],
 *         inner N, and the copy of dX out.
 *         OpenBLAS: the dW sgemm, then sgemm(NoTrans, NoTrans, M, K, N, beta 0)
 *                                                                  4 M N K flops
 *   dX    derived, not timed: bwd time minus dW time (both medians), for the
 *         dY = dZ W shapes; OpenBLAS times sgemm(NoTrans, NoTrans, M, K, N) alone.
 *
 * Every swann number is one whole API call timed as it is, with nothing subtracted,
 * so it includes the O(M N + M K) work listed above on top of the product; that
 * matters at small sizes only. GFLOP/s counts the product flops alone.
 *
 * Shapes: the layers of the peer workloads (W1 784-512-256-10 at batch 128, W4
 * 1024-4096-4096-1024 at batch 256; every layer gives a forward, a dW and a dX
 * product) and square fwd products n = 64 .. 4096 for the roofline plot.
 *
 * Timing: per measurement one warm-up call, then `repeats` timed runs of enough
 * calls to last >= 40 ms (at least one); GFLOP/s median (min, max) over the runs.
 * swann and OpenBLAS alternate shape by shape, with a pause between them so that
 * neither library's idle worker threads (OpenBLAS's spin a while after a call)
 * take a core from the other.
 *
 *   usage: bench_gemm [--threads T] [--quick] [--only layers,square] [--max-square N]
 *                     [--json FILE]
 *   build: cc -O2 -I PREFIX/include bench_gemm.c -o bench_gemm -L PREFIX/lib -lswann -lopenblas
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "swann.h"

extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);

#define CHECK(call) do { swann_status s_ = (call); if (s_ != SWANN_OK) { \
    fprintf(stderr, "%s: %s: %s\n", #call, swann_status_name(s_), swann_last_error()); exit(1); } } while (0)

static int threads = 1, quick = 0, repeats = 5, max_square = 4096;
static const char *only = "layers,square";

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void pause_ms(int ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static unsigned long long rng = 88172645463325252ULL;
static float uniform_pm1(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((double)(rng >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

static float *random_floats(size_t n) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    if (!p) { fprintf(stderr, "out of memory (%zu floats)\n", n); exit(1); }
    for (size_t i = 0; i < n; i++) p[i] = uniform_pm1();
    return p;
}

/* Seconds per call of what `op` does: median, min, max over the timed runs. */
typedef struct { double med, min, max; int calls, runs; } timing;

typedef void (*op_fn)(void *ctx);

static timing measure(op_fn op, void *ctx, void (*reset)(void *)) {
    op(ctx); /* warm-up: pages touched, workers started, caches filled */
    if (reset) reset(ctx);
    double t0 = now();
    op(ctx);
    double one = now() - t0;
    int calls = one >= 0.04 ? 1 : (int)(0.04 / (one > 1e-7 ? one : 1e-7)) + 1;
    if (calls > 100000) calls = 100000;
    double ts[64];
    int runs = repeats;
    for (int r = 0; r < runs; r++) {
        if (reset) reset(ctx);
        t0 = now();
        for (int c = 0; c < calls; c++) op(ctx);
        ts[r] = (now() - t0) / calls;
    }
    qsort(ts, (size_t)runs, sizeof *ts, cmp_double);
    timing t = {runs % 2 ? ts[runs / 2] : 0.5 * (ts[runs / 2 - 1] + ts[runs / 2]), ts[0], ts[runs - 1], calls, runs};
    return t;
}

/* ---- the two implementations ---- */

typedef struct {
    int m, n, k;           /* batch M, units N, input K */
    swann_net *net;
    float *x, *dy, *dx;
} swann_ctx;

static void swann_fwd(void *p) { swann_ctx *c = p; CHECK(swann_forward(c->net, c->x, (size_t)c->m, NULL)); }
static void swann_dw(void *p) { swann_ctx *c = p; CHECK(swann_backward_grad(c->net, c->dy, NULL)); }
static void swann_bwd(void *p) { swann_ctx *c = p; CHECK(swann_backward_grad(c->net, c->dy, c->dx)); }
static void swann_reset(void *p) { swann_ctx *c = p; CHECK(swann_zero_grad(c->net)); }

typedef struct {
    int m, n, k;
    float *x, *w, *z, *dy, *dw, *dx;
} blas_ctx;

/* Z[M x N] += X[M x K] W[N x K]^T */
static void blas_fwd(void *p) {
    blas_ctx *c = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->m, c->n, c->k, 1.f, c->x, c->k, c->w, c->k, 1.f, c->z, c->n);
}
/* dW[N x K] += dY[M x N]^T X[M x K] */
static void blas_dw(void *p) {
    blas_ctx *c = p;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c->n, c->k, c->m, 1.f, c->dy, c->n, c->x, c->k, 1.f, c->dw, c->k);
}
/* dX[M x K] = dY[M x N] W[N x K] */
static void blas_dx(void *p) {
    blas_ctx *c = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->m, c->k, c->n, 1.f, c->dy, c->n, c->w, c->k, 0.f, c->dx, c->k);
}
static void blas_bwd(void *p) { blas_dw(p); blas_dx(p); }
static void blas_reset(void *p) { blas_ctx *c = p; memset(c->dw, 0, sizeof(float) * (size_t)c->n * (size_t)c->k); }

/* ---- output ---- */

static FILE *json;
static int first_row = 1;

static void emit(const char *group, const char *name, const char *op, int m, int n, int k, double flops,
                 timing s, timing b, int derived) {
    double sg = flops / s.med / 1e9, bg = flops / b.med / 1e9;
    fprintf(json, "%s\n  {\"group\": \"%s\", \"name\": \"%s\", \"op\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, "
            "\"gflop\": %.6f, \"derived\": %s,\n   \"swann\": {\"s_median\": %.9f, \"gflops_median\": %.2f, "
            "\"gflops_min\": %.2f, \"gflops_max\": %.2f, \"calls_per_run\": %d, \"runs\": %d},\n"
            "   \"openblas\": {\"s_median\": %.9f, \"gflops_median\": %.2f, \"gflops_min\": %.2f, "
            "\"gflops_max\": %.2f, \"calls_per_run\": %d, \"runs\": %d},\n   \"ratio_swann_openblas\": %.3f}",
            first_row ? "" : ",", group, name, op, m, n, k, flops / 1e9, derived ? "true" : "false",
            s.med, sg, derived ? sg : flops / s.max / 1e9, derived ? sg : flops / s.min / 1e9, s.calls, s.runs,
            b.med, bg, derived ? bg : flops / b.max / 1e9, derived ? bg : flops / b.min / 1e9, b.calls, b.runs,
            sg / bg);
    first_row = 0;
    fprintf(stderr, "[gemm t=%d] %-6s %-10s %-4s M=%-5d N=%-5d K=%-5d swann %7.1f  OpenBLAS %7.1f GFLOP/s  (%.2fx)%s\n",
            threads, group, name, op, m, n, k, sg, bg, sg / bg, derived ? "  [derived: bwd - dW]" : "");
    fflush(json);
}

/* One layer (input K, units N) at batch M: the ops in `ops` ("fwd", "dw", "bwd", "dx"). */
static void layer(const char *group, const char *name, int m, int n, int k, int with_backward) {
    char spec[512];
    snprintf(spec, sizeof spec, "{\"input\": %d, \"layers\": [{\"units\": %d, \"activation\": \"identity\"}], "
             "\"loss\": \"none\", \"seed\": 0, \"threads\": %d}", k, n, threads);
    swann_ctx sc = {m, n, k, NULL, NULL, NULL, NULL};
    CHECK(swann_create(spec, (size_t)m, NULL, 0, &sc.net));
    sc.x = random_floats((size_t)m * k);
    sc.dy = random_floats((size_t)m * n);
    sc.dx = random_floats((size_t)m * k);
    blas_ctx bc = {m, n, k, sc.x, NULL, NULL, sc.dy, NULL, NULL};
    size_t count;
    float *params;
    CHECK(swann_params(sc.net, &params, &count));
    bc.w = malloc(sizeof(float) * (size_t)n * k);
    memcpy(bc.w, params, sizeof(float) * (size_t)n * k); /* the same weights */
    bc.z = random_floats((size_t)m * n);
    bc.dw = random_floats((size_t)n * k);
    bc.dx = random_floats((size_t)m * k);
    double f = 2.0 * m * (double)n * k;

    timing s = measure(swann_fwd, &sc, NULL);
    pause_ms(threads > 1 ? 150 : 20);
    timing b = measure(blas_fwd, &bc, NULL);
    pause_ms(threads > 1 ? 150 : 20);
    emit(group, name, "fwd", m, n, k, f, s, b, 0);
    if (with_backward) {
        timing sdw = measure(swann_dw, &sc, swann_reset);
        pause_ms(threads > 1 ? 150 : 20);
        timing bdw = measure(blas_dw, &bc, blas_reset);
        pause_ms(threads > 1 ? 150 : 20);
        /* dW's shape as (M, N, K) of the product: N x K output, inner M */
        emit(group, name, "dW", n, k, m, f, sdw, bdw, 0);
        timing sb = measure(swann_bwd, &sc, swann_reset);
        pause_ms(threads > 1 ? 150 : 20);
        timing bb = measure(blas_bwd, &bc, blas_reset);
        pause_ms(threads > 1 ? 150 : 20);
        timing bdx = measure(blas_dx, &bc, NULL);
        pause_ms(threads > 1 ? 150 : 20);
        emit(group, name, "bwd", m, n, k, 2 * f, sb, bb, 0);
        /* dX = dY W: M x K output, inner N. swann's is derived: bwd - dW (medians). */
        double d = sb.med - sdw.med;
        timing sdx = {d > 1e-9 ? d : 1e-9, 0, 0, sb.calls, sb.runs};
        emit(group, name, "dX", m, k, n, f, sdx, bdx, 1);
    }
    swann_destroy(sc.net);
    free(sc.x); free(sc.dy); free(sc.dx);
    free(bc.w); free(bc.z); free(bc.dw); free(bc.dx);
}

static int wanted(const char *w) { return strstr(only, w) != NULL; }

int main(int argc, char **argv) {
    const char *json_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--max-square") && i + 1 < argc) max_square = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--threads T] [--quick] [--only layers,square] [--max-square N] [--json FILE]\n", argv[0]);
            return 2;
        }
    }
    if (threads < 1) threads = 1;
    if (quick) { repeats = 3; if (max_square > 1024) max_square = 1024; }
    openblas_set_num_threads(threads);
    json = json_path ? fopen(json_path, "w") : stdout;
    if (!json) { perror(json_path); return 1; }
    fprintf(json, "{\"bench\": \"gemm\", \"swann_version\": \"%s\", \"threads\": %d, \"openblas_threads\": %d, "
            "\"openblas_config\": \"%s\", \"openblas_corename\": \"%s\", \"repeats\": %d,\n"
            " \"method\": \"swann: one public API call on a one-layer identity net, timed whole (fwd = swann_forward: "
            "finite check + copy of X, bias broadcast, Z += X W^T, identity copy; dW = swann_backward_grad(dy, NULL): "
            "finite check + copy of dY, dW += dY^T X, bias gradient; bwd = swann_backward_grad(dy, dx): dW plus dX = dY W "
            "and the copy of dX out; dX row = bwd minus dW, derived). OpenBLAS: cblas_sgemm with the same M, N, K and "
            "transposes (fwd NoTrans/Trans beta 1, dW Trans/NoTrans beta 1, dX NoTrans/NoTrans beta 0; bwd = dW + dX). "
            "GFLOP/s = 2 M N K (4 M N K for bwd) / median seconds per call.\",\n \"rows\": [",
            swann_version(), threads, openblas_get_num_threads(), openblas_get_config(), openblas_get_corename(), repeats);
    if (wanted("layers")) {
        /* W1 784-512-256-10 at batch 128; W4 1024-4096-4096-1024 at batch 256 */
        static const struct { const char *g, *n; int m, in, out; } L[] = {
            {"W1", "784-512", 128, 784, 512}, {"W1", "512-256", 128, 512, 256}, {"W1", "256-10", 128, 256, 10},
            {"W4", "1024-4096", 256, 1024, 4096}, {"W4", "4096-4096", 256, 4096, 4096}, {"W4", "4096-1024", 256, 4096, 1024},
        };
        for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) layer(L[i].g, L[i].n, L[i].m, L[i].out, L[i].in, 1);
    }
    if (wanted("square")) {
        static const int sq[] = {64, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096};
        for (size_t i = 0; i < sizeof sq / sizeof sq[0] && sq[i] <= max_square; i++) {
            char name[32];
            snprintf(name, sizeof name, "n=%d", sq[i]);
            if (sq[i] >= 3072 && repeats > 3) repeats = 3;
            layer("square", name, sq[i], sq[i], sq[i], 0);
        }
    }
    fprintf(json, "\n]}\n");
    if (json != stdout) fclose(json);
    return 0;
}
