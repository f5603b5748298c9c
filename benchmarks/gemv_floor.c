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
 * The compact weights of issue #17 get the same floor: the matrix as binary16 (half the
 * bytes; eight rows at a time, vcvtph2ps + FMA) and as int8 with an int8 x (a quarter;
 * four rows at a time, vpmovsxbw + vpmaddwd into exact int32 sums), each beside a loop
 * that only reads its own bytes; and the binary16 conversion's own floor (weights in
 * L1, 8 and, where the CPU has AVX-512, 16 lanes).
 *
 *   cc -O3 -march=haswell benchmarks/gemv_floor.c -o build/gemv_floor && build/gemv_floor
 * (-O3: at -O2 gcc keeps the accumulator arrays in memory and measures itself, not the cache)
 */
#include <immintrin.h>
#include <stdint.h>
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

/* Only the loads of `bytes` bytes (a multiple of 128), four independent sums. */
__attribute__((noinline)) static void read_bytes(const void *p, size_t bytes, float *y)
{
    const float *w = p;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 32 <= bytes / 4; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(w + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(w + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(w + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(w + i + 24));
    }
    y[0] = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

/* binary16 weights, eight rows at a time: one x load feeds eight converted weight vectors. */
__attribute__((noinline)) static void f16_rows8(const float *x, const uint16_t *w, float *y, int n)
{
    for (int j = 0; j < n; j += 8) {
        const uint16_t *w0 = w + (size_t)j * K;
        __m256 s[8];
        for (int r = 0; r < 8; r++) s[r] = _mm256_setzero_ps();
        for (int p = 0; p + 8 <= K; p += 8) {
            __m256 xv = _mm256_loadu_ps(x + p);
            for (int r = 0; r < 8; r++)
                s[r] = _mm256_fmadd_ps(xv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w0 + r * K + p))), s[r]);
        }
        for (int r = 0; r < 8; r++) y[j + r] = hsum(s[r]);
    }
}

/* The conversion's own floor: binary16 weights already in L1 (2 KiB, read over and over),
 * each vector widened and fed to an FMA, eight chains, in the widest form the CPU has.
 * Whatever the summation order or the cache, a binary16 product cannot beat this per
 * weight: on an Intel Xeon (two 512-bit FMA units) vcvtph2ps shares the FMA's ports, and
 * the f32 product there is fast enough that the f16 one cannot be 0.6x its time. */
#define L1W 1024
__attribute__((noinline)) static float f16_convert_ymm(const uint16_t *w, long turns)
{
    __m256 a[8], x = _mm256_set1_ps(1.0f);
    for (int r = 0; r < 8; r++) a[r] = _mm256_setzero_ps();
    for (long t = 0; t < turns; t++) {
        __asm__ volatile("" : "+r"(w)); /* new weights each turn: no conversion hoisted out of the loop */
        for (int p = 0; p < L1W; p += 64)
            for (int r = 0; r < 8; r++)
                a[r] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + p + 8 * r))), x, a[r]);
    }
    __m256 s = a[0];
    for (int r = 1; r < 8; r++) s = _mm256_add_ps(s, a[r]);
    return hsum(s);
}

__attribute__((noinline, target("avx512f"))) static float f16_convert_zmm(const uint16_t *w, long turns)
{
    __m512 a[8], x = _mm512_set1_ps(1.0f);
    for (int r = 0; r < 8; r++) a[r] = _mm512_setzero_ps();
    for (long t = 0; t < turns; t++) {
        __asm__ volatile("" : "+r"(w));
        for (int p = 0; p < L1W; p += 128)
            for (int r = 0; r < 8; r++)
                a[r] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + p + 16 * r))), x, a[r]);
    }
    __m512 s = a[0];
    for (int r = 1; r < 8; r++) s = _mm512_add_ps(s, a[r]);
    return _mm512_reduce_add_ps(s);
}

