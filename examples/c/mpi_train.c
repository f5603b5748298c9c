/*
 * mpi_train.c -- data-parallel training of the digits classifier over MPI.
 *
 *   usage: mpirun -np P mpi_train [CSV] [--epochs N] [--batch N] [--optimizer JSON]
 *                                 [--hidden N,N,...] [--threads N] [--save PATH] [--quiet]
 *
 *     CSV             digits file, default examples/data/digits.csv
 *                     (rows of 64 pixels 0..16, then the label 0..9)
 *     --epochs N      passes over the training set, default 30
 *     --batch N       GLOBAL mini-batch: rows per update summed over all ranks,
 *                     default 32 (so the same hyper-parameters train the same
 *                     way on any number of ranks)
 *     --optimizer JSON  the spec's optimizer, default
 *                     {"type": "sgd", "lr": 0.1, "momentum": 0.9}
 *     --hidden N,N    the hidden layers' widths (relu), default 128,64;
 *                     e.g. 1024,1024 for a net where computing outweighs the
 *                     exchange and more ranks pay off
 *     --threads N     threads per rank for the large matrix products (the
 *                     spec's "threads"), default 1; keep ranks x threads <= cores
 *     --save PATH     checkpoint rank 0 writes, default /tmp/swann_mpi_digits.safetensors
 *     --quiet         print only the summary
 *
 * Data parallelism with the flat swann_params / swann_grads buffers:
 *   - every rank loads the data, makes the same 80/20 split and the same
 *     per-epoch shuffle (same seed), and builds the same net (same spec and
 *     seed; rank 0's parameters are broadcast anyway);
 *   - each global batch of B rows is cut into P contiguous shards, rank r
 *     taking rows [r*B/P, (r+1)*B/P): sizes differ by at most one, and a rank
 *     may get none (a last batch smaller than P);
 *   - each rank runs forward/backward on its shard (the gradients are SUMMED
 *     over rows, not averaged), then
 *         MPI_Allreduce(MPI_IN_PLACE, grads, count, MPI_FLOAT, MPI_SUM)
 *     sums them over the ranks, a second allreduce sums the local row counts
 *     (swann_accumulated_rows), and every rank calls
 *         swann_step_rows(net, global_rows)
 *     so the update divides by the global T: every rank takes the same update
 *     as one process that saw the whole batch, and the ranks stay identical;
 *   - held-out accuracy is evaluated sharded (each rank its slice of the
 *     held-out rows) and the counts allreduced; rank 0 prints one line per
 *     epoch and saves the checkpoint (swann_save), then loads it back to check.
 *
 * Every swann call is checked; on an error the rank prints it and calls
 * MPI_Abort, which ends every rank. MPI calls use MPI's default error handler
 * (MPI_ERRORS_ARE_FATAL), so an MPI failure ends the job too.
 *
 * Build (swann installed under PREFIX; mpicc adds MPI's flags and libmpi):
 *   mpicc -std=c11 -O2 -Wall -Wextra -I$PREFIX/include examples/c/mpi_train.c \
 *       -L$PREFIX/lib -lswann -lm -Wl,-rpath,$PREFIX/lib -o mpi_train
 * Run:
 *   mpirun -np 2 ./mpi_train examples/data/digits.csv --epochs 30
 *   (as root: mpirun --allow-run-as-root; more ranks than cores: --oversubscribe)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "swann.h"

#define N_PIXELS 64
#define N_CLASSES 10
#define PIXEL_MAX 16

#define DEFAULT_CSV "examples/data/digits.csv"
#define DEFAULT_SAVE_PATH "/tmp/swann_mpi_digits.safetensors"
#define DEFAULT_EPOCHS 30
#define DEFAULT_BATCH 32
#define DEFAULT_OPTIMIZER "{\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9}"
#define EVAL_BATCH 128      /* rows per forward when evaluating */
#define MAX_CHUNK 512       /* largest forward while training; bigger shards run in chunks */
#define TEST_FRACTION 0.2
#define DATA_SEED 2024u     /* the split and the shuffles: identical on every rank */
#define NET_SEED 42

static int rank = 0, nranks = 1;

/* ---- errors: print and end the whole job ------------------------------------------ */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rank %d: error: ", rank);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1); /* not reached */
}

