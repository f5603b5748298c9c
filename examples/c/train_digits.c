/*
 * train_digits.c -- swann's main demo: train a small multi-layer perceptron
 * on the 8x8 handwritten digits (examples/data/digits.csv) from C.
 *
 *   usage: train_digits [CSV] [EPOCHS] [--optimizer JSON] [--save PATH] [--quiet] [--progress]
 *
 *     CSV          digits file, default examples/data/digits.csv
 *                  (1797 rows of 64 pixels 0..16 and a label 0..9)
 *     EPOCHS       passes over the training set, default 30
 *     --optimizer JSON  the spec's optimizer object, default
 *                  {"type": "sgd", "lr": 0.1, "momentum": 0.9}; e.g.
 *                  '{"type": "adam", "lr": 0.001}'
 *     --save PATH  where to save the trained model,
 *                  default /tmp/swann_digits.safetensors
 *     --quiet      print only the final summary
 *     --progress   show the progress bar even when stderr is not a terminal
 *
 * What it does:
 *   1. loads the CSV, scales pixels to [0,1] and one-hot encodes the labels;
 *   2. splits the 1797 images 80/20 into training and held-out sets, with a
 *      fixed seed so every run uses the same split;
 *   3. builds a 64-128-64-10 net (relu, relu, softmax; cross-entropy loss;
 *      SGD with momentum) from a JSON spec;
 *   4. trains it with mini-batches of 32: swann_forward, swann_backward,
 *      swann_step. Each epoch prints one line on stdout; while an epoch runs
 *      a progress bar is drawn on stderr (when stderr is a terminal, or
 *      with --progress);
 *   5. prints the held-out accuracy and the speed of training;
 *   6. saves the model with swann_save, loads it again with swann_load and
 *      checks that the loaded net has the same parameters and gives the
 *      same held-out accuracy;
 *   7. serves the trained net as f16 and int8 models (swann_model_quantize)
 *      and prints their held-out accuracy and largest output difference.
 *
 * Exit status: 0 when the held-out accuracy is at least 0.96, 1 otherwise,
 * and also 1 on any error.
 *
 * Build (from the repository root, with swann installed under PREFIX):
 *   gcc -std=c11 -O2 -Wall -Wextra -I$PREFIX/include examples/c/train_digits.c \
 *       -L$PREFIX/lib -lswann -lm -Wl,-rpath,$PREFIX/lib -o train_digits
 *
 * Only the C standard library, POSIX's clock_gettime/isatty, and swann.h.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, isatty */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "swann.h"

/* ---- settings -------------------------------------------------------------- */

#define N_PIXELS 64    /* 8x8 image */
#define N_CLASSES 10   /* digits 0..9 */
#define PIXEL_MAX 16   /* pixel values are 0..16 */

#define DEFAULT_CSV "examples/data/digits.csv"
#define DEFAULT_EPOCHS 30
#define DEFAULT_SAVE_PATH "/tmp/swann_digits.safetensors"

#define BATCH 32            /* training mini-batch */
#define MAX_BATCH 128       /* largest batch the net accepts (we evaluate 128 rows at a time) */
#define TEST_FRACTION 0.2   /* 20% of the images are held out */
#define DATA_SEED 2024u     /* seeds the split and the per-epoch shuffles */
#define NET_SEED 42         /* seeds the initial weights (in the spec) */
#define LEARNING_RATE 0.1
#define MOMENTUM 0.9
#define PASS_ACCURACY 0.96  /* the demo succeeds at or above this held-out accuracy */

/* ---- small helpers ----------------------------------------------------------- */

/* Checks a swann call; on failure prints what failed and why, and jumps to
 * the function's `fail` label (which frees what it must). */
#define CHECK(call)                                                          \
    do {                                                                     \
        swann_status st_ = (call);                                           \
        if (st_ != SWANN_OK) {                                               \
            fprintf(stderr, "error: %s failed: %s: %s\n", #call,             \
                    swann_status_name(st_), swann_last_error());             \
            goto fail;                                                       \
        }                                                                    \
    } while (0)

/* Seconds on a monotonic clock. */
static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: a tiny, well-mixed PRNG. The same seed gives the same numbers
 * on every machine, so the split and the shuffles are reproducible. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A uniform integer in [0, n), without modulo bias. */
