/*
 * bench_serve.c -- the serving measurements of issue #16, side by side in one run.
 *
 *   memory   resident memory (VmRSS, after one run on each) of 8 sessions (max_batch 1) on one
 *            W4 model (1024-4096-4096-1024, relu, softmax, SGD with momentum), read and mapped,
 *            against 8 nets loaded from the same file; each in a child process of its own, so
 *            one measurement's freed memory never hides in the next one's.
 *   threads  rows/s of 2 threads, each with its own session on one model, against 1 thread:
 *            W3 (784-128-10, one row per call) and W1i (784-512-256-10, batch 128); the 2-thread
 *            outputs are checked bit-identical to the 1-thread ones.
 *   load     the W4 model file: swann_model_load with SWANN_MODEL_MAP from the page cache (the
 *            file read once before), without it, and swann_load (max_batch 1); medians.
 *   arenas   a session's arena against a net's arena, digits / W1 / W4, max_batch 1 and 128.
 *   compact  the same model as float32, f16 and int8 (swann_model_quantize), side by side in
 *            interleaved repeats: W3 one row per call and W1i batch 128, at 1 and 2 threads
 *            (one session each), rows/s medians, and each one's largest output difference from
 *            float32 on the same rows.
 *
 *   usage: bench_serve [--quick] [--json FILE] [--dir DIR] [--only memory,load,arenas,threads,compact]
 *          (DIR: where the W4 file goes, default $TMPDIR or /tmp)
 *
 * Human lines go to stderr, one JSON object to FILE (default stdout) for benchmarks/table.py.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <swann.h>

#define CHECK(call)                                                                               \
    do {                                                                                          \
        swann_status st_ = (call);                                                                \
        if (st_ != SWANN_OK) {                                                                    \
            fprintf(stderr, "bench_serve: %s failed: %s: %s\n", #call, swann_status_name(st_),    \
                    swann_last_error());                                                          \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)

static int quick;
static FILE *json;
static const char *only = "memory,load,arenas,threads,compact";
static int wanted(const char *part) { return strstr(only, part) != NULL; }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint64_t rng_state = 88172645463325252ull;
static float uniform(void) {  /* xorshift64: the same inputs on every run */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2 - 1);
}

/* relu hidden layers, softmax + cross-entropy, SGD with momentum (so a net carries what training does) */
static void mlp_spec(char *out, size_t cap, const int *sizes, int n) {
    int at = snprintf(out, cap, "{\"input\": %d, \"layers\": [", sizes[0]);
    for (int k = 1; k < n; k++)
        at += snprintf(out + at, cap - (size_t)at, "%s{\"units\": %d, \"activation\": \"%s\"}", k > 1 ? ", " : "",
                       sizes[k], k == n - 1 ? "softmax" : "relu");
    snprintf(out + at, cap - (size_t)at,
             "], \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.01, \"momentum\": 0.9}, "
             "\"seed\": 0, \"threads\": 1}");
}

/* Resident memory of this process, bytes (VmRSS in /proc/self/status). */
static long rss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024;
}

/* ---- memory ------------------------------------------------------------------------------- */

enum { COPIES = 8, W4_IN = 1024, W4_OUT = 1024 };

/* In a child: the resident growth from loading COPIES nets or a model and COPIES sessions,
 * after one forward on each (which touches its activations). */
static long grow_child(const char *path, int what /* 0 nets, 1 model read, 2 model mapped */) {
    int fds[2];
    if (pipe(fds)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        float *x = malloc(sizeof(float) * W4_IN), *y = malloc(sizeof(float) * W4_OUT);
        for (int i = 0; i < W4_IN; i++) x[i] = uniform();
        long before = rss_bytes();
        if (what == 0) {
            swann_net *nets[COPIES];
            for (int i = 0; i < COPIES; i++) {
                CHECK(swann_load(path, 1, NULL, 0, &nets[i]));
                CHECK(swann_forward(nets[i], x, 1, y));
            }
        } else {
            swann_model *m;
            swann_session *s[COPIES];
            CHECK(swann_model_load(path, what == 2 ? SWANN_MODEL_MAP : 0, &m));
            for (int i = 0; i < COPIES; i++) {
                CHECK(swann_session_create(m, 1, NULL, 0, &s[i]));
                CHECK(swann_session_run(s[i], x, 1, y));
            }
        }
        long grew = rss_bytes() - before;
        ssize_t w = write(fds[1], &grew, sizeof grew);
        _exit(w == (ssize_t)sizeof grew ? 0 : 1);
    }
    close(fds[1]);
    long grew = -1;
    if (read(fds[0], &grew, sizeof grew) != (ssize_t)sizeof grew) grew = -1;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? grew : -1;
}

