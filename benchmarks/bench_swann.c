/*
 * bench_swann.c -- swann on the peer workloads of ../shared/bench (W1-W4, W1i, W4i),
 * through the installed C library, with the same definitions and the same
 * JSON layout as the peers' scripts, so make_table.py-style tools read it.
 *
 *   W1   784-512-256-10 (relu, relu, softmax + cross-entropy), batch 128, SGD lr 0.01,
 *        random data: training samples/s (forward + backward + step)
 *   W2   64-128-64-10 on the digits (pixels / 16), batch 32, 30 epochs, SGD lr 0.1 and
 *        Adam 1e-3: training wall time and test accuracy. With --split FILE the test
 *        rows are the indices in FILE (sklearn's train_test_split, random_state=0,
 *        written by benchmarks/run.sh), as the peers use.
 *   W3   784-128-10 one-row inference: microseconds per swann_forward call (median)
 *   W4   1024-4096-4096-1024, batch 256, one SGD step: samples/s and GFLOP/s
 *        (6 x params x batch FLOPs per step)
 *   W1i / W4i  forward-only throughput of the W1 / W4 models at batch 128 / 256
 *
 *   usage: bench_swann [--threads N] [--quick] [--only W1,W3] [--json FILE]
 *                      [--digits CSV] [--split FILE]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "swann.h"

#define CHECK(call) do { swann_status s_ = (call); if (s_ != SWANN_OK) { \
    fprintf(stderr, "%s: %s: %s\n", #call, swann_status_name(s_), swann_last_error()); exit(1); } } while (0)

static int threads = 1, quick = 0;
static const char *only = "W1,W2,W3,W4,W1i,W4i";
static const char *digits_path = "examples/data/digits.csv", *split_path = NULL;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static unsigned long long rng = 88172645463325252ULL;
static double uniform(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}

/* A spec for sizes[0..n-1]: relu hidden layers, softmax + cross-entropy. */
static void mlp_spec(char *out, size_t cap, const int *sizes, int n, const char *optimizer) {
    int at = snprintf(out, cap, "{\"input\": %d, \"layers\": [", sizes[0]);
    for (int k = 1; k < n; k++)
        at += snprintf(out + at, cap - (size_t)at, "%s{\"units\": %d, \"activation\": \"%s\"}", k > 1 ? ", " : "",
                       sizes[k], k == n - 1 ? "softmax" : "relu");
    snprintf(out + at, cap - (size_t)at, "], \"loss\": \"cross_entropy\", \"optimizer\": %s, \"seed\": 0, \"threads\": %d}",
             optimizer, threads);
}

static FILE *json;
static int first_result = 1;
static void result_begin(const char *name) {
    fprintf(json, "%s\n    \"%s\": {", first_result ? "" : ",", name);
    first_result = 0;
}

/* Training throughput: `steps` steps per repeat over a pool of 8 random batches. */
static void train_throughput(const char *name, const int *sizes, int n, int batch, int steps, int warmup, int repeats) {
    char spec[1024];
    mlp_spec(spec, sizeof spec, sizes, n, "{\"type\": \"sgd\", \"lr\": 0.01}");
    swann_net *net;
    CHECK(swann_create(spec, (size_t)batch, NULL, 0, &net));
    int in = sizes[0], out = sizes[n - 1], pool = 8;
    float *x = malloc(sizeof(float) * (size_t)(pool * batch * in));
    float *d = calloc((size_t)(pool * batch * out), sizeof(float));
    for (long i = 0; i < (long)pool * batch * in; i++) x[i] = (float)(uniform() * 2 - 1);
    for (int i = 0; i < pool * batch; i++) d[(long)i * out + (long)(uniform() * out)] = 1;
    double rates[64];
    int call = 0;
    for (int r = -1; r < repeats; r++) {
        int count = r < 0 ? warmup : steps;
        double t0 = now();
        for (int s = 0; s < count; s++, call++) {
            int i = call % pool;
            CHECK(swann_forward(net, x + (long)i * batch * in, (size_t)batch, NULL));
            CHECK(swann_backward(net, d + (long)i * batch * out, NULL, NULL));
            CHECK(swann_step(net));
        }
        if (r >= 0) rates[r] = steps * batch / (now() - t0);
    }
    double P = (double)swann_param_count(net);
    double m = median(rates, repeats);
    result_begin(name);
    fprintf(json, "\"samples_per_s_median\": %.1f, \"gflops_median\": %.2f, \"params\": %.0f, \"batch\": %d, "
            "\"steps_per_repeat\": %d, \"repeats\": %d}", m, m * 6 * P / 1e9, P, batch, steps, repeats);
    fprintf(stderr, "[swann t=%d] %s: %.0f samples/s, %.1f GFLOP/s\n", threads, name, m, m * 6 * P / 1e9);
    swann_destroy(net);
    free(x);
    free(d);
}

