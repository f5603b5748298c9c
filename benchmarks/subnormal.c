/*
 * subnormal.c -- does late training keep its per-step time? The digits demo's
 * training (examples/c/train_digits.c: 64-128-64-10 relu/relu/softmax, SGD lr 0.1
 * momentum 0.9, he init seed 42, batch 32, the same 80/20 split and per-epoch
 * shuffles, 30 epochs) run twice in one process, by a net with flushing on (the
 * default) and one with swann_set_flush_subnormals(net, 0), epoch by epoch in
 * turn (on, off, then off, on, ...) so that the machine's drift hits both alike.
 * Late in training gradients and momentum buffers decay into float's subnormal
 * range, where x86 takes a slow path: the ratio of the time of epochs 16-30 to
 * that of epochs 1-15 (same number of steps) shows it. Goal (issue #15): at most
 * 1.2 with flushing on. Also prints the held-out accuracy of each net and how
 * many of the flushing-off net's parameters and momentum values are subnormal.
 *
 *   cc -O2 -I include benchmarks/subnormal.c -o build/subnormal build/libswann.so -lm -Wl,-rpath,$PWD/build
 *   build/subnormal [examples/data/digits.csv] [RUNS]
 *
 * Each run trains both nets from scratch; the ratios of every run and their
 * median are printed. Pin it to one core (taskset -c 1) for steadier numbers.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "swann.h"

#define N_PIXELS 64
#define N_CLASSES 10
#define MAX_ROWS 2000
#define BATCH 32
#define EPOCHS 30

static float X[MAX_ROWS * N_PIXELS], T[MAX_ROWS * N_CLASSES];
static int LABEL[MAX_ROWS];
static size_t N;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* splitmix64 and Fisher-Yates, as train_digits.c: the same split and shuffles */
static uint64_t rng_state;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static size_t rng_below(size_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, r;
    do r = rng_next(); while (r >= limit);
    return (size_t)(r % n);
}
static void shuffle(size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(i), t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

static int load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return -1; }
    int v[N_PIXELS + 1];
    while (N < MAX_ROWS) {
        int got = 0;
        for (int i = 0; i <= N_PIXELS; i++) got += fscanf(f, i ? ",%d" : "%d", &v[i]) == 1;
        if (got != N_PIXELS + 1) break;
        for (int i = 0; i < N_PIXELS; i++) X[N * N_PIXELS + i] = (float)v[i] / 16.0f;
        for (int c = 0; c < N_CLASSES; c++) T[N * N_CLASSES + c] = c == v[N_PIXELS] ? 1.0f : 0.0f;
        LABEL[N++] = v[N_PIXELS];
    }
    fclose(f);
    return N > 100 ? 0 : -1;
}

struct run {
    swann_net *net;
    size_t *order;          /* its own copy of the split, shuffled each epoch */
    uint64_t rng;           /* its own shuffle stream, as train_digits.c's */
    double epoch_s[EPOCHS];
};

static float xb[BATCH * N_PIXELS], tb[BATCH * N_CLASSES];

static int epoch(struct run *r, size_t n_train, int e)
{
    rng_state = r->rng;
    shuffle(r->order, n_train);
    r->rng = rng_state;
    double t0 = now();
    for (size_t s = 0; s < n_train; s += BATCH) {
        size_t b = n_train - s < BATCH ? n_train - s : BATCH;
        for (size_t i = 0; i < b; i++) {
            memcpy(xb + i * N_PIXELS, X + r->order[s + i] * N_PIXELS, sizeof(float) * N_PIXELS);
            memcpy(tb + i * N_CLASSES, T + r->order[s + i] * N_CLASSES, sizeof(float) * N_CLASSES);
        }
        if (swann_forward(r->net, xb, b, NULL) || swann_backward(r->net, tb, NULL, NULL) || swann_step(r->net)) {
            fprintf(stderr, "training failed: %s\n", swann_last_error());
            return -1;
        }
    }
    r->epoch_s[e] = now() - t0;
    return 0;
}

