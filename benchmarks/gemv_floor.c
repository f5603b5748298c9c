/*
 * gemv_floor.c -- how fast can one core read a layer's weights? The floor under W3.
 *
 * W3 is one row through 784-128-10: the 128 x 784 weight matrix (392 KiB) is read
 * once per call and does 2 FLOPs per 4 bytes, so the call is bound by the cache the
 * weights sit in (L2 here), not by arithmetic. This program times plain AVX2/FMA
 * matrix-vector products y = W x for W of 784 columns and 8 .. 256 rows (24 KiB to
 * 784 KiB), in two loop shapes (eight rows at a time sharing each x load, as swann's
 * rowDots; four rows two vectors deep) and a loop that only reads the weights, and
 * prints microseconds per pass and the bandwidth reached. No swann inside: it is the
 * bound any implementation meets.
 *
 *   cc -O3 -march=haswell benchmarks/gemv_floor.c -o build/gemv_floor && build/gemv_floor
 * (-O3: at -O2 gcc keeps the accumulator arrays in memory and measures itself, not the cache)
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define K 784

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float hsum(__m256 v)
{
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_hadd_ps(a, a);
    a = _mm_hadd_ps(a, a);
    return _mm_cvtss_f32(a);
}

/* Eight rows at a time: one x load feeds eight FMAs (eight weight streams). */
__attribute__((noinline)) static void rows8(const float *x, const float *w, float *y, int n)
{
    for (int j = 0; j < n; j += 8) {
        const float *w0 = w + (size_t)j * K;
        __m256 s[8];
        for (int r = 0; r < 8; r++) s[r] = _mm256_setzero_ps();
        for (int p = 0; p + 8 <= K; p += 8) {
            __m256 xv = _mm256_loadu_ps(x + p);
            for (int r = 0; r < 8; r++) s[r] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w0 + r * K + p), s[r]);
        }
        for (int r = 0; r < 8; r++) y[j + r] = hsum(s[r]);
    }
}

/* Four rows, two vectors deep: four weight streams, eight accumulators. */
__attribute__((noinline)) static void rows4x2(const float *x, const float *w, float *y, int n)
{
    for (int j = 0; j < n; j += 4) {
        const float *w0 = w + (size_t)j * K;
        __m256 s[8];
        for (int r = 0; r < 8; r++) s[r] = _mm256_setzero_ps();
        int p = 0;
        for (; p + 16 <= K; p += 16) {
            __m256 x0 = _mm256_loadu_ps(x + p), x1 = _mm256_loadu_ps(x + p + 8);
            for (int r = 0; r < 4; r++) {
                s[2 * r] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w0 + r * K + p), s[2 * r]);
                s[2 * r + 1] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(w0 + r * K + p + 8), s[2 * r + 1]);
            }
        }
        for (; p + 8 <= K; p += 8) {
            __m256 x0 = _mm256_loadu_ps(x + p);
            for (int r = 0; r < 4; r++) s[2 * r] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w0 + r * K + p), s[2 * r]);
        }
        for (int r = 0; r < 4; r++) y[j + r] = hsum(_mm256_add_ps(s[2 * r], s[2 * r + 1]));
    }
}

/* No product at all: only the loads of the weights, four independent sums (the
 * bound on any loop that reads the matrix once; x and y are not touched). */
__attribute__((noinline)) static void read_only(const float *x, const float *w, float *y, int n)
{
    (void)x;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t total = (size_t)n * K;
    for (size_t i = 0; i + 32 <= total; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(w + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(w + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(w + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(w + i + 24));
    }
    y[0] = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over 15 batches of `calls` products, in microseconds per product. */
static double time_us(void (*f)(const float *, const float *, float *, int), const float *x, const float *w,
                      float *y, int n)
{
    int calls = 20000;
    double t[15];
    for (int i = 0; i < 2000; i++) f(x, w, y, n);
    for (int b = 0; b < 15; b++) {
        double t0 = now();
        for (int i = 0; i < calls; i++) {
            f(x, w, y, n);
            __asm__ volatile("" ::"r"(y) : "memory");
        }
        t[b] = (now() - t0) / calls * 1e6;
    }
    qsort(t, 15, sizeof t[0], cmp);
    return t[7];
}

int main(void)
{
    const int rows[] = {8, 32, 64, 128, 256};
    float *w = aligned_alloc(64, (size_t)256 * K * sizeof(float)), x[K], y[256];
    if (!w) return 1;
    for (size_t i = 0; i < (size_t)256 * K; i++) w[i] = (float)(i % 13) * 0.01f;
    for (int i = 0; i < K; i++) x[i] = (float)i * 0.001f;
    printf("| W (784 columns) | KiB | rows8 us | rows8 GB/s | rows4x2 us | rows4x2 GB/s | read only us | read only GB/s |\n"
           "|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < 5; i++) {
        int n = rows[i];
        double kib = n * K * 4 / 1024.0, a = time_us(rows8, x, w, y, n), b = time_us(rows4x2, x, w, y, n);
        double c = time_us(read_only, x, w, y, n);
        printf("| %d x 784 | %.0f | %.2f | %.0f | %.2f | %.0f | %.2f | %.0f |\n", n, kib, a, n * K * 4 / a / 1e3, b,
               n * K * 4 / b / 1e3, c, n * K * 4 / c / 1e3);
    }
    free(w);
    return 0;
}