#define CHECK(call)                                                                   \
    do {                                                                              \
        swann_status st_ = (call);                                                    \
        if (st_ != SWANN_OK) {                                                        \
            die("%s failed: %s: %s", #call, swann_status_name(st_),                   \
                swann_last_error());                                                  \
        }                                                                             \
    } while (0)

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        die("out of memory");
    return p;
}

/* ---- deterministic shuffles (splitmix64; the same on every machine) -------------- */

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
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
        r = rng_next();
    } while (r >= limit);
    return (size_t)(r % n);
}

static void shuffle(size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

static int argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return (int)best;
}

/* ---- the data set ------------------------------------------------------------------ */

typedef struct {
    size_t n;
    float *x;      /* n x 64, pixels scaled to [0,1] */
    float *onehot; /* n x 10 */
    int *label;    /* n */
} dataset;

/* Loads the digits CSV (every rank reads it; it is small). Exits through die()
 * naming the file and line on anything that is not a valid row. */
static void load_digits_csv(const char *path, dataset *d)
{
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    size_t cap = 0;
    char line[1024];
    long lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f))
            die("%s:%ld: line too long (not a digits CSV?)", path, lineno);
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        int v[N_PIXELS + 1];
        const char *p = line;
        for (int col = 0; col <= N_PIXELS; col++) {
            char *end;
            errno = 0;
            long x = strtol(p, &end, 10);
            long max = col < N_PIXELS ? PIXEL_MAX : N_CLASSES - 1;
            if (end == p || errno || x < 0 || x > max)
                die("%s:%ld: column %d: expected 64 pixels 0..16 and a label 0..9", path,
                    lineno, col + 1);
            v[col] = (int)x;
            p = end;
            while (*p == ' ' || *p == '\t')
                p++;
            if (col < N_PIXELS && *p++ != ',')
                die("%s:%ld: expected 65 comma-separated values", path, lineno);
        }
        if (strspn(p, " \t\r\n") != strlen(p))
            die("%s:%ld: more than 65 values", path, lineno);
        if (d->n == cap) {
            cap = cap ? cap * 2 : 2048;
            float *x = realloc(d->x, cap * N_PIXELS * sizeof *x);
            if (x) d->x = x;
            float *oh = realloc(d->onehot, cap * N_CLASSES * sizeof *oh);
            if (oh) d->onehot = oh;
            int *lb = realloc(d->label, cap * sizeof *lb);
            if (lb) d->label = lb;
            if (!x || !oh || !lb)
                die("out of memory reading %s", path);
        }
        for (int i = 0; i < N_PIXELS; i++)
            d->x[d->n * N_PIXELS + i] = (float)v[i] / (float)PIXEL_MAX;
        for (int i = 0; i < N_CLASSES; i++)
            d->onehot[d->n * N_CLASSES + i] = i == v[N_PIXELS] ? 1.0f : 0.0f;
        d->label[d->n] = v[N_PIXELS];
        d->n++;
    }
    if (ferror(f))
        die("reading %s failed: %s", path, strerror(errno));
    fclose(f);
    if (d->n < 10)
        die("%s: only %zu rows, too few to train and test", path, d->n);
}

/* ---- sharding ----------------------------------------------------------------------- */

/* Rank r's part of n items: [n*r/P, n*(r+1)/P). Sizes differ by at most one. */
static void shard(size_t n, int r, size_t *begin, size_t *count)
{
    size_t b = n * (size_t)r / (size_t)nranks;
    size_t e = n * (size_t)(r + 1) / (size_t)nranks;
    *begin = b;
    *count = e - b;
}

/* Held-out accuracy, sharded: each rank runs its slice of idx[0..n), the counts
 * are summed over the ranks. Collective: every rank must call it. */