static void infer_throughput(const char *name, const int *sizes, int n, int batch, int iters, int repeats) {
    char spec[1024];
    mlp_spec(spec, sizeof spec, sizes, n, "{\"type\": \"sgd\", \"lr\": 0.01}");
    swann_net *net;
    CHECK(swann_create(spec, (size_t)batch, NULL, 0, &net));
    float *x = malloc(sizeof(float) * (size_t)(batch * sizes[0]));
    float *y = malloc(sizeof(float) * (size_t)(batch * sizes[n - 1]));
    for (long i = 0; i < (long)batch * sizes[0]; i++) x[i] = (float)(uniform() * 2 - 1);
    double rates[64];
    CHECK(swann_forward(net, x, (size_t)batch, y));
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        for (int i = 0; i < iters; i++) CHECK(swann_forward(net, x, (size_t)batch, y));
        rates[r] = iters * batch / (now() - t0);
    }
    double P = (double)swann_param_count(net), m = median(rates, repeats);
    result_begin(name);
    fprintf(json, "\"samples_per_s_median\": %.1f, \"gflops_median\": %.2f, \"params\": %.0f, \"batch\": %d, "
            "\"repeats\": %d}", m, m * 2 * P / 1e9, P, batch, repeats);
    fprintf(stderr, "[swann t=%d] %s: %.0f samples/s\n", threads, name, m);
    swann_destroy(net);
    free(x);
    free(y);
}

static void w3(void) {
    char spec[1024];
    const int sizes[] = {784, 128, 10};
    mlp_spec(spec, sizeof spec, sizes, 3, "{\"type\": \"sgd\", \"lr\": 0.01}");
    swann_net *net;
    CHECK(swann_create(spec, 1, NULL, 0, &net));
    float x[784], y[10];
    for (int i = 0; i < 784; i++) x[i] = (float)(uniform() * 2 - 1);
    int n = quick ? 2000 : 20000, warm = quick ? 500 : 2000;
    double *ts = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < warm; i++) CHECK(swann_forward(net, x, 1, y));
    for (int i = 0; i < n; i++) {
        double t0 = now();
        swann_forward(net, x, 1, y);
        ts[i] = (now() - t0) * 1e6;
    }
    qsort(ts, (size_t)n, sizeof *ts, cmp_double);
    double med = ts[n / 2], p10 = ts[n / 10], p90 = ts[n * 9 / 10], p99 = ts[n * 99 / 100];
    /* The same row through a session of a model of the net (the serving path:
     * its weights stored transposed, so one row streams them; swann_forward
     * transposes the net's on the fly to keep its sums in the batch's order). */
    swann_model *model;
    swann_session *s;
    CHECK(swann_model_from_net(net, &model));
    CHECK(swann_session_create(model, 1, NULL, 0, &s));
    for (int i = 0; i < warm; i++) CHECK(swann_session_run(s, x, 1, y));
    for (int i = 0; i < n; i++) {
        double t0 = now();
        swann_session_run(s, x, 1, y);
        ts[i] = (now() - t0) * 1e6;
    }
    qsort(ts, (size_t)n, sizeof *ts, cmp_double);
    result_begin("W3");
    fprintf(json, "\"us_median\": %.3f, \"us_p10\": %.3f, \"us_p90\": %.3f, \"us_p99\": %.3f, \"calls\": %d, "
            "\"path\": \"C: swann_forward(net, x, 1, y)\", \"session_us_median\": %.3f, \"session_us_p99\": %.3f}",
            med, p10, p90, p99, n, ts[n / 2], ts[n * 99 / 100]);
    fprintf(stderr, "[swann t=%d] W3: %.2f us median (session: %.2f us)\n", threads, med, ts[n / 2]);
    free(ts);
    swann_session_destroy(s);
    swann_model_destroy(model);
    swann_destroy(net);
}

/* ---- W2: digits ---- */
static float dx[1797][64], dd[1797][10];
static int dlabel[1797], dn;

static void load_digits(void) {
    FILE *f = fopen(digits_path, "r");
    if (!f) { perror(digits_path); exit(1); }
    int v[65];
    while (dn < 1797) {
        for (int j = 0; j < 65; j++)
            if (fscanf(f, j ? ",%d" : "%d", &v[j]) != 1) goto done;
        for (int j = 0; j < 64; j++) dx[dn][j] = v[j] / 16.0f;
        dlabel[dn] = v[64];
        dd[dn][v[64]] = 1;
        dn++;
    }
done:
    fclose(f);
}