static void bench_memory(const char *path, size_t weights) {
    long nets = grow_child(path, 0), read_m = grow_child(path, 1), mapped = grow_child(path, 2);
    swann_model *m;
    CHECK(swann_model_load(path, 0, &m));
    size_t sess_arena = 0;
    CHECK(swann_session_arena_size(m, 1, &sess_arena));
    CHECK(swann_model_destroy(m));
    size_t net_arena = 0;
    CHECK(swann_load_size(path, 1, &net_arena));
    double w = (double)weights;
    fprintf(stderr, "[serve] memory, %d copies of W4 (weights %.1f MB): nets %.1f MB (%.2fx the weights), "
            "model + sessions %.1f MB (%.2fx), mapped model + sessions %.1f MB (%.2fx); nets / sessions %.2fx\n",
            COPIES, w / 1e6, nets / 1e6, nets / w, read_m / 1e6, read_m / w, mapped / 1e6, mapped / w,
            read_m > 0 ? (double)nets / (double)read_m : 0.0);
    fprintf(json, "  \"memory\": {\"copies\": %d, \"weights_bytes\": %zu, \"nets_rss_bytes\": %ld, "
            "\"sessions_rss_bytes\": %ld, \"sessions_mapped_rss_bytes\": %ld, \"nets_over_weights\": %.3f, "
            "\"sessions_over_weights\": %.3f, \"sessions_mapped_over_weights\": %.3f, \"nets_over_sessions\": %.2f, "
            "\"session_arena_bytes\": %zu, \"net_arena_bytes\": %zu},\n",
            COPIES, weights, nets, read_m, mapped, nets / w, read_m / w, mapped / w,
            read_m > 0 ? (double)nets / (double)read_m : 0.0, sess_arena, net_arena);
}

/* ---- threads ------------------------------------------------------------------------------ */

typedef struct {
    swann_session *s;
    const float *x;
    float *y;
    size_t batch;
    int calls;
    pthread_barrier_t *go;
} worker;

static void *run_worker(void *arg) {
    worker *w = arg;
    if (w->go) pthread_barrier_wait(w->go);
    for (int i = 0; i < w->calls; i++) CHECK(swann_session_run(w->s, w->x, w->batch, w->y));
    return NULL;
}

/* rows/s of `threads` threads, each with its own session, `calls` calls of `batch` rows each. */
static double rows_per_s(worker *ws, int threads) {
    pthread_t t[2];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
    for (int k = 0; k < threads; k++) {
        ws[k].go = &go;
        pthread_create(&t[k], NULL, run_worker, &ws[k]);
    }
    pthread_barrier_wait(&go);
    double t0 = now();
    for (int k = 0; k < threads; k++) pthread_join(t[k], NULL);
    double s = now() - t0;
    pthread_barrier_destroy(&go);
    double rows = 0;
    for (int k = 0; k < threads; k++) rows += (double)ws[k].calls * (double)ws[k].batch;
    return rows / s;
}

static int first_workload = 1;