static size_t rng_below(size_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
        r = rng_next();
    } while (r >= limit);
    return (size_t)(r % n);
}

/* Fisher-Yates shuffle of an index array. */
static void shuffle(size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

/* Index of the largest of n values. */
static int argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return (int)best;
}

/* ---- the data set -------------------------------------------------------------- */

typedef struct {
    size_t n;       /* number of images */
    float *x;       /* n x 64 pixels, scaled to [0,1] */
    float *onehot;  /* n x 10, the label as a one-hot row */
    int *label;     /* n labels 0..9 */
} dataset;

static void dataset_free(dataset *d)
{
    free(d->x);
    free(d->onehot);
    free(d->label);
    memset(d, 0, sizeof *d);
}

/* Grows the arrays to hold at least `need` rows. Returns 0 on success. */
static int dataset_reserve(dataset *d, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 2048;
    while (ncap < need)
        ncap *= 2;
    float *x = realloc(d->x, ncap * N_PIXELS * sizeof *x);
    if (x) d->x = x;
    float *oh = realloc(d->onehot, ncap * N_CLASSES * sizeof *oh);
    if (oh) d->onehot = oh;
    int *lb = realloc(d->label, ncap * sizeof *lb);
    if (lb) d->label = lb;
    if (!x || !oh || !lb)
        return -1;
    *cap = ncap;
    return 0;
}

/* Parses one CSV line: 64 pixels 0..16 and a label 0..9, comma-separated.
 * On success fills pix[] and *label and returns NULL; on failure returns a
 * description of the problem. */
static const char *parse_row(const char *line, int pix[N_PIXELS], int *label)
{
    static char why[128];
    const char *p = line;
    for (int col = 0; col < N_PIXELS + 1; col++) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p < '0' || *p > '9') {
            if (*p == '\0' || *p == '\n' || *p == '\r')
                snprintf(why, sizeof why, "expected %d values, found %d", N_PIXELS + 1, col);
            else
                snprintf(why, sizeof why, "column %d: expected an integer 0..%d", col + 1,
                         col < N_PIXELS ? PIXEL_MAX : N_CLASSES - 1);
            return why;
        }
        errno = 0;
        char *end;
        long v = strtol(p, &end, 10);
        long max = col < N_PIXELS ? PIXEL_MAX : N_CLASSES - 1;
        if (errno == ERANGE || v > max) {
            snprintf(why, sizeof why, "column %d: value out of range 0..%ld", col + 1, max);
            return why;
        }
        if (col < N_PIXELS)
            pix[col] = (int)v;
        else
            *label = (int)v;
        p = end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (col < N_PIXELS) {
            if (*p != ',') {
                if (*p == '\0' || *p == '\n' || *p == '\r')
                    snprintf(why, sizeof why, "expected %d values, found %d", N_PIXELS + 1, col + 1);
                else
                    snprintf(why, sizeof why, "column %d: expected ',' after the value", col + 1);
                return why;
            }
            p++;
        }
    }
    if (*p == '\r')
        p++;
    if (*p == '\n')
        p++;
    if (*p != '\0') {
        snprintf(why, sizeof why, "more than %d values", N_PIXELS + 1);
        return why;
    }
    return NULL;
}

/* Loads the digits CSV. Blank lines are ignored; anything else that is not a
 * valid row is an error naming the file and line. Returns 0 on success. */