static void w2(void) {
    load_digits();
    static int is_test[1797], train[1797], test[1797];
    int ntr = 0, nte = 0;
    if (split_path) {
        FILE *f = fopen(split_path, "r");
        if (!f) { perror(split_path); exit(1); }
        int i;
        while (fscanf(f, "%d", &i) == 1) if (i >= 0 && i < dn) is_test[i] = 1;
        fclose(f);
    } else {
        for (int i = 0; i < dn; i++) is_test[i] = (i % 5) == 0;
    }
    for (int i = 0; i < dn; i++) { if (is_test[i]) test[nte++] = i; else train[ntr++] = i; }
    const char *names[2] = {"sgd_lr0.1", "adam_lr1e-3"};
    const char *opts[2] = {"{\"type\": \"sgd\", \"lr\": 0.1}", "{\"type\": \"adam\", \"lr\": 0.001}"};
    const int sizes[] = {64, 128, 64, 10};
    result_begin("W2");
    fprintf(json, "\"n_train\": %d, \"n_test\": %d, \"epochs\": 30, \"batch\": 32", ntr, nte);
    static float xb[32][64], db[32][10], yb[10];
    for (int o = 0; o < 2; o++) {
        double ts[3], accs[3];
        int reps = quick ? 1 : 3;
        for (int rep = 0; rep < reps; rep++) {
            char spec[1024];
            mlp_spec(spec, sizeof spec, sizes, 4, opts[o]);
            spec[strlen(spec) - 1] = '\0';  /* a seed per repeat, as the peers do */
            char *seed = strstr(spec, "\"seed\": 0");
            if (seed) seed[8] = (char)('0' + rep);
            strcat(spec, "}");
            swann_net *net;
            CHECK(swann_create(spec, 32, NULL, 0, &net));
            static int perm[1797];
            for (int i = 0; i < ntr; i++) perm[i] = train[i];
            double t0 = now();
            for (int e = 0; e < 30; e++) {
                for (int i = ntr - 1; i > 0; i--) { int j = (int)(uniform() * (i + 1)), t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
                for (int s = 0; s < ntr; s += 32) {
                    int b = ntr - s < 32 ? ntr - s : 32;
                    for (int r = 0; r < b; r++) {
                        memcpy(xb[r], dx[perm[s + r]], sizeof xb[0]);
                        memcpy(db[r], dd[perm[s + r]], sizeof db[0]);
                    }
                    CHECK(swann_forward(net, &xb[0][0], (size_t)b, NULL));
                    CHECK(swann_backward(net, &db[0][0], NULL, NULL));
                    CHECK(swann_step(net));
                }
            }
            ts[rep] = now() - t0;
            int right = 0;
            for (int i = 0; i < nte; i++) {
                CHECK(swann_forward(net, dx[test[i]], 1, yb));
                int best = 0;
                for (int c = 1; c < 10; c++) if (yb[c] > yb[best]) best = c;
                right += best == dlabel[test[i]];
            }
            accs[rep] = (double)right / nte;
            swann_destroy(net);
        }
        double t = median(ts, reps), a = median(accs, reps);
        fprintf(json, ", \"%s\": {\"train_s_median\": %.4f, \"test_acc_median\": %.4f}", names[o], t, a);
        fprintf(stderr, "[swann t=%d] W2 %s: %.3f s, test acc %.4f\n", threads, names[o], t, a);
    }
    fprintf(json, "}");
}

static int wanted(const char *w) {
    const char *p = only;
    size_t n = strlen(w);
    while ((p = strstr(p, w)) != NULL) {
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
        p += n;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *json_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!strcmp(argv[i], "--digits") && i + 1 < argc) digits_path = argv[++i];
        else if (!strcmp(argv[i], "--split") && i + 1 < argc) split_path = argv[++i];
        else { fprintf(stderr, "usage: %s [--threads N] [--quick] [--only W1,..] [--json FILE] [--digits CSV] [--split FILE]\n", argv[0]); return 2; }
    }
    json = json_path ? fopen(json_path, "w") : stdout;
    if (!json) { perror(json_path); return 1; }
    /* The CPU level swann chose for this process's nets (SWANN_ISA narrows it). */
    const char *isa = "?";
    swann_net *probe = NULL;
    if (swann_create("{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"identity\"}], "
                     "\"loss\": \"mse\"}", 1, NULL, 0, &probe) == SWANN_OK) isa = swann_isa(probe);
    swann_destroy(probe);  /* the name is a static string */
    fprintf(stderr, "# swann kernels: %s\n", isa);
    fprintf(json, "{\"peer\": \"swann\", \"version\": \"%s\", \"isa\": \"%s\", \"threads\": %d, \"results\": {",
            swann_version(), isa, threads);
    const int w1s[] = {784, 512, 256, 10}, w4s[] = {1024, 4096, 4096, 1024};
    if (wanted("W1")) train_throughput("W1", w1s, 4, 128, quick ? 10 : 50, quick ? 10 : 30, quick ? 3 : 7);
    if (wanted("W2")) w2();
    if (wanted("W3")) w3();
    if (wanted("W4")) train_throughput("W4", w4s, 4, 256, quick ? 1 : 2, quick ? 1 : 2, quick ? 2 : 5);
    if (wanted("W1i")) infer_throughput("W1i", w1s, 4, 128, quick ? 20 : 100, quick ? 3 : 7);
    if (wanted("W4i")) infer_throughput("W4i", w4s, 4, 256, quick ? 1 : 3, quick ? 3 : 5);
    fprintf(json, "\n}}\n");
    if (json != stdout) fclose(json);
    return 0;
}