static double accuracy(swann_net *net, const size_t *idx, size_t n)
{
    float x[128 * N_PIXELS], y[128 * N_CLASSES];
    size_t correct = 0;
    for (size_t s = 0; s < n; s += 128) {
        size_t b = n - s < 128 ? n - s : 128;
        for (size_t i = 0; i < b; i++) memcpy(x + i * N_PIXELS, X + idx[s + i] * N_PIXELS, sizeof(float) * N_PIXELS);
        if (swann_forward(net, x, b, y)) return -1;
        for (size_t i = 0; i < b; i++) {
            int best = 0;
            for (int c = 1; c < N_CLASSES; c++) if (y[i * N_CLASSES + c] > y[i * N_CLASSES + best]) best = c;
            correct += best == LABEL[idx[s + i]];
        }
    }
    return (double)correct / (double)n;
}

static double sum(const double *v, int lo, int hi)
{
    double s = 0;
    for (int i = lo; i < hi; i++) s += v[i];
    return s;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Subnormal parameters at the end (the momentum buffers are not in view). */
static size_t subnormal_params(swann_net *net)
{
    float *p;
    size_t n, c = 0;
    if (swann_params(net, &p, &n)) return 0;
    for (size_t i = 0; i < n; i++) c += p[i] != 0 && fpclassify(p[i]) == FP_SUBNORMAL;
    return c;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "examples/data/digits.csv";
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    if (runs < 1 || runs > 99 || load(path) != 0) {
        fprintf(stderr, "usage: %s [digits.csv] [RUNS 1..99]\n", argv[0]);
        return 2;
    }
    size_t n_test = (size_t)((double)N * 0.2 + 0.5), n_train = N - n_test;
    size_t *split = malloc(N * sizeof *split);
    if (!split) return 1;
    for (size_t i = 0; i < N; i++) split[i] = i;
    rng_state = 2024u;
    shuffle(split, N);
    uint64_t after_split = rng_state;
    const char *spec = "{\"input\": 64, \"layers\": [{\"units\": 128, \"activation\": \"relu\"},"
                       " {\"units\": 64, \"activation\": \"relu\"}, {\"units\": 10, \"activation\": \"softmax\"}],"
                       " \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9},"
                       " \"init\": \"he\", \"seed\": 42}";
    printf("swann %s, digits 64-128-64-10, %zu train / %zu held out, batch %d, %d epochs, %d runs\n",
           swann_version(), n_train, n_test, BATCH, EPOCHS, runs);
    printf("%4s  %-8s  %11s  %11s  %10s  %8s  %s\n", "run", "flush", "ep 1-15 s", "ep 16-30 s", "late/early",
           "test_acc", "subnormal params");
    double ratio[2][99];
    for (int k = 0; k < runs; k++) {
        struct run r[2];
        for (int m = 0; m < 2; m++) {
            memset(&r[m], 0, sizeof r[m]);
            r[m].order = malloc(n_train * sizeof(size_t));
            if (!r[m].order || swann_create(spec, 128, NULL, 0, &r[m].net)) {
                fprintf(stderr, "create: %s\n", swann_last_error());
                return 1;
            }
            memcpy(r[m].order, split, n_train * sizeof(size_t));
            r[m].rng = after_split;
            swann_set_flush_subnormals(r[m].net, m == 0); /* r[0] on, r[1] off */
        }
        for (int e = 0; e < EPOCHS; e++)
            for (int i = 0; i < 2; i++)
                if (epoch(&r[(e + i) % 2], n_train, e)) return 1; /* alternate who goes first */
        for (int m = 0; m < 2; m++) {
            double early = sum(r[m].epoch_s, 0, 15), late = sum(r[m].epoch_s, 15, 30);
            ratio[m][k] = late / early;
            printf("%4d  %-8s  %11.3f  %11.3f  %10.2f  %8.4f  %zu\n", k + 1, m == 0 ? "on" : "off", early, late,
                   ratio[m][k], accuracy(r[m].net, split + n_train, n_test), subnormal_params(r[m].net));
            swann_destroy(r[m].net);
            free(r[m].order);
        }
        fflush(stdout);
    }
    qsort(ratio[0], (size_t)runs, sizeof(double), cmp);
    qsort(ratio[1], (size_t)runs, sizeof(double), cmp);
    printf("median late/early: flushing on %.2f, off %.2f (goal: on <= 1.20)\n", ratio[0][runs / 2],
           ratio[1][runs / 2]);
    free(split);
    return 0;
}
