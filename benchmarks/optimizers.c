/*
 * optimizers.c -- how each optimizer trains, on two tasks:
 *
 *   XOR     2-8-1 (tanh, sigmoid, binary cross-entropy), full batch of 4;
 *           steps until all four outputs are on the right side of 0.5 with a
 *           margin (|y - d| < 0.2), median over 5 seeds (cap 20000 steps).
 *   digits  64-128-64-10 (relu, softmax, cross-entropy) on examples/data/digits.csv,
 *           batch 32 (rprop: full batch), 30 epochs; held-out accuracy and the
 *           first epoch reaching 97 %.
 *
 *   usage: optimizers [digits.csv]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swann.h"

#define CHECK(call) do { swann_status s_ = (call); if (s_ != SWANN_OK) { \
    fprintf(stderr, "%s: %s: %s\n", #call, swann_status_name(s_), swann_last_error()); exit(1); } } while (0)

static const char *optimizers[][2] = {
    {"sgd", "{\"type\": \"sgd\", \"lr\": %s}"},
    {"sgd+momentum", "{\"type\": \"sgd\", \"lr\": %s, \"momentum\": 0.9}"},
    {"sgd+nesterov", "{\"type\": \"sgd\", \"lr\": %s, \"momentum\": 0.9, \"nesterov\": true}"},
    {"adam", "{\"type\": \"adam\", \"lr\": %s}"},
    {"adamw", "{\"type\": \"adamw\", \"lr\": %s}"},
    {"rmsprop", "{\"type\": \"rmsprop\", \"lr\": %s}"},
    {"rprop", "{\"type\": \"rprop\", \"lr\": %s}"},
};
/* learning rates: XOR, digits */
static const char *rates[][2] = {
    {"0.5", "0.1"}, {"0.5", "0.1"}, {"0.5", "0.1"}, {"0.05", "0.001"}, {"0.05", "0.001"},
    {"0.01", "0.001"}, {"0.01", "0.01"},
};
#define N_OPT (sizeof optimizers / sizeof optimizers[0])

static int xor_steps(const char *opt, int seed) {
    char spec[1024];
    snprintf(spec, sizeof spec, "{\"input\": 2, \"layers\": [{\"units\": 8, \"activation\": \"tanh\"},"
             " {\"units\": 1, \"activation\": \"sigmoid\"}], \"loss\": \"binary_cross_entropy\","
             " \"optimizer\": %s, \"seed\": %d}", opt, seed);
    swann_net *net;
    CHECK(swann_create(spec, 4, NULL, 0, &net));
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, d[4] = {0, 1, 1, 0}, y[4];
    int steps = -1;
    for (int i = 0; i <= 20000; i++) {
        CHECK(swann_forward(net, x, 4, y));
        int good = 1;
        for (int r = 0; r < 4; r++) good &= (y[r] - d[r] < 0.2f && d[r] - y[r] < 0.2f);
        if (good) { steps = i; break; }
        CHECK(swann_backward(net, d, NULL, NULL));
        CHECK(swann_step(net));
    }
    swann_destroy(net);
    return steps;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    if (x < 0) x = 1 << 30;
    if (y < 0) y = 1 << 30;
    return (x > y) - (x < y);
}

static float digits_x[1797][64], digits_d[1797][10];
static int digits_n;

static void load_digits(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(1); }
    int v[65];
    while (digits_n < 1797) {
        for (int j = 0; j < 65; j++)
            if (fscanf(f, j ? ",%d" : "%d", &v[j]) != 1) goto done;
        for (int j = 0; j < 64; j++) digits_x[digits_n][j] = v[j] / 16.0f;
        memset(digits_d[digits_n], 0, sizeof digits_d[0]);
        digits_d[digits_n][v[64]] = 1;
        digits_n++;
    }
done:
    fclose(f);
}

static unsigned long long rng = 2024;
static unsigned next_rand(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (unsigned)(rng >> 11); }

static void digits(const char *opt, int full_batch, double *acc_out, int *epoch97) {
    enum { MAXB = 1438 };
    char spec[1024];
    snprintf(spec, sizeof spec, "{\"input\": 64, \"layers\": [{\"units\": 128, \"activation\": \"relu\"},"
             " {\"units\": 64, \"activation\": \"relu\"}, {\"units\": 10, \"activation\": \"softmax\"}],"
             " \"loss\": \"cross_entropy\", \"optimizer\": %s, \"seed\": 42}", opt);
    swann_net *net;
    CHECK(swann_create(spec, MAXB, NULL, 0, &net));
    static int order[1797];
    for (int i = 0; i < digits_n; i++) order[i] = i;
    rng = 2024;
    for (int i = digits_n - 1; i > 0; i--) { int j = next_rand() % (i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }
    int n_test = (digits_n + 2) / 5, n_train = digits_n - n_test;
    static float xb[MAXB][64], db[MAXB][10], yb[1797][10];
    int batch = full_batch ? n_train : 32;
    *epoch97 = -1;
    for (int e = 1; e <= 30; e++) {
        for (int i = n_train - 1; i > 0; i--) { int j = next_rand() % (i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }
        for (int at = 0; at < n_train; at += batch) {
            int b = n_train - at < batch ? n_train - at : batch;
            for (int r = 0; r < b; r++) {
                memcpy(xb[r], digits_x[order[at + r]], sizeof xb[0]);
                memcpy(db[r], digits_d[order[at + r]], sizeof db[0]);
            }
            CHECK(swann_forward(net, &xb[0][0], (size_t)b, NULL));
            CHECK(swann_backward(net, &db[0][0], NULL, NULL));
            CHECK(swann_step(net));
        }
        int right = 0;
        for (int r = 0; r < n_test; r++) {
            CHECK(swann_forward(net, digits_x[order[n_train + r]], 1, yb[r]));
            int best = 0;
            for (int c = 1; c < 10; c++) if (yb[r][c] > yb[r][best]) best = c;
            right += digits_d[order[n_train + r]][best] == 1;
        }
        *acc_out = (double)right / n_test;
        if (*epoch97 < 0 && *acc_out >= 0.97) *epoch97 = e;
    }
    swann_destroy(net);
}

int main(int argc, char **argv) {
    load_digits(argc > 1 ? argv[1] : "examples/data/digits.csv");
    printf("%-14s %8s %22s %8s %12s %10s\n", "optimizer", "XOR lr", "XOR steps (median/5)", "dig. lr", "digits acc", "epoch>=97%");
    for (size_t k = 0; k < N_OPT; k++) {
        char opt[256];
        snprintf(opt, sizeof opt, optimizers[k][1], rates[k][0]);
        int s[5];
        for (int seed = 0; seed < 5; seed++) s[seed] = xor_steps(opt, seed);
        qsort(s, 5, sizeof s[0], cmp_int);
        snprintf(opt, sizeof opt, optimizers[k][1], rates[k][1]);
        double acc;
        int e97;
        digits(opt, strcmp(optimizers[k][0], "rprop") == 0, &acc, &e97);
        char xs[32], es[16];
        if (s[2] < 0) snprintf(xs, sizeof xs, "> 20000"); else snprintf(xs, sizeof xs, "%d", s[2]);
        if (e97 < 0) snprintf(es, sizeof es, "-"); else snprintf(es, sizeof es, "%d", e97);
        printf("%-14s %8s %22s %8s %12.4f %10s\n", optimizers[k][0], rates[k][0], xs, rates[k][1], acc, es);
    }
    return 0;
}