static double evaluate(swann_net *net, const dataset *d, const size_t *idx, size_t n,
                       float *xbuf, float *ybuf)
{
    size_t begin, count;
    shard(n, rank, &begin, &count);
    unsigned long long correct = 0;
    for (size_t s = 0; s < count; s += EVAL_BATCH) {
        size_t b = count - s < EVAL_BATCH ? count - s : EVAL_BATCH;
        for (size_t r = 0; r < b; r++)
            memcpy(xbuf + r * N_PIXELS, d->x + idx[begin + s + r] * N_PIXELS,
                   N_PIXELS * sizeof *xbuf);
        CHECK(swann_forward(net, xbuf, b, ybuf));
        for (size_t r = 0; r < b; r++)
            if (argmax(ybuf + r * N_CLASSES, N_CLASSES) == d->label[idx[begin + s + r]])
                correct++;
    }
    MPI_Allreduce(MPI_IN_PLACE, &correct, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    return (double)correct / (double)n;
}

/* FNV-1a over the parameter bytes: a cheap check that the ranks stayed identical. */
static uint64_t hash_floats(const float *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n * sizeof *p; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static long parse_long(const char *opt, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        if (rank == 0)
            fprintf(stderr, "error: %s needs an integer %ld..%ld, got '%s'\n", opt, lo, hi, s);
        MPI_Finalize();
        exit(2);
    }
    return v;
}

static void usage(FILE *to, const char *argv0)
{
    fprintf(to,
            "usage: mpirun -np P %s [CSV] [--epochs N] [--batch N] [--optimizer JSON]\n"
            "                    [--hidden N,N,...] [--threads N] [--save PATH] [--quiet]\n"
            "  CSV              digits file (default %s)\n"
            "  --epochs N       passes over the training set (default %d)\n"
            "  --batch N        global mini-batch, rows per update over all ranks (default %d)\n"
            "  --optimizer JSON the spec's optimizer (default %s)\n"
            "  --hidden N,N,... hidden layer widths, relu (default 128,64)\n"
            "  --threads N      threads per rank for the large matrix products (default 1)\n"
            "  --save PATH      checkpoint written by rank 0 (default %s)\n"
            "  --quiet          print only the summary\n",
            argv0, DEFAULT_CSV, DEFAULT_EPOCHS, DEFAULT_BATCH, DEFAULT_OPTIMIZER,
            DEFAULT_SAVE_PATH);
}

int main(int argc, char **argv)
{
    /* FUNNELED: only this thread calls MPI; the net's worker threads
     * ("threads" > 1) never do. */
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    /* -- arguments (every rank parses the same ones) -- */
    const char *csv_path = DEFAULT_CSV, *save_path = DEFAULT_SAVE_PATH;
    const char *optimizer = DEFAULT_OPTIMIZER;
    long epochs = DEFAULT_EPOCHS, batch = DEFAULT_BATCH, threads = 1;
    const char *hidden = "128,64";
    int quiet = 0, positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            if (rank == 0)
                usage(stdout, argv[0]);
            MPI_Finalize();
            return 0;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
        } else if ((strcmp(a, "--epochs") == 0 || strcmp(a, "--batch") == 0 ||
                    strcmp(a, "--threads") == 0 || strcmp(a, "--hidden") == 0 ||
                    strcmp(a, "--optimizer") == 0 || strcmp(a, "--save") == 0) && !has_value) {
            if (rank == 0)
                fprintf(stderr, "error: %s needs a value\n", a);
            MPI_Finalize();
            return 2;
        } else if (strcmp(a, "--epochs") == 0) {
            epochs = parse_long(a, argv[++i], 1, 100000);
        } else if (strcmp(a, "--batch") == 0) {
            batch = parse_long(a, argv[++i], 1, 1L << 30);
        } else if (strcmp(a, "--hidden") == 0) {
            hidden = argv[++i];
        } else if (strcmp(a, "--threads") == 0) {
            threads = parse_long(a, argv[++i], 1, 64);
        } else if (strcmp(a, "--optimizer") == 0) {
            optimizer = argv[++i];
        } else if (strcmp(a, "--save") == 0) {
            save_path = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            if (rank == 0) {
                fprintf(stderr, "error: unknown option %s\n", a);
                usage(stderr, argv[0]);
            }
            MPI_Finalize();
            return 2;
        } else if (positional++ == 0) {
            csv_path = a;
        } else {
            if (rank == 0) {
                fprintf(stderr, "error: unexpected argument '%s'\n", a);
                usage(stderr, argv[0]);
            }
            MPI_Finalize();
            return 2;
        }
    }

    if (threads > 1 && provided < MPI_THREAD_FUNNELED && rank == 0)
        fprintf(stderr, "warning: this MPI does not promise MPI_THREAD_FUNNELED; "
                        "--threads %ld may be unsafe\n", threads);

    /* -- data: the same split on every rank -- */
    dataset data;
    load_digits_csv(csv_path, &data);
    size_t n = data.n;
    size_t n_test = (size_t)((double)n * TEST_FRACTION + 0.5);
    size_t n_train = n - n_test;
    size_t *order = xmalloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    rng_state = DATA_SEED;
    shuffle(order, n);
    size_t *train_idx = order, *test_idx = order + n_train;
    if ((size_t)batch > n_train)
        batch = (long)n_train;

    /* Largest shard of a global batch, and the largest forward this rank runs. */
    size_t shard_max = ((size_t)batch + (size_t)nranks - 1) / (size_t)nranks;
    size_t chunk = shard_max < MAX_CHUNK ? shard_max : MAX_CHUNK;
    size_t max_batch = chunk > EVAL_BATCH ? chunk : EVAL_BATCH;

    /* -- the net: the same spec and seed on every rank -- */
    char layers[1024] = "";
    size_t used = 0;
    for (const char *h = hidden; *h;) {
        char *end;
        errno = 0;
        long units = strtol(h, &end, 10);
        if (errno || end == h || units < 1 || units > 65536 || (*end != ',' && *end != '\0'))
            die("--hidden needs widths 1..65536 separated by commas, got '%s'", hidden);
        int w = snprintf(layers + used, sizeof layers - used,
                         "{\"units\": %ld, \"activation\": \"relu\"}, ", units);
        if (w < 0 || (size_t)w >= sizeof layers - used)
            die("--hidden: too many layers");
        used += (size_t)w;
        h = *end == ',' ? end + 1 : end;
    }
    char spec[2048];
    int len = snprintf(spec, sizeof spec,
                       "{\"input\": %d, \"layers\": [%s{\"units\": %d, \"activation\": \"softmax\"}],"
                       " \"loss\": \"cross_entropy\", \"optimizer\": %s,"
                       " \"init\": \"he\", \"seed\": %d, \"threads\": %ld}",
                       N_PIXELS, layers, N_CLASSES, optimizer, NET_SEED, threads);
    if (len < 0 || (size_t)len >= sizeof spec)
        die("the spec is too long (--optimizer, --hidden)");
    swann_net *net = NULL;
    CHECK(swann_create(spec, max_batch, NULL, 0, &net));
    float *params, *grads;
    size_t nparams, ngrads;
    CHECK(swann_params(net, &params, &nparams));
    CHECK(swann_grads(net, &grads, &ngrads));
    if (nparams != ngrads)
        die("params and grads hold %zu and %zu values", nparams, ngrads);
    if (nparams > (size_t)INT_MAX) /* MPI counts are int: reduce in pieces beyond this */
        die("%zu parameters: more than one MPI_Allreduce count holds", nparams);
    /* Creation from the same spec and seed is bit-identical already; the
     * broadcast makes rank 0 the single source of truth (as when resuming). */
    MPI_Bcast(params, (int)nparams, MPI_FLOAT, 0, MPI_COMM_WORLD);

    float *xbuf = xmalloc(max_batch * N_PIXELS * sizeof *xbuf);
    float *ybuf = xmalloc(max_batch * N_CLASSES * sizeof *ybuf);
    float *tbuf = xmalloc(max_batch * N_CLASSES * sizeof *tbuf);

    if (rank == 0 && !quiet) {
        printf("swann %s, %d MPI rank%s\n", swann_version(), nranks, nranks == 1 ? "" : "s");
        printf("data: %s: %zu images, %zu train / %zu held out\n", csv_path, n, n_train, n_test);
        printf("net: %s\n", spec);
        printf("net: %zu parameters; global batch %ld (up to %zu rows per rank), %ld epochs\n",
               nparams, batch, shard_max, epochs);
        printf("%5s  %10s  %9s  %9s  %8s  %8s\n", "epoch", "train_loss", "train_acc", "test_acc",
               "time_s", "comm_s");
        fflush(stdout);
    }

    /* -- training -- */
    size_t batches = (n_train + (size_t)batch - 1) / (size_t)batch;
    double train_seconds = 0.0, comm_seconds = 0.0, test_acc = 0.0;
    size_t steps = 0;
    for (long epoch = 1; epoch <= epochs; epoch++) {
        shuffle(train_idx, n_train); /* the same order on every rank */
        double loss_sum = 0.0, correct = 0.0, comm = 0.0;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (size_t bi = 0; bi < batches; bi++) {
            size_t start = bi * (size_t)batch;
            size_t b = n_train - start < (size_t)batch ? n_train - start : (size_t)batch;
            size_t begin, count;
            shard(b, rank, &begin, &count);
            const size_t *rows = train_idx + start + begin;
            /* this rank's shard, in chunks of at most `chunk` rows: several
             * forward/backward pairs before a step equal one bigger batch */
            double local[3] = {0.0, 0.0, 0.0}; /* rows, sum of Div, correct */
            for (size_t s = 0; s < count; s += chunk) {
                size_t c = count - s < chunk ? count - s : chunk;
                for (size_t r = 0; r < c; r++) {
                    size_t k = rows[s + r];
                    memcpy(xbuf + r * N_PIXELS, data.x + k * N_PIXELS, N_PIXELS * sizeof *xbuf);
                    memcpy(tbuf + r * N_CLASSES, data.onehot + k * N_CLASSES,
                           N_CLASSES * sizeof *tbuf);
                }
                float loss = 0.0f;
                CHECK(swann_forward(net, xbuf, c, ybuf));
                CHECK(swann_backward(net, tbuf, &loss, NULL)); /* grad Err += grad Div */
                local[1] += (double)loss * (double)c;
                for (size_t r = 0; r < c; r++)
                    if (argmax(ybuf + r * N_CLASSES, N_CLASSES) == data.label[rows[s + r]])
                        local[2] += 1.0;
            }
            size_t t_local = 0;
            CHECK(swann_accumulated_rows(net, &t_local)); /* == count; 0 for an empty shard */
            local[0] = (double)t_local;

            /* Sum the gradients over the ranks, in place, and the row counts. */
            double c0 = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, grads, (int)ngrads, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            MPI_Allreduce(MPI_IN_PLACE, local, 3, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            comm += MPI_Wtime() - c0;
            size_t global_rows = (size_t)local[0]; /* exact: counts are far below 2^53 */
            if (global_rows != b)
                die("the ranks accumulated %zu rows for a batch of %zu", global_rows, b);

            /* Every rank takes the same step: grad Err / global T. */
            CHECK(swann_step_rows(net, global_rows));
            loss_sum += local[1];
            correct += local[2];
            steps++;
        }
        double seconds = MPI_Wtime() - t0;
        train_seconds += seconds;
        comm_seconds += comm;
        test_acc = evaluate(net, &data, test_idx, n_test, xbuf, ybuf);
        if (rank == 0 && !quiet) {
            printf("%5ld  %10.4f  %9.4f  %9.4f  %8.3f  %8.3f\n", epoch,
                   loss_sum / (double)n_train, correct / (double)n_train, test_acc, seconds, comm);
            fflush(stdout);
        }
    }

    /* -- the ranks must still hold identical parameters -- */
    unsigned long long h = hash_floats(params, nparams), h0 = h;
    MPI_Bcast(&h0, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    int differ = h != h0;
    MPI_Allreduce(MPI_IN_PLACE, &differ, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);

    if (rank == 0) {
        printf("held-out accuracy: %.4f (%zu images)\n", test_acc, n_test);
        printf("training: %d rank%s, %.3f s for %ld epochs (%.4f s per epoch, %.4f s of it in "
               "MPI_Allreduce), %zu steps\n",
               nranks, nranks == 1 ? "" : "s", train_seconds, epochs,
               train_seconds / (double)epochs, comm_seconds / (double)epochs, steps);
        printf("ranks in sync: %s\n", differ ? "NO" : "yes (identical parameters)");
    }
    if (differ) /* not expected: MPI_Allreduce gives every rank the same result */
        die("%d rank(s) hold parameters that differ from rank 0's", differ);

    /* -- rank 0 saves the checkpoint and loads it back -- */
    int exit_code = 0;
    if (rank == 0) {
        CHECK(swann_save(net, save_path));
        swann_net *loaded = NULL;
        CHECK(swann_load(save_path, EVAL_BATCH, NULL, 0, &loaded));
        float *p2;
        size_t n2;
        CHECK(swann_params(loaded, &p2, &n2));
        int same = n2 == nparams && memcmp(p2, params, nparams * sizeof *p2) == 0;
        printf("checkpoint: %s (%s)\n", save_path,
               same ? "reloaded, identical parameters" : "MISMATCH after reload");
        if (!same)
            exit_code = 1;
        swann_destroy(loaded);
    }
    MPI_Bcast(&exit_code, 1, MPI_INT, 0, MPI_COMM_WORLD);

    swann_destroy(net);
    free(tbuf);
    free(ybuf);
    free(xbuf);
    free(order);
    free(data.x);
    free(data.onehot);
    free(data.label);
    MPI_Finalize();
    return exit_code;
}
