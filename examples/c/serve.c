/*
 * serve.c -- one read-only model served by several threads: the digits
 * classifier is loaded once (swann_model_load, mapped), and N worker threads,
 * each with its own session (two small activation buffers, no copy of the
 * weights), classify rows taken from a shared queue (an atomic index).
 *
 *   usage: serve [THREADS] [--model PATH] [--csv PATH] [--passes N]
 *
 *     THREADS       worker threads, default 2
 *     --model PATH  a digits model saved by swann (train_digits --save), default
 *                   /tmp/swann_digits.safetensors; when there is none, a model is
 *                   trained first (64-128-64-10, 30 epochs) and saved there
 *     --csv PATH    default examples/data/digits.csv
 *     --passes N    times the queue goes over the 1797 rows, default 50
 *
 * Prints the rows per second and the accuracy over all the rows (the training
 * rows included: this example is about serving, see train_digits for a held-out
 * score). Exit status 0 when the accuracy is at least 0.96, 1 otherwise or on
 * any error.
 *
 * Build (swann installed under PREFIX):
 *   gcc -std=c11 -O2 -Wall -Wextra -I$PREFIX/include examples/c/serve.c \
 *       -L$PREFIX/lib -lswann -lm -pthread -Wl,-rpath,$PREFIX/lib -o serve
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "swann.h"

#define N_PIXELS 64
#define N_CLASSES 10
#define MAX_ROWS 4096
#define MAX_THREADS 64

static float pixels[MAX_ROWS][N_PIXELS];
static int labels[MAX_ROWS];
static size_t n_rows;

static swann_model *model;
static atomic_size_t next_row; /* the queue: row i of pass p is i + p * n_rows */
static size_t total_rows;

struct worker {
    pthread_t thread;
    size_t done, correct;
    int failed;
};

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int load_csv(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "serve: cannot open %s\n", path);
        return -1;
    }
    char line[1024];
    while (n_rows < MAX_ROWS && fgets(line, sizeof line, f)) {
        char *p = line;
        int v[N_PIXELS + 1], k = 0;
        while (k <= N_PIXELS) {
            char *end;
            long x = strtol(p, &end, 10);
            if (end == p) break;
            v[k++] = (int)x;
            p = *end == ',' ? end + 1 : end;
        }
        if (k != N_PIXELS + 1) continue; /* a header or a short line */
        for (int i = 0; i < N_PIXELS; i++) pixels[n_rows][i] = (float)v[i] / 16.0f;
        labels[n_rows++] = v[N_PIXELS];
    }
    fclose(f);
    if (n_rows == 0) fprintf(stderr, "serve: no rows in %s\n", path);
    return n_rows ? 0 : -1;
}

/* No model yet: train the digits net on every row and save it. */
static int train_and_save(const char *path)
{
    const char *spec = "{\"input\": 64, \"layers\": [{\"units\": 128, \"activation\": \"relu\"},"
                       " {\"units\": 64, \"activation\": \"relu\"}, {\"units\": 10, \"activation\": \"softmax\"}],"
                       " \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9},"
                       " \"seed\": 42}";
    enum { B = 32 };
    swann_net *net = NULL;
    if (swann_create(spec, B, NULL, 0, &net) != SWANN_OK) {
        fprintf(stderr, "serve: %s\n", swann_last_error());
        return -1;
    }
    static float t[B * N_CLASSES];
    for (int epoch = 0; epoch < 30; epoch++) {
        for (size_t r = 0; r + B <= n_rows; r += B) {
            memset(t, 0, sizeof t);
            for (int i = 0; i < B; i++) t[i * N_CLASSES + labels[r + (size_t)i]] = 1;
            if (swann_forward(net, pixels[r], B, NULL) != SWANN_OK || swann_backward(net, t, NULL, NULL) != SWANN_OK ||
                swann_step(net) != SWANN_OK) {
                fprintf(stderr, "serve: training: %s\n", swann_last_error());
                swann_destroy(net);
                return -1;
            }
        }
    }
    swann_status s = swann_save(net, path);
    if (s != SWANN_OK) fprintf(stderr, "serve: %s\n", swann_last_error());
    swann_destroy(net);
    printf("trained a digits model and saved it to %s\n", path);
    return s == SWANN_OK ? 0 : -1;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    swann_session *session = NULL;
    if (swann_session_create(model, 1, NULL, 0, &session) != SWANN_OK) {
        fprintf(stderr, "serve: %s\n", swann_last_error());
        w->failed = 1;
        return NULL;
    }
    float y[N_CLASSES];
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&next_row, 1, memory_order_relaxed);
        if (i >= total_rows) break;
        size_t r = i % n_rows;
        if (swann_session_run(session, pixels[r], 1, y) != SWANN_OK) {
            fprintf(stderr, "serve: %s\n", swann_last_error());
            w->failed = 1;
            break;
        }
        int best = 0;
        for (int c = 1; c < N_CLASSES; c++)
            if (y[c] > y[best]) best = c;
        w->correct += best == labels[r];
        w->done++;
    }
    swann_session_destroy(session);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 2;
    size_t passes = 50;
    const char *model_path = "/tmp/swann_digits.safetensors", *csv = "examples/data/digits.csv";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model_path = argv[++i];
        else if (!strcmp(argv[i], "--csv") && i + 1 < argc) csv = argv[++i];
        else if (!strcmp(argv[i], "--passes") && i + 1 < argc) passes = (size_t)strtoul(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && atoi(argv[i]) > 0) threads = atoi(argv[i]);
        else {
            fprintf(stderr, "usage: %s [THREADS] [--model PATH] [--csv PATH] [--passes N]\n", argv[0]);
            return 1;
        }
    }
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (passes == 0) passes = 1;
    if (load_csv(csv) != 0) return 1;
    if (access(model_path, R_OK) != 0 && train_and_save(model_path) != 0) return 1;

    /* One model for every thread: the file is mapped and its weights used in place. */
    if (swann_model_load(model_path, SWANN_MODEL_MAP, &model) != SWANN_OK) {
        fprintf(stderr, "serve: %s\n", swann_last_error());
        return 1;
    }
    if (swann_model_input_size(model) != N_PIXELS || swann_model_output_size(model) != N_CLASSES) {
        fprintf(stderr, "serve: %s is not a digits model (%zu inputs, %zu outputs)\n", model_path,
                swann_model_input_size(model), swann_model_output_size(model));
        swann_model_destroy(model);
        return 1;
    }
    size_t arena = 0;
    swann_session_arena_size(model, 1, &arena);

    total_rows = passes * n_rows;
    static struct worker workers[MAX_THREADS];
    double t0 = now_seconds();
    int started = 0;
    for (; started < threads; started++)
        if (pthread_create(&workers[started].thread, NULL, work, &workers[started]) != 0) break;
    size_t done = 0, correct = 0;
    int failed = started < threads;
    for (int i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
        done += workers[i].done;
        correct += workers[i].correct;
        failed |= workers[i].failed;
    }
    double seconds = now_seconds() - t0;
    swann_status s = swann_model_destroy(model);
    if (failed || s != SWANN_OK || done != total_rows) {
        fprintf(stderr, "serve: failed (%zu of %zu rows done)\n", done, total_rows);
        return 1;
    }
    double accuracy = (double)correct / (double)done;
    printf("threads: %d, session arena: %zu bytes each\n", threads, arena);
    printf("rows: %zu in %.3f s, %.0f rows per second\n", done, seconds, (double)done / seconds);
    printf("accuracy: %.4f\n", accuracy);
    return accuracy >= 0.96 ? 0 : 1;
}