static void bench_threads(const char *name, const int *sizes, int n, size_t batch, int calls, int repeats) {
    char spec[1024];
    mlp_spec(spec, sizeof spec, sizes, n);
    swann_net *net;
    CHECK(swann_create(spec, batch, NULL, 0, &net));
    swann_model *m;
    CHECK(swann_model_from_net(net, &m));
    size_t in = (size_t)sizes[0], out = (size_t)sizes[n - 1];
    float *x = malloc(sizeof(float) * batch * in * 2), *ref = malloc(sizeof(float) * batch * out);
    /* Each thread's output on cache lines of its own (W3's 10 floats apart would
     * share one, and every call would bounce it between the cores). */
    size_t ystride = (batch * out + 15) / 16 * 16 + 16;
    float *y = aligned_alloc(64, sizeof(float) * ystride * 2);
    for (size_t i = 0; i < batch * in * 2; i++) x[i] = uniform();
    worker ws[2];
    for (int k = 0; k < 2; k++) {  /* each thread its own session, rows and output */
        CHECK(swann_session_create(m, batch, NULL, 0, &ws[k].s));
        ws[k] = (worker){ws[k].s, x + (size_t)k * batch * in, y + (size_t)k * ystride, batch, calls, NULL};
        CHECK(swann_session_run(ws[k].s, ws[k].x, batch, ws[k].y));  /* warm */
    }
    double r1[64], r2[64];
    for (int r = 0; r < repeats; r++) {
        r1[r] = rows_per_s(ws, 1);
        r2[r] = rows_per_s(ws, 2);
    }
    /* The second thread's rows, from the 2-thread run, against swann_forward on the net. */
    CHECK(swann_forward(net, ws[1].x, batch, ref));
    int identical = memcmp(ref, ws[1].y, sizeof(float) * batch * out) == 0;
    double m1 = median(r1, repeats), m2 = median(r2, repeats);
    fprintf(stderr, "[serve] %s batch %zu: 1 thread %.0f rows/s, 2 threads %.0f rows/s (%.2fx); outputs %s\n",
            name, batch, m1, m2, m2 / m1, identical ? "identical to swann_forward" : "DIFFER from swann_forward");
    fprintf(json, "%s    \"%s\": {\"batch\": %zu, \"calls_per_thread\": %d, \"repeats\": %d, \"t1_rows_per_s\": %.1f, "
            "\"t2_rows_per_s\": %.1f, \"ratio\": %.3f, \"identical\": %s}",
            first_workload ? "" : ",\n", name, batch, calls, repeats, m1, m2, m2 / m1, identical ? "true" : "false");
    first_workload = 0;
    for (int k = 0; k < 2; k++) swann_session_destroy(ws[k].s);
    CHECK(swann_model_destroy(m));
    swann_destroy(net);
    free(x);
    free(y);
    free(ref);
}

/* ---- compact ------------------------------------------------------------------------------ */

static int first_compact = 1;