/* Nanoseconds per binary16 weight converted and multiplied (best of 9). */
static double convert_ns(int wide, const uint16_t *w)
{
    const long turns = 20000;
    double best = 1e9;
    volatile float sink = 0;
    for (int i = 0; i < 9; i++) {
        double t0 = now();
        sink += wide ? f16_convert_zmm(w, turns) : f16_convert_ymm(w, turns);
        double t = (now() - t0) / ((double)turns * L1W) * 1e9;
        if (t < best) best = t;
    }
    (void)sink;
    return best;
}

/* int8 weights and an int8 x, four rows at a time: sign-extended to 16 bits, products
 * summed in pairs into int32 (exact: |pair| <= 2 * 127 * 127). */
__attribute__((noinline)) static void i8_rows4(const int8_t *x, const int8_t *w, int32_t *y, int n)
{
    for (int j = 0; j < n; j += 4) {
        const int8_t *w0 = w + (size_t)j * K;
        __m256i s[4];
        for (int r = 0; r < 4; r++) s[r] = _mm256_setzero_si256();
        for (int p = 0; p + 16 <= K; p += 16) {
            __m256i xv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + p)));
            for (int r = 0; r < 4; r++) {
                __m256i wv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w0 + r * K + p)));
                s[r] = _mm256_add_epi32(s[r], _mm256_madd_epi16(xv, wv));
            }
        }
        for (int r = 0; r < 4; r++) {
            __m128i a = _mm_add_epi32(_mm256_castsi256_si128(s[r]), _mm256_extracti128_si256(s[r], 1));
            a = _mm_hadd_epi32(a, a);
            a = _mm_hadd_epi32(a, a);
            y[j + r] = _mm_cvtsi128_si32(a);
        }
    }
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
    /* the compact weights: each product beside the loop that only reads its own bytes */
    uint16_t *h = aligned_alloc(64, (size_t)256 * K * 2);
    int8_t *q = aligned_alloc(64, (size_t)256 * K), qx[K];
    int32_t yi[256];
    if (!h || !q) return 1;
    for (size_t i = 0; i < (size_t)256 * K; i++) {
        h[i] = (uint16_t)_cvtss_sh(w[i], 0);
        q[i] = (int8_t)(i % 255 - 127);
    }
    for (int i = 0; i < K; i++) qx[i] = (int8_t)(i % 255 - 127);
    printf("\n| W (784 columns) | f16 KiB | f16 rows8 us | f16 read only us | int8 KiB | int8 rows4 us | int8 read only us |\n"
           "|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < 5; i++) {
        int n = rows[i];
        double t[15], a, b, c, d;
        int calls = 20000;
#define TIME(out, call)                                                   \
        do {                                                              \
            for (int k = 0; k < 2000; k++) call;                          \
            for (int b_ = 0; b_ < 15; b_++) {                             \
                double t0 = now();                                        \
                for (int k = 0; k < calls; k++) {                         \
                    call;                                                 \
                    __asm__ volatile("" ::"r"(y), "r"(yi) : "memory");    \
                }                                                         \
                t[b_] = (now() - t0) / calls * 1e6;                       \
            }                                                             \
            qsort(t, 15, sizeof t[0], cmp);                               \
            out = t[7];                                                   \
        } while (0)
        TIME(a, f16_rows8(x, h, y, n));
        TIME(b, read_bytes(h, (size_t)n * K * 2, y));
        TIME(c, i8_rows4(qx, q, yi, n));
        TIME(d, read_bytes(q, (size_t)n * K, y));
        printf("| %d x 784 | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f |\n", n, n * K * 2 / 1024.0, a, b, n * K / 1024.0,
               c, d);
    }
    /* The binary16 conversion floor, weights in L1; 128 x 784 is W3's first layer. */
    double ny = convert_ns(0, h), nz = __builtin_cpu_supports("avx512f") ? convert_ns(1, h) : 0;
    printf("\nf16 conversion floor (weights in L1, vcvtph2ps + FMA, eight chains): 8 lanes %.3f ns per weight "
           "(128 x 784: %.2f us)", ny, ny * 128 * K / 1e3);
    if (nz > 0) printf("; 16 lanes (AVX-512) %.3f ns per weight (128 x 784: %.2f us)", nz, nz * 128 * K / 1e3);
    printf("\n");
    free(h);
    free(q);
    free(w);
    return 0;
}
