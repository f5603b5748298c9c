/*
 * ab_libs.c -- A/B of two libswann builds in one process, call by call.
 *
 * On these shared VMs the machine's speed drifts by 5-15 % within minutes, so two
 * builds timed one after the other differ by more than most changes do. This tool
 * loads both builds (dlopen, RTLD_LOCAL), creates the same net in each, and
 * alternates them iteration by iteration (A B, then B A, ...), timing forward,
 * backward and step of every training iteration; it prints the median of each phase
 * for A and B and their ratio. Drift then hits both alike. Used for the A/B numbers
 * in docs/performance.md.
 *
 *   cc -O2 benchmarks/ab_libs.c -o build/ab_libs -ldl
 *   build/ab_libs old/libswann.so.0 build/libswann.so.0 w1|w4|w3 THREADS ITERATIONS
 *   INFER=1 build/ab_libs ...     forward only (w1, w4)
 *   DTYPE=int8 build/ab_libs ...  forward only, through a session of the net's model
 *                                 (f32, f16 or int8: swann_model_from_net, swann_model_quantize);
 *                                 sessions run on the calling thread, so THREADS is 1
 *   POOL=1 build/ab_libs ...      one input batch, reused (hot in cache, as a server
 *                                 re-running one buffer); default 8 batches in turn
 *
 * w1: 784-512-256-10, batch 128; w4: 1024-4096-4096-1024, batch 256 (both plain SGD,
 * lr 0.01, the peers' W1 and W4); w3: 784-128-10, one row, forward only (time per
 * call, 200 calls per sample). Two nets live at once, so caches are shared between
 * them: compare ratios, not absolute times, with make bench's numbers.
 *
 * At two or more threads each build has its own workers, which poll for a while after
 * their last job (cs_pool's spin) and so take a core from the other build's next call:
 * on a 2-core Intel Xeon the same pair measured 1.14x in one order and 0.99x in the
 * other. There, run both orders (A B and B A) and trust only what agrees; sleeping
 * between calls instead made every call pay a cold wake-up (slower than one thread).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "swann_dl.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s LIB_A LIB_B w1|w4|w3 THREADS ITERATIONS\n", argv[0]);
        return 2;
    }
    const char *wl = argv[3];
    int threads = atoi(argv[4]), n = atoi(argv[5]);
    const char *dtype = getenv("DTYPE");
    int w4 = !strcmp(wl, "w4"), w3 = !strcmp(wl, "w3"), infer = w3 || dtype || getenv("INFER") != NULL;
    if ((!w4 && !w3 && strcmp(wl, "w1")) || threads < 1 || n < 1) {
        fprintf(stderr, "workload w1, w4 or w3; threads and iterations >= 1\n");
        return 2;
    }
    char spec[512];
    const char *layers = w4   ? "\"input\": 1024, \"layers\": [{\"units\": 4096, \"activation\": \"relu\"}, "
                                "{\"units\": 4096, \"activation\": \"relu\"}, {\"units\": 1024, \"activation\": \"softmax\"}]"
                         : w3 ? "\"input\": 784, \"layers\": [{\"units\": 128, \"activation\": \"relu\"}, "
                                "{\"units\": 10, \"activation\": \"softmax\"}]"
                              : "\"input\": 784, \"layers\": [{\"units\": 512, \"activation\": \"relu\"}, "
                                "{\"units\": 256, \"activation\": \"relu\"}, {\"units\": 10, \"activation\": \"softmax\"}]";
    snprintf(spec, sizeof spec,
             "{%s, \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.01}, \"seed\": 0, "
             "\"threads\": %d}", layers, threads);
    int batch = w4 ? 256 : w3 ? 1 : 128, in = w4 ? 1024 : 784, out = w4 ? 1024 : 10;
    int pool = getenv("POOL") && atoi(getenv("POOL")) > 0 ? atoi(getenv("POOL")) : 8;

    struct lib l[2];
    for (int i = 0; i < 2; i++) {
        if (!open_lib(&l[i], argv[1 + i])) return 1;
        if (l[i].create(spec, (size_t)batch, NULL, 0, &l[i].net) != 0) {
            fprintf(stderr, "create: %s\n", l[i].error());
            return 1;
        }
    }
    void *session[2] = {NULL, NULL};
    for (int i = 0; dtype && i < 2; i++) {
        void *model = NULL, *compact = NULL;
        if (!l[i].session_create || l[i].model_from_net(l[i].net, &model) != 0 ||
            (strcmp(dtype, "f32") && l[i].model_quantize(model, dtype, &compact) != 0) ||
            l[i].session_create(compact ? compact : model, (size_t)batch, NULL, 0, &session[i]) != 0) {
            fprintf(stderr, "%s: no %s session: %s\n", l[i].path, dtype, l[i].error());
            return 1;
        }
    }
    float *x = malloc(sizeof(float) * (size_t)pool * batch * in);
    float *d = calloc((size_t)pool * batch * out, sizeof(float));
    float *y = malloc(sizeof(float) * (size_t)batch * out);
    double *t[2][4];
    if (!x || !d || !y) return 1;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            if (!(t[i][j] = malloc(sizeof(double) * (size_t)n))) return 1;
    srand(1);
    for (long i = 0; i < (long)pool * batch * in; i++) x[i] = (float)rand() / RAND_MAX * 2 - 1;
    for (int i = 0; i < pool * batch; i++) d[(long)i * out + rand() % out] = 1;

    const int calls = w3 ? 200 : 1;
    for (int it = -3; it < n; it++) {
        const float *xb = x + (long)((it + 8) % pool) * batch * in, *db = d + (long)((it + 8) % pool) * batch * out;
        for (int v = 0; v < 2; v++) {
            int which = it & 1 ? v : 1 - v; /* A B, B A, ... */
            struct lib *L = &l[which];
            double t0 = now();
            for (int c = 0; c < calls; c++)
                if ((session[which] ? L->session_run(session[which], xb, (size_t)batch, y)
                                    : L->forward(L->net, xb, (size_t)batch, w3 ? y : NULL)) != 0) {
                    fprintf(stderr, "forward: %s\n", L->error());
                    return 1;
                }
            double t1 = now();
            if (!infer && L->backward(L->net, db, NULL, NULL) != 0) {
                fprintf(stderr, "backward: %s\n", L->error());
                return 1;
            }
            double t2 = now();
            if (!infer && L->step(L->net) != 0) {
                fprintf(stderr, "step: %s\n", L->error());
                return 1;
            }
            double t3 = now();
            if (it >= 0) {
                t[which][0][it] = (t1 - t0) / calls;
                t[which][1][it] = t2 - t1;
                t[which][2][it] = t3 - t2;
                t[which][3][it] = (t3 - t0) / calls;
            }
        }
    }
    const char *names[4] = {"forward", "backward", "step", "total"};
    printf("%s, threads %d, %d iterations%s%s%s; medians, ms per %s\n", wl, threads, n, infer ? ", forward only" : "",
           dtype ? ", session of the model as " : "", dtype ? dtype : "",
           w3 ? "call" : "iteration");
    for (int j = 0; j < 4; j++) {
        if (infer && (j == 1 || j == 2)) continue;
        double m[2];
        for (int i = 0; i < 2; i++) {
            qsort(t[i][j], (size_t)n, sizeof(double), cmp);
            m[i] = t[i][j][n / 2];
        }
        printf("%-14s A %10.4f  B %10.4f  B/A %.3f\n", names[j], m[0] * 1e3, m[1] * 1e3, m[1] / m[0]);
    }
    return 0;
}