/* rows/s of float32, f16 and int8 models of one net, at 1 and 2 threads, repeats interleaved. */
static void bench_compact(const char *name, const int *sizes, int n, size_t batch, int calls, int repeats) {
    static const char *dtypes[3] = {"f32", "f16", "int8"};
    char spec[1024];
    mlp_spec(spec, sizeof spec, sizes, n);
    swann_net *net;
    CHECK(swann_create(spec, batch, NULL, 0, &net));
    swann_model *m[3];
    CHECK(swann_model_from_net(net, &m[0]));
    CHECK(swann_model_quantize(m[0], "f16", &m[1]));
    CHECK(swann_model_quantize(m[0], "int8", &m[2]));
    size_t in = (size_t)sizes[0], out = (size_t)sizes[n - 1];
    float *x = malloc(sizeof(float) * batch * in * 2);
    size_t ystride = (batch * out + 15) / 16 * 16 + 16;
    float *y = aligned_alloc(64, sizeof(float) * ystride * 6);
    for (size_t i = 0; i < batch * in * 2; i++) x[i] = uniform() * 0.5f + 0.5f;  /* pixel-like, 0...1 */
    worker ws[3][2];
    for (int d = 0; d < 3; d++)
        for (int k = 0; k < 2; k++) {
            CHECK(swann_session_create(m[d], batch, NULL, 0, &ws[d][k].s));
            ws[d][k] = (worker){ws[d][k].s, x + (size_t)k * batch * in, y + (size_t)(2 * d + k) * ystride, batch,
                                calls, NULL};
            CHECK(swann_session_run(ws[d][k].s, ws[d][k].x, batch, ws[d][k].y));  /* warm */
        }
    double r1[3][64], r2[3][64];
    for (int r = 0; r < repeats; r++)
        for (int d = 0; d < 3; d++) {
            r1[d][r] = rows_per_s(ws[d], 1);
            r2[d][r] = rows_per_s(ws[d], 2);
        }
    double diff[3] = {0, 0, 0};
    for (int d = 1; d < 3; d++)
        for (size_t i = 0; i < batch * out; i++) {
            double e = ws[d][0].y[i] - ws[0][0].y[i];
            if (e < 0) e = -e;
            if (e > diff[d]) diff[d] = e;
        }
    double m1[3], m2[3];
    for (int d = 0; d < 3; d++) {
        m1[d] = median(r1[d], repeats);
        m2[d] = median(r2[d], repeats);
    }
    fprintf(stderr, "[compact] %s batch %zu, rows/s at 1 / 2 threads: f32 %.0f / %.0f; f16 %.0f / %.0f (time %.2fx f32); "
            "int8 %.0f / %.0f (time %.2fx f32); largest |y - y_f32|: f16 %.2g, int8 %.2g\n",
            name, batch, m1[0], m2[0], m1[1], m2[1], m1[0] / m1[1], m1[2], m2[2], m1[0] / m1[2], diff[1], diff[2]);
    fprintf(json, "%s    \"%s\": {\"batch\": %zu, \"calls_per_thread\": %d, \"repeats\": %d", first_compact ? "" : ",\n",
            name, batch, calls, repeats);
    for (int d = 0; d < 3; d++)
        fprintf(json, ", \"%s_t1_rows_per_s\": %.1f, \"%s_t2_rows_per_s\": %.1f, \"%s_max_diff\": %.3g", dtypes[d],
                m1[d], dtypes[d], m2[d], dtypes[d], diff[d]);
    fprintf(json, "}");
    first_compact = 0;
    for (int d = 0; d < 3; d++) {
        for (int k = 0; k < 2; k++) swann_session_destroy(ws[d][k].s);
        CHECK(swann_model_destroy(m[d]));
    }
    swann_destroy(net);
    free(x);
    free(y);
}

/* ---- load --------------------------------------------------------------------------------- */

static void read_whole(const char *path) {  /* into the page cache */
    int fd = open(path, O_RDONLY);
    static char buf[1 << 20];
    while (fd >= 0 && read(fd, buf, sizeof buf) > 0) {}
    if (fd >= 0) close(fd);
}

static void bench_load(const char *path, long file_bytes) {
    int reps = quick ? 3 : 7;
    double mapped[16], readm[16], net[16];
    read_whole(path);
    for (int r = 0; r < reps; r++) {
        swann_model *m;
        double t0 = now();
        CHECK(swann_model_load(path, SWANN_MODEL_MAP, &m));
        mapped[r] = now() - t0;
        CHECK(swann_model_destroy(m));
        t0 = now();
        CHECK(swann_model_load(path, 0, &m));
        readm[r] = now() - t0;
        CHECK(swann_model_destroy(m));
        swann_net *n;
        t0 = now();
        CHECK(swann_load(path, 1, NULL, 0, &n));
        net[r] = now() - t0;
        swann_destroy(n);
    }
    double a = median(mapped, reps) * 1e3, b = median(readm, reps) * 1e3, c = median(net, reps) * 1e3;
    fprintf(stderr, "[serve] load W4 (%.1f MB file, page cache): swann_model_load mapped %.2f ms, read %.2f ms; "
            "swann_load %.2f ms (%.1fx the mapped model)\n", file_bytes / 1e6, a, b, c, c / a);
    fprintf(json, "  \"load\": {\"file_bytes\": %ld, \"repeats\": %d, \"model_map_ms_median\": %.3f, "
            "\"model_read_ms_median\": %.3f, \"net_load_ms_median\": %.3f, \"net_over_map\": %.2f},\n",
            file_bytes, reps, a, b, c, c / a);
}

/* ---- arenas ------------------------------------------------------------------------------- */

