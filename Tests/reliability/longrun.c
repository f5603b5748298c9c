/*
 * longrun.c -- a million training steps: resident memory stays flat, and a run
 * interrupted by save / destroy / load every 10 000 steps ends bit-identical to
 * the uninterrupted one (parameters, optimizer state and step count all survive
 * the file).
 *
 *   longrun [STEPS [EVERY]]      default 1000000 and 10000
 *
 * The net is tiny (2-4-1 on XOR) to fit CI time: Adam with a cosine schedule over
 * the whole run (so the step count matters) for STEPS steps; then, for STEPS / 5
 * steps each, the other optimizers' state (SGD Nesterov momentum with a step
 * schedule and warm-up, centered RMSprop with momentum, Rprop, AMSGrad Adam).
 * Memory is measured after a warm-up of EVERY steps and at the end of each run,
 * with the net alive both times:
 *   - heap blocks in use (counted by alloc_shim.so, when preloaded) must be
 *     exactly equal: no block leaked, not one per save/load cycle;
 *   - resident memory (/proc/self/statm) may grow by at most 256 KiB (code and
 *     stack pages touched late, allocator noise).
 * Prints "# rss ... KiB" lines for the report.
 */
#include "check.h"
#include "alloc_shim.h"

#include <sys/stat.h>
#include <time.h>

#define NET "{\"input\": 2, \"layers\": [{\"units\": 4, \"activation\": \"tanh\"}, {\"units\": 1," \
            " \"activation\": \"sigmoid\"}], \"loss\": \"binary_cross_entropy\", \"seed\": 2024, \"optimizer\": "
static const char *CONFIGS[] = {
    NET "{\"type\": \"adam\", \"lr\": 0.01, \"schedule\": {\"type\": \"cosine\", \"t_max\": 1000000,"
        " \"eta_min\": 0.0001}}}",
    NET "{\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9, \"nesterov\": true, \"weight_decay\": 1e-5,"
        " \"schedule\": {\"type\": \"step\", \"step_size\": 50000, \"gamma\": 0.5, \"warmup_steps\": 1000}}}",
    NET "{\"type\": \"rmsprop\", \"lr\": 0.001, \"momentum\": 0.5, \"centered\": true}}",
    NET "{\"type\": \"rprop\", \"lr\": 0.01}}",
    NET "{\"type\": \"adamw\", \"lr\": 0.01, \"amsgrad\": true, \"clip_norm\": 1.0}}",
};
static const char *NAMES[] = {"adam, cosine schedule", "sgd nesterov, step schedule, warm-up",
                              "rmsprop centered, momentum", "rprop", "adamw amsgrad, clip_norm"};
static const char *SPEC;

/* Heap blocks allocated and not freed, from alloc_shim.so when it is preloaded
 * (run.sh does); -1 without it (the check is then skipped). */
static long heap_in_use(void) { return shim_loaded() ? shim_live() : -1; }