static int load_digits_csv(const char *path, dataset *d)
{
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "error: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024]; /* a valid row is at most 64*3 + 2 + 1 = 195 characters */
    size_t cap = 0;
    long lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            fprintf(stderr, "error: %s:%ld: line too long (not a digits CSV?)\n", path, lineno);
            goto fail;
        }
        if (strspn(line, " \t\r\n") == len)
            continue; /* blank line */
        int pix[N_PIXELS], label = 0;
        const char *why = parse_row(line, pix, &label);
        if (why) {
            fprintf(stderr, "error: %s:%ld: %s\n", path, lineno, why);
            goto fail;
        }
        if (dataset_reserve(d, &cap, d->n + 1) != 0) {
            fprintf(stderr, "error: out of memory reading %s\n", path);
            goto fail;
        }
        float *x = d->x + d->n * N_PIXELS;
        for (int i = 0; i < N_PIXELS; i++)
            x[i] = (float)pix[i] / (float)PIXEL_MAX; /* scale 0..16 to [0,1] */
        float *oh = d->onehot + d->n * N_CLASSES;
        for (int i = 0; i < N_CLASSES; i++)
            oh[i] = i == label ? 1.0f : 0.0f;
        d->label[d->n] = label;
        d->n++;
    }
    if (ferror(f)) {
        fprintf(stderr, "error: reading %s failed: %s\n", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    if (d->n < 10) {
        fprintf(stderr, "error: %s: only %zu rows, too few to train and test\n", path, d->n);
        dataset_free(d);
        return -1;
    }
    return 0;
fail:
    fclose(f);
    dataset_free(d);
    return -1;
}

/* ---- evaluation ------------------------------------------------------------------ */

/* Accuracy of `net` on the rows idx[0..n) of `d`, in batches of up to
 * MAX_BATCH rows. xbuf holds MAX_BATCH inputs, ybuf MAX_BATCH outputs.
 * If `outputs` is not NULL it receives all n x 10 outputs, in idx order.
 * Returns 0 on success, -1 on a swann error (already reported). */
static int evaluate(swann_net *net, const dataset *d, const size_t *idx, size_t n,
                    float *xbuf, float *ybuf, float *outputs, double *accuracy)
{
    size_t correct = 0;
    for (size_t start = 0; start < n; start += MAX_BATCH) {
        size_t b = n - start < MAX_BATCH ? n - start : MAX_BATCH;
        for (size_t r = 0; r < b; r++)
            memcpy(xbuf + r * N_PIXELS, d->x + idx[start + r] * N_PIXELS,
                   N_PIXELS * sizeof *xbuf);
        CHECK(swann_forward(net, xbuf, b, ybuf));
        for (size_t r = 0; r < b; r++)
            if (argmax(ybuf + r * N_CLASSES, N_CLASSES) == d->label[idx[start + r]])
                correct++;
        if (outputs)
            memcpy(outputs + start * N_CLASSES, ybuf, b * N_CLASSES * sizeof *ybuf);
    }
    *accuracy = (double)correct / (double)n;
    return 0;
fail:
    return -1;
}

/* Held-out accuracy of a compact copy ("f16" or "int8", swann_model_quantize) of the
 * trained net, served through a session, and its largest output difference from the
 * net's outputs `ref`. Returns 0 on success, -1 on a swann error (already reported). */
static int evaluate_compact(swann_net *net, const char *dtype, const dataset *d, const size_t *idx, size_t n,
                            float *xbuf, float *ybuf, const float *ref)
{
    swann_model *m32 = NULL, *m = NULL;
    swann_session *s = NULL;
    size_t correct = 0;
    double max_diff = 0.0;
    int rc = -1;
    CHECK(swann_model_from_net(net, &m32));
    CHECK(swann_model_quantize(m32, dtype, &m));
    CHECK(swann_session_create(m, MAX_BATCH, NULL, 0, &s));
    for (size_t start = 0; start < n; start += MAX_BATCH) {
        size_t b = n - start < MAX_BATCH ? n - start : MAX_BATCH;
        for (size_t r = 0; r < b; r++)
            memcpy(xbuf + r * N_PIXELS, d->x + idx[start + r] * N_PIXELS, N_PIXELS * sizeof *xbuf);
        CHECK(swann_session_run(s, xbuf, b, ybuf));
        for (size_t r = 0; r < b; r++) {
            if (argmax(ybuf + r * N_CLASSES, N_CLASSES) == d->label[idx[start + r]])
                correct++;
            for (size_t c = 0; c < N_CLASSES; c++) {
                double diff = ybuf[r * N_CLASSES + c] - ref[(start + r) * N_CLASSES + c];
                if (diff < 0) diff = -diff;
                if (diff > max_diff) max_diff = diff;
            }
        }
    }
    printf("compact: %s weights: held-out accuracy %.4f, max output difference %.3g\n", dtype,
           (double)correct / (double)n, max_diff);
    rc = 0;
fail:
    swann_session_destroy(s);
    swann_model_destroy(m);
    swann_model_destroy(m32);
    return rc;
}

/* ---- progress bar ---------------------------------------------------------------- */

/* Draws "\r epoch 3/30 [#####.....] 45%" on stderr (only when it changed). */
static void progress(int epoch, int epochs, size_t done, size_t total)
{
    static int last_epoch = -1, last_pct = -1;
    int pct = (int)(100 * done / total);
    if (epoch == last_epoch && pct == last_pct)
        return;
    last_epoch = epoch;
    last_pct = pct;
    char bar[21];
    int fill = (int)(20 * done / total);
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\r epoch %d/%d [%s] %3d%%", epoch, epochs, bar, pct);
    fflush(stderr);
}

static void progress_clear(void)
{
    fprintf(stderr, "\r%40s\r", "");
    fflush(stderr);
}

/* ---- main ------------------------------------------------------------------------- */

static void usage(FILE *to, const char *argv0)
{
    fprintf(to,
            "usage: %s [CSV] [EPOCHS] [--optimizer JSON] [--save PATH] [--quiet] [--progress]\n"
            "  CSV          digits file (default %s)\n"
            "  EPOCHS       training epochs, 1..100000 (default %d)\n"
            "  --optimizer JSON  the spec's optimizer, e.g. '{\"type\": \"adam\", \"lr\": 0.001}'\n"
            "  --save PATH  model file to write and reload (default %s)\n"
            "  --quiet      print only the final summary\n"
            "  --progress   show the progress bar even when stderr is not a terminal\n",
            argv0, DEFAULT_CSV, DEFAULT_EPOCHS, DEFAULT_SAVE_PATH);
}

int main(int argc, char **argv)
{
    /* -- arguments -- */
    const char *csv_path = DEFAULT_CSV;
    const char *save_path = DEFAULT_SAVE_PATH;
    const char *optimizer = NULL; /* NULL: SGD with momentum, below */
    int epochs = DEFAULT_EPOCHS;
    int quiet = 0;
    int force_progress = 0;
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--progress") == 0) {
            force_progress = 1;
        } else if (strcmp(a, "--optimizer") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "error: --optimizer needs a JSON object\n");
                return 1;
            }
            optimizer = argv[++i];
        } else if (strcmp(a, "--save") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "error: --save needs a path\n");
                return 1;
            }
            save_path = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, argv[0]);
            return 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "error: unknown option %s\n", a);
            usage(stderr, argv[0]);
            return 1;
        } else if (positional == 0) {
            csv_path = a;
            positional++;
        } else if (positional == 1) {
            char *end;
            errno = 0;
            long v = strtol(a, &end, 10);
            if (errno || end == a || *end != '\0' || v < 1 || v > 100000) {
                fprintf(stderr, "error: EPOCHS must be an integer 1..100000, got '%s'\n", a);
                return 1;
            }
            epochs = (int)v;
            positional++;
        } else {
            fprintf(stderr, "error: unexpected argument '%s'\n", a);
            usage(stderr, argv[0]);
            return 1;
        }
    }
    int show_progress = !quiet && (force_progress || isatty(STDERR_FILENO));

    /* Everything freed at `fail` / the end starts out empty. */
    int exit_code = 1;
    dataset data = {0};
    swann_net *net = NULL, *loaded = NULL;
    size_t *order = NULL;
    float *xbuf = NULL, *ybuf = NULL, *tbuf = NULL, *out1 = NULL, *out2 = NULL;

    /* -- data -- */
    if (load_digits_csv(csv_path, &data) != 0)
        return 1;

    /* Deterministic 80/20 split: shuffle the indices 0..n-1 once with a fixed
     * seed; the first 80% train, the rest are held out. */
    size_t n = data.n;
    size_t n_test = (size_t)((double)n * TEST_FRACTION + 0.5);
    size_t n_train = n - n_test;
    order = malloc(n * sizeof *order);
    xbuf = malloc(MAX_BATCH * N_PIXELS * sizeof *xbuf);
    ybuf = malloc(MAX_BATCH * N_CLASSES * sizeof *ybuf);
    tbuf = malloc(MAX_BATCH * N_CLASSES * sizeof *tbuf);
    out1 = malloc(n_test * N_CLASSES * sizeof *out1);
    out2 = malloc(n_test * N_CLASSES * sizeof *out2);
    if (!order || !xbuf || !ybuf || !tbuf || !out1 || !out2) {
        fprintf(stderr, "error: out of memory\n");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    rng_state = DATA_SEED;
    shuffle(order, n);
    size_t *train_idx = order;          /* n_train indices */
    size_t *test_idx = order + n_train; /* n_test indices */

    /* -- the net --
     * 64 inputs -> 128 relu -> 64 relu -> 10 softmax, trained on the
     * cross-entropy loss by SGD with momentum. "init": "he" draws the weights
     * from a normal with std sqrt(2 / fan_in); "seed" makes that draw the same
     * on every machine. */
    char default_optimizer[128];
    snprintf(default_optimizer, sizeof default_optimizer,
             "{\"type\": \"sgd\", \"lr\": %g, \"momentum\": %g}", LEARNING_RATE, MOMENTUM);
    if (optimizer == NULL)
        optimizer = default_optimizer;
    char spec[2048];
    int spec_len = snprintf(spec, sizeof spec,
             "{\"input\": %d,"
             " \"layers\": [{\"units\": 128, \"activation\": \"relu\"},"
             " {\"units\": 64, \"activation\": \"relu\"},"
             " {\"units\": %d, \"activation\": \"softmax\"}],"
             " \"loss\": \"cross_entropy\","
             " \"optimizer\": %s,"
             " \"init\": \"he\", \"seed\": %d}",
             N_PIXELS, N_CLASSES, optimizer, NET_SEED);
    if (spec_len < 0 || (size_t)spec_len >= sizeof spec) {
        fprintf(stderr, "error: --optimizer text is too long\n");
        goto fail;
    }

    size_t arena_bytes = 0;
    CHECK(swann_arena_size(spec, MAX_BATCH, &arena_bytes));
    /* arena NULL: the library allocates the arena itself, once. */
    CHECK(swann_create(spec, MAX_BATCH, NULL, 0, &net));
    if (swann_input_size(net) != N_PIXELS || swann_output_size(net) != N_CLASSES) {
        fprintf(stderr, "error: net has %zu inputs and %zu outputs, expected %d and %d\n",
                swann_input_size(net), swann_output_size(net), N_PIXELS, N_CLASSES);
        goto fail;
    }
    if (!quiet) {
        printf("swann %s\n", swann_version());
        printf("data: %s: %zu images, %zu train / %zu held out\n",
               csv_path, n, n_train, n_test);
        printf("net: %s\n", spec);
        printf("net: %zu parameters, arena %zu bytes, batch %d, %d epochs\n",
               swann_param_count(net), arena_bytes, BATCH, epochs);
        printf("%5s  %10s  %9s  %9s  %8s\n", "epoch", "train_loss", "train_acc",
               "test_acc", "time_s");
        fflush(stdout);
    }

    /* -- training -- */
    size_t steps = 0, samples = 0;
    double train_seconds = 0.0; /* forward/backward/step only, not evaluation */
    double test_acc = 0.0;
    size_t batches_per_epoch = (n_train + BATCH - 1) / BATCH;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        shuffle(train_idx, n_train); /* a new, reproducible order every epoch */
        double loss_sum = 0.0;       /* sum over rows of Div */
        size_t correct = 0;
        double t0 = now_seconds();
        for (size_t bi = 0; bi < batches_per_epoch; bi++) {
            size_t start = bi * BATCH;
            size_t b = n_train - start < BATCH ? n_train - start : BATCH;
            /* Gather the batch: b rows of inputs and of one-hot targets. */
            for (size_t r = 0; r < b; r++) {
                size_t k = train_idx[start + r];
                memcpy(xbuf + r * N_PIXELS, data.x + k * N_PIXELS, N_PIXELS * sizeof *xbuf);
                memcpy(tbuf + r * N_CLASSES, data.onehot + k * N_CLASSES,
                       N_CLASSES * sizeof *tbuf);
            }
            float loss = 0.0f;
            CHECK(swann_forward(net, xbuf, b, ybuf));  /* Y for the b rows */
            CHECK(swann_backward(net, tbuf, &loss, NULL)); /* grad Err += grad Div */
            CHECK(swann_step(net));                     /* SGD update, averaged over b */
            loss_sum += (double)loss * (double)b;       /* loss is the mean over the batch */
            for (size_t r = 0; r < b; r++)
                if (argmax(ybuf + r * N_CLASSES, N_CLASSES) == data.label[train_idx[start + r]])
                    correct++;
            steps++;
            samples += b;
            if (show_progress)
                progress(epoch, epochs, bi + 1, batches_per_epoch);
        }
        double epoch_seconds = now_seconds() - t0;
        train_seconds += epoch_seconds;
        if (show_progress)
            progress_clear();

        if (evaluate(net, &data, test_idx, n_test, xbuf, ybuf, NULL, &test_acc) != 0)
            goto fail;
        /* train_loss and train_acc are running figures, measured on each batch
         * just before its update; test_acc is measured after the epoch; time_s
         * is the epoch's training time (evaluation not included). */
        if (!quiet) {
            printf("%5d  %10.4f  %9.4f  %9.4f  %8.3f\n", epoch, loss_sum / (double)n_train,
                   (double)correct / (double)n_train, test_acc, epoch_seconds);
            fflush(stdout);
        }
    }

    /* -- results -- */
    if (evaluate(net, &data, test_idx, n_test, xbuf, ybuf, out1, &test_acc) != 0)
        goto fail;
    printf("held-out accuracy: %.4f (%zu images)\n", test_acc, n_test);
    printf("training: %.3f s for %d epochs, %zu steps: %.0f steps/s, %.0f samples/s\n",
           train_seconds, epochs, steps,
           train_seconds > 0 ? (double)steps / train_seconds : 0.0,
           train_seconds > 0 ? (double)samples / train_seconds : 0.0);

    /* -- save and reload --
     * Write the model to a safetensors file, load it into a new net and check
     * that the new net has the same parameters and gives the same held-out
     * accuracy. */
    CHECK(swann_save(net, save_path));
    {
        CHECK(swann_load(save_path, MAX_BATCH, NULL, 0, &loaded));
        float *p1, *p2;
        size_t c1, c2;
        CHECK(swann_params(net, &p1, &c1));
        CHECK(swann_params(loaded, &p2, &c2));
        if (c1 != c2 || memcmp(p1, p2, c1 * sizeof *p1) != 0) {
            fprintf(stderr, "error: reloaded parameters differ from the saved ones "
                            "(%zu vs %zu values)\n", c1, c2);
            goto fail;
        }
        double reload_acc = 0.0;
        if (evaluate(loaded, &data, test_idx, n_test, xbuf, ybuf, out2, &reload_acc) != 0)
            goto fail;
        double max_diff = 0.0;
        for (size_t i = 0; i < n_test * N_CLASSES; i++) {
            double diff = out1[i] > out2[i] ? out1[i] - out2[i] : out2[i] - out1[i];
            if (diff > max_diff)
                max_diff = diff;
        }
        printf("reload: %s: held-out accuracy %.4f, max output difference %.3g\n",
               save_path, reload_acc, max_diff);
        if (reload_acc != test_acc) {
            fprintf(stderr, "error: reloaded net scores %.4f, the trained one %.4f\n",
                    reload_acc, test_acc);
            goto fail;
        }
    }

    /* the same net served with compact weights (README, "Compact weights") */
    if (evaluate_compact(net, "f16", &data, test_idx, n_test, xbuf, ybuf, out1) != 0 ||
        evaluate_compact(net, "int8", &data, test_idx, n_test, xbuf, ybuf, out1) != 0)
        goto fail;

    if (test_acc >= PASS_ACCURACY) {
        printf("PASS: held-out accuracy %.4f >= %.2f\n", test_acc, PASS_ACCURACY);
        exit_code = 0;
    } else {
        printf("FAIL: held-out accuracy %.4f < %.2f\n", test_acc, PASS_ACCURACY);
    }

fail:
    swann_destroy(loaded);
    swann_destroy(net);
    free(out2);
    free(out1);
    free(tbuf);
    free(ybuf);
    free(xbuf);
    free(order);
    dataset_free(&data);
    return exit_code;
}