static void bench_arenas(void) {
    static const int digits[] = {64, 128, 64, 10}, w1[] = {784, 512, 256, 10}, w4[] = {1024, 4096, 4096, 1024};
    const struct { const char *name; const int *sizes; int n; } nets[] = {{"digits", digits, 4}, {"W1", w1, 4},
                                                                           {"W4", w4, 4}};
    fprintf(json, "  \"arenas\": [");
    for (int i = 0; i < 3; i++) {
        char spec[1024];
        mlp_spec(spec, sizeof spec, nets[i].sizes, nets[i].n);
        swann_net *net;
        CHECK(swann_create(spec, 1, NULL, 0, &net));
        swann_model *m;
        CHECK(swann_model_from_net(net, &m));
        swann_destroy(net);
        for (size_t mb = 1; mb <= 128; mb += 127) {
            size_t sa = 0, na = 0;
            CHECK(swann_session_arena_size(m, mb, &sa));
            CHECK(swann_arena_size(spec, mb, &na));
            fprintf(stderr, "[serve] arena %s max_batch %zu: session %zu bytes, net %zu bytes (%.1fx)\n",
                    nets[i].name, mb, sa, na, (double)na / (double)sa);
            fprintf(json, "%s{\"net\": \"%s\", \"max_batch\": %zu, \"session_bytes\": %zu, \"net_bytes\": %zu}",
                    i || mb > 1 ? ", " : "", nets[i].name, mb, sa, na);
        }
        CHECK(swann_model_destroy(m));
    }
    fprintf(json, "],\n");
}

static void cpu_name(char *out, size_t cap) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(out, cap, "unknown");
    while (f && fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && c) {
            snprintf(out, cap, "%s", c + 2);
            out[strcspn(out, "\n\"\\")] = 0;
            break;
        }
    }
    if (f) fclose(f);
}

int main(int argc, char **argv) {
    const char *json_path = NULL, *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_serve [--quick] [--json FILE] [--dir DIR] [--only memory,load,arenas,threads,compact]\n");
            return 2;
        }
    }
    json = json_path ? fopen(json_path, "w") : stdout;
    if (!json) {
        perror(json_path);
        return 1;
    }
    char cpu[256];
    cpu_name(cpu, sizeof cpu);
    fprintf(stderr, "[serve] CPU: %s; libswann %s%s\n", cpu, swann_version(), quick ? " (quick)" : "");
    fprintf(json, "{\n  \"cpu\": \"%s\", \"quick\": %s, \"library\": \"%s\",\n", cpu, quick ? "true" : "false",
            swann_version());

    if (wanted("memory") || wanted("load")) {
        /* The W4 model file, written once (random weights, as the issue allows). */
        char path[4096];
        snprintf(path, sizeof path, "%s/bench_serve_w4_%ld.safetensors", dir, (long)getpid());
        static const int w4[] = {1024, 4096, 4096, 1024};
        char spec[1024];
        mlp_spec(spec, sizeof spec, w4, 4);
        swann_net *net;
        CHECK(swann_create(spec, 1, NULL, 0, &net));
        size_t weights = swann_param_count(net) * sizeof(float);
        CHECK(swann_save(net, path));
        swann_destroy(net);
        FILE *f = fopen(path, "rb");
        long file_bytes = 0;
        if (f && !fseek(f, 0, SEEK_END)) file_bytes = ftell(f);
        if (f) fclose(f);
        if (wanted("memory")) bench_memory(path, weights);
        if (wanted("load")) bench_load(path, file_bytes);
        unlink(path);
    }
    if (wanted("arenas")) bench_arenas();

    static const int w3[] = {784, 128, 10}, w1[] = {784, 512, 256, 10};
    int reps = quick ? 3 : 7;
    fprintf(json, "  \"threads\": {\n");
    if (wanted("threads")) {
        bench_threads("W3", w3, 3, 1, quick ? 20000 : 100000, reps);
        bench_threads("W1i", w1, 4, 128, quick ? 40 : 200, reps);
    }
    fprintf(json, "\n  },\n  \"compact\": {\n");
    if (wanted("compact")) {
        bench_compact("W3", w3, 3, 1, quick ? 20000 : 100000, reps);
        bench_compact("W1i", w1, 4, 128, quick ? 40 : 200, reps);
    }
    fprintf(json, "\n  }\n}\n");
    if (json != stdout) fclose(json);
    return 0;
}