static const float X[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float D[4] = {0, 1, 1, 0};

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

struct run {
    float *params;
    size_t count;
    double loss_sum;
    float last_loss;
    long rss0, rss1, heap0, heap1;
    int failed;
    char what[300];
};

/* steps of training; with `every` > 0, save, destroy and load back every `every` steps. */
static void train(long steps, long every, const char *path, struct run *r)
{
    swann_net *n = NULL;
    memset(r, 0, sizeof *r);
    if (swann_create(SPEC, 4, NULL, 0, &n) != SWANN_OK) {
        r->failed = 1;
        snprintf(r->what, sizeof r->what, "create: %s", swann_last_error());
        return;
    }
    long warm = every > 0 ? every : 10000;
    for (long s = 1; s <= steps; s++) {
        float loss = 0;
        if (swann_forward(n, X, 4, NULL) != SWANN_OK || swann_backward(n, D, &loss, NULL) != SWANN_OK ||
            swann_step(n) != SWANN_OK) {
            r->failed = 1;
            snprintf(r->what, sizeof r->what, "step %ld: %s", s, swann_last_error());
            break;
        }
        r->loss_sum += loss;
        r->last_loss = loss;
        if (every > 0 && s % every == 0 && s < steps) {
            if (swann_save(n, path) != SWANN_OK) {
                r->failed = 1;
                snprintf(r->what, sizeof r->what, "save at %ld: %s", s, swann_last_error());
                break;
            }
            swann_destroy(n);
            n = NULL;
            if (swann_load(path, 4, NULL, 0, &n) != SWANN_OK) {
                r->failed = 1;
                snprintf(r->what, sizeof r->what, "load at %ld: %s", s, swann_last_error());
                break;
            }
        }
        if (s == warm) {
            r->rss0 = rss_kib();
            r->heap0 = heap_in_use();
        }
    }
    r->rss1 = rss_kib();
    r->heap1 = heap_in_use();
    if (n) {
        float *p;
        swann_params(n, &p, &r->count);
        r->params = malloc(r->count * sizeof(float));
        memcpy(r->params, p, r->count * sizeof(float));
        swann_destroy(n);
    }
}

int main(int argc, char **argv)
{
    check_init("longrun");
    if (!shim_loaded()) printf("# alloc_shim.so not preloaded: heap blocks not counted\n");
    long steps = argc > 1 ? atol(argv[1]) : 1000000;
    long every = argc > 2 ? atol(argv[2]) : 10000;
    char dir[] = "/tmp/swann-longrun-XXXXXX", path[300];
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return check_finish();
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);

    for (size_t c = 0; c < sizeof CONFIGS / sizeof CONFIGS[0]; c++) {
        SPEC = CONFIGS[c];
        long n = c == 0 ? steps : steps / 5;
        struct run a, b;
        char what[300];
        double t0 = now();
        train(n, 0, path, &a);
        double t1 = now();
        train(n, every, path, &b);
        double t2 = now();
        printf("# %s: %ld steps: uninterrupted %.1f s, with save/load every %ld steps %.1f s\n", NAMES[c], n,
               t1 - t0, every, t2 - t1);
        printf("# rss uninterrupted: %ld KiB after %ld steps, %ld KiB at the end; heap blocks %ld -> %ld\n",
               a.rss0, every, a.rss1, a.heap0, a.heap1);
        printf("# rss interrupted:   %ld KiB after %ld steps, %ld KiB at the end; heap blocks %ld -> %ld\n",
               b.rss0, every, b.rss1, b.heap0, b.heap1);
        printf("# final loss %.9g (uninterrupted), %.9g (interrupted)\n", (double)a.last_loss, (double)b.last_loss);
        snprintf(what, sizeof what, "%s: %ld steps without a failure", NAMES[c], n);
        CHECKF(!a.failed, what, "%s", a.what);
        snprintf(what, sizeof what, "%s: ... and with save / destroy / load every %ld steps", NAMES[c], every);
        CHECKF(!b.failed, what, "%s", b.what);
        if (shim_loaded()) {
            snprintf(what, sizeof what, "%s: heap blocks in use identical at start and end, both runs (no leak)",
                     NAMES[c]);
            CHECKF(a.heap0 == a.heap1 && b.heap0 == b.heap1, what, "%ld -> %ld, %ld -> %ld blocks", a.heap0, a.heap1,
                   b.heap0, b.heap1);
        }
        snprintf(what, sizeof what, "%s: resident memory flat (<= 256 KiB growth), both runs", NAMES[c]);
        CHECKF(a.rss1 - a.rss0 <= 256 && b.rss1 - b.rss0 <= 256, what, "%ld -> %ld KiB, %ld -> %ld KiB", a.rss0,
               a.rss1, b.rss0, b.rss1);
        snprintf(what, sizeof what, "%s: the interrupted run ends with bit-identical parameters", NAMES[c]);
        CHECK(a.params && b.params && a.count == b.count && memcmp(a.params, b.params, a.count * sizeof(float)) == 0,
              what);
        snprintf(what, sizeof what, "%s: ... and took bit-identical losses all along", NAMES[c]);
        CHECKF(a.loss_sum == b.loss_sum, what, "%.17g vs %.17g", a.loss_sum, b.loss_sum);
        snprintf(what, sizeof what, "%s: the net learned XOR", NAMES[c]);
        CHECKF(a.last_loss < 0.05f, what, "final loss %g", (double)a.last_loss);
        free(a.params);
        free(b.params);
    }
    unlink(path);
    rmdir(dir);
    return check_finish();
}
