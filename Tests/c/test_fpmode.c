/*
 * test_fpmode.c -- swann computes in its own floating-point mode and gives the
 * host's back: the host's MXCSR (rounding mode, FTZ/DAZ, exception masks and
 * flags) is unchanged after every entry point, on success and on failure; with
 * flushing on (the default) subnormal operands and results are zero, with
 * swann_set_flush_subnormals(net, 0) they are IEEE; threads 1 and 2 give the
 * same bits in both modes; the canonical spec does not depend on the host's DAZ.
 * x86-64 (MXCSR) and aarch64 (FPCR with FZ, and the FPSR flags: run under
 * qemu-aarch64 by make test-aarch64); elsewhere it checks only the setter and getter.
 */
#include "check.h"

/* The host's floating-point state as one number: MXCSR on x86-64; FPSR << 32 | FPCR on
 * aarch64. FP_IEEE is the default mode, FP_FLUSH that with subnormals flushed. */
typedef unsigned long long fpstate;
#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_FPSTATE 1
#define FP_IEEE 0x1F80ull
#define FP_FLUSH (0x1F80ull | 0x8040ull)
#elif defined(__aarch64__)
#define HAVE_FPSTATE 1
#define FP_IEEE 0ull
#define FP_FLUSH (1ull << 24)  /* FPCR.FZ */
#else
#define HAVE_FPSTATE 0
#define FP_IEEE 0ull
#define FP_FLUSH 0ull
/* The checks below are defined everywhere, called only where the state is known. */
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

#define DIR_TEMPLATE "/tmp/swann-fpmode.XXXXXX"

static fpstate get_csr(void)
{
#if defined(__x86_64__)
    return _mm_getcsr();
#elif defined(__aarch64__)
    unsigned long long fpcr, fpsr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("mrs %0, fpsr" : "=r"(fpsr));
    return fpsr << 32 | (fpcr & 0xFFFFFFFFull);
#else
    return 0;
#endif
}

static void set_csr(fpstate v)
{
#if defined(__x86_64__)
    _mm_setcsr((unsigned)v);
#elif defined(__aarch64__)
    unsigned long long fpcr = v & 0xFFFFFFFFull, fpsr = v >> 32;
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
    __asm__ volatile("msr fpsr, %0" : : "r"(fpsr));
#else
    (void)v;
#endif
}

/* ---- the host's floating-point state after every entry point --------------------------------- */

static const char *SPEC =
    "{\"input\": 4, \"layers\": [{\"units\": 8, \"activation\": \"tanh\"},"
    " {\"units\": 3, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\","
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01}, \"seed\": 3, \"threads\": 2}";
static const char *SPEC_NONE =
    "{\"input\": 4, \"layers\": [{\"units\": 3, \"activation\": \"identity\"}], \"loss\": \"none\"}";

static fpstate host_csr;  /* what the host set; every call must leave exactly this */
static char what_buf[256];

static void after(const char *call)
{
    fpstate now = get_csr();
    snprintf(what_buf, sizeof what_buf, "FP state 0x%llx unchanged after %s", host_csr, call);
    CHECKF(now == host_csr, what_buf, "got 0x%llx", now);
    set_csr(host_csr); /* last: the next call starts from exactly the host's mode (flags included) */
}

static void every_call(fpstate csr, const char *dir)
{
    host_csr = csr;
    float x[8 * 4], t[8 * 3], y[8 * 3], dx[8 * 4], loss;
    for (int i = 0; i < 8 * 4; i++) x[i] = (float)((i * 7) % 11) / 11.0f - 0.4f;
    for (int r = 0; r < 8; r++)
        for (int j = 0; j < 3; j++) t[r * 3 + j] = (r % 3 == j) ? 1.0f : 0.0f;
    char path[512], buf[2048];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    size_t n = 0, bytes = 0;
    swann_net *net = NULL, *none = NULL, *loaded = NULL;
    float *view = NULL;
    double lr = 0;
    int on = -1;
    set_csr(csr); /* after the test's own arithmetic above, which sets flags */

    (void)swann_version(); after("swann_version");
    (void)swann_version_number(); after("swann_version_number");
    (void)swann_status_name(SWANN_E_ARG); after("swann_status_name");
    (void)swann_last_error(); after("swann_last_error");
    (void)swann_arena_size(SPEC, 8, &bytes); after("swann_arena_size");
    (void)swann_arena_size("{\"input\": 1e999}", 8, &bytes); after("swann_arena_size (bad spec)");
    (void)swann_create("{\"input\": -0.5e-310}", 8, NULL, 0, &net); after("swann_create (bad spec)");
    CHECK_ST(swann_create(SPEC, 8, NULL, 0, &net), SWANN_OK, "create");
    after("swann_create");
    if (!net) return;
    (void)swann_create(SPEC_NONE, 8, NULL, 0, &none); after("swann_create (loss none)");
    (void)swann_input_size(net); (void)swann_output_size(net); (void)swann_param_count(net);
    (void)swann_max_batch(net); after("the size queries");
    (void)swann_spec_json(net, buf, sizeof buf, &n); after("swann_spec_json");
    (void)swann_set_threads(net, 2); after("swann_set_threads");
    (void)swann_set_threads(net, 9); after("swann_set_threads (too many)");
    (void)swann_backward(net, t, &loss, dx); after("swann_backward (before forward)");
    (void)swann_forward(net, x, 8, y); after("swann_forward");
    (void)swann_last_batch(net, &n); after("swann_last_batch");
    (void)swann_backward(net, t, &loss, dx); after("swann_backward");
    (void)swann_accumulated_rows(net, &n); after("swann_accumulated_rows");
    (void)swann_step(net); after("swann_step");
    (void)swann_step(net); after("swann_step (nothing accumulated)");
    (void)swann_forward(net, x, 8, NULL);
    t[0] = -1.0f;
    (void)swann_backward(net, t, &loss, dx); after("swann_backward (target refused)");
    t[0] = 1.0f;
    x[5] = NAN;
    (void)swann_forward(net, x, 8, y); after("swann_forward (NaN input)");
    x[5] = 0.25f;
    (void)swann_forward(net, x, 9, y); after("swann_forward (batch too large)");
    (void)swann_forward(net, x, 8, y);
    (void)swann_backward(net, t, &loss, NULL);
    (void)swann_step_rows(net, 8); after("swann_step_rows");
    (void)swann_step_rows(net, 0); after("swann_step_rows (0 rows)");
    (void)swann_zero_grad(net); after("swann_zero_grad");
    (void)swann_set_lr(net, 1.5e-310); after("swann_set_lr (subnormal double)");
    (void)swann_set_lr(net, 0.01); after("swann_set_lr");
    (void)swann_set_lr(net, -1.0); after("swann_set_lr (refused)");
    (void)swann_get_lr(net, &lr); after("swann_get_lr");
    (void)swann_set_flush_subnormals(net, 0); after("swann_set_flush_subnormals (off)");
    (void)swann_forward(net, x, 8, y); after("swann_forward (flushing off)");
    (void)swann_backward(net, t, &loss, dx); after("swann_backward (flushing off)");
    (void)swann_step(net); after("swann_step (flushing off)");
    (void)swann_get_flush_subnormals(net, &on); after("swann_get_flush_subnormals");
    (void)swann_set_flush_subnormals(net, 1); after("swann_set_flush_subnormals (on)");
    (void)swann_set_flush_subnormals(NULL, 1); after("swann_set_flush_subnormals (NULL)");
    if (none) {
        float dy[8 * 3];
        for (int i = 0; i < 8 * 3; i++) dy[i] = 0.125f * (float)(i % 5) - 0.25f;
        (void)swann_forward(none, x, 8, NULL);
        (void)swann_backward_grad(none, dy, dx); after("swann_backward_grad");
        dy[2] = INFINITY;
        (void)swann_backward_grad(none, dy, dx); after("swann_backward_grad (Inf dy)");
    }
    (void)swann_params(net, &view, &n); after("swann_params");
    (void)swann_grads(net, &view, &n); after("swann_grads");
    (void)swann_save(net, path); after("swann_save");
    (void)swann_save(net, "/nonexistent-swann-dir/m.safetensors"); after("swann_save (no folder)");
    (void)swann_load_size(path, 8, &bytes); after("swann_load_size");
    (void)swann_load(path, 8, NULL, 0, &loaded); after("swann_load");
    swann_net *missing = NULL;
    (void)swann_load("/nonexistent-swann-dir/m.safetensors", 8, NULL, 0, &missing);
    after("swann_load (no file)");
    swann_destroy(loaded); after("swann_destroy (loaded)");
    swann_destroy(net); after("swann_destroy");
    swann_destroy(none);
    swann_destroy(NULL); after("swann_destroy (NULL)");
    set_csr(FP_IEEE);
}

/* ---- flushing on and off: results, and the same bits for 1 and 2 threads ------- */

#define IN 512
#define UNITS 256
#define ROWS 64

static float XS[ROWS * IN], YA[ROWS * UNITS], YB[ROWS * UNITS];

/* One identity layer with every weight 3 * 2^-149 (a subnormal float) and zero
 * bias, fed ones: flushed, each product reads W as 0 (DAZ) and y is 0; IEEE,
 * y = IN * 3 * 2^-149, every partial sum a subnormal float holds exactly, so
 * the order of the additions does not matter. */
#define TINY_W ldexpf(3.0f, -149)
static swann_net *tiny_net(int threads)
{
    char spec[512];
    snprintf(spec, sizeof spec,
             "{\"input\": %d, \"layers\": [{\"units\": %d, \"activation\": \"identity\"}],"
             " \"loss\": \"mse\", \"init\": \"zeros\", \"threads\": %d}", IN, UNITS, threads);
    swann_net *net = NULL;
    CHECK_ST(swann_create(spec, ROWS, NULL, 0, &net), SWANN_OK, "create the tiny-weight net");
    if (!net) return NULL;
    float *p = NULL;
    size_t n = 0;
    CHECK_ST(swann_params(net, &p, &n), SWANN_OK, "params");
    for (size_t i = 0; i < (size_t)IN * UNITS; i++) p[i] = TINY_W;
    return net;
}

static void flush_results(void)
{
    for (int i = 0; i < ROWS * IN; i++) XS[i] = 1.0f;
    const float ieee = (float)IN * TINY_W;  /* exact: see tiny_net */
    swann_net *one = tiny_net(1), *two = tiny_net(2);
    if (!one || !two) return;
    int on = -1;
    CHECK_ST(swann_get_flush_subnormals(one, &on), SWANN_OK, "get_flush_subnormals");
    CHECK(on == 1, "flushing is on by default");
    CHECK_ST(swann_set_threads(two, 2), SWANN_OK, "two threads");

    /* flushing on (default): W reads as 0; 20 runs, so the workers take chunks */
    int bad_value = 0, bad_bits = 0, zeros = 0, exact = 0;
    for (int rep = 0; rep < 20; rep++) {
        swann_status s1 = swann_forward(one, XS, ROWS, YA), s2 = swann_forward(two, XS, ROWS, YB);
        zeros = 0;
        for (int i = 0; i < ROWS * UNITS; i++) zeros += YA[i] == 0.0f && !signbit(YA[i]);
        bad_value += s1 != SWANN_OK || s2 != SWANN_OK || zeros != ROWS * UNITS;
        bad_bits += memcmp(YA, YB, sizeof YA) != 0;
    }
    CHECKF(bad_value == 0, "flushing on: a subnormal weight times 1 is +0 (DAZ)", "%d of 20 runs; last %d of %d",
           bad_value, zeros, ROWS * UNITS);
    CHECKF(bad_bits == 0, "flushing on: one and two threads give the same bits", "%d of 20 runs differ", bad_bits);

    /* flushing off: IEEE subnormal arithmetic, on every thread */
    CHECK_ST(swann_set_flush_subnormals(one, 0), SWANN_OK, "set_flush_subnormals(one, 0)");
    CHECK_ST(swann_set_flush_subnormals(two, 0), SWANN_OK, "set_flush_subnormals(two, 0)");
    CHECK_ST(swann_get_flush_subnormals(one, &on), SWANN_OK, "get_flush_subnormals");
    CHECK(on == 0, "get_flush_subnormals reads 0 after set 0");
    bad_value = bad_bits = 0;
    for (int rep = 0; rep < 20; rep++) {
        swann_status s1 = swann_forward(one, XS, ROWS, YA), s2 = swann_forward(two, XS, ROWS, YB);
        exact = 0;
        for (int i = 0; i < ROWS * UNITS; i++) exact += YA[i] == ieee;
        bad_value += s1 != SWANN_OK || s2 != SWANN_OK || exact != ROWS * UNITS;
        bad_bits += memcmp(YA, YB, sizeof YA) != 0;
    }
    CHECKF(bad_value == 0, "flushing off: y = 512 * 3 * 2^-149 exactly (IEEE)", "%d of 20 runs; last %d of %d, y[0] %g",
           bad_value, exact, ROWS * UNITS, YA[0]);
    CHECKF(bad_bits == 0, "flushing off: one and two threads give the same bits", "%d of 20 runs differ", bad_bits);
    /* and on again (workers switch back) */
    CHECK_ST(swann_set_flush_subnormals(two, 7), SWANN_OK, "set_flush_subnormals(two, 7): any non-zero is on");
    CHECK_ST(swann_get_flush_subnormals(two, &on), SWANN_OK, "get_flush_subnormals");
    CHECK(on == 1, "get_flush_subnormals reads 1 after set 7");
    CHECK_ST(swann_forward(two, XS, ROWS, YB), SWANN_OK, "forward, two threads, on again");
    zeros = 0;
    for (int i = 0; i < ROWS * UNITS; i++) zeros += YB[i] == 0.0f;
    CHECKF(zeros == ROWS * UNITS, "flushing on again: every thread flushes", "%d of %d", zeros, ROWS * UNITS);
    swann_destroy(one);
    swann_destroy(two);
}

/* FTZ: normal operands whose product is subnormal. One input, so y = fl(x * w). */
static void flush_to_zero_results(void)
{
    swann_net *net = NULL;
    CHECK_ST(swann_create("{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"identity\"}],"
                          " \"loss\": \"mse\", \"init\": \"zeros\"}", 1, NULL, 0, &net), SWANN_OK, "create 1-1");
    if (!net) return;
    float *p = NULL, x = 3e-20f, y = -1;
    size_t n = 0;
    swann_params(net, &p, &n);
    p[0] = 5e-21f;
    const float ieee = (float)((double)x * (double)p[0]);  /* the exact product, rounded once */
    CHECK(ieee != 0.0f && fabsf(ieee) < FLT_MIN, "the reference product is subnormal");
    CHECK_ST(swann_forward(net, &x, 1, &y), SWANN_OK, "forward, flushing on");
    CHECKF(y == 0.0f, "flushing on: a subnormal product is 0 (FTZ)", "y %g", y);
    swann_set_flush_subnormals(net, 0);
    CHECK_ST(swann_forward(net, &x, 1, &y), SWANN_OK, "forward, flushing off");
    CHECKF(y == ieee, "flushing off: the subnormal product, as IEEE rounds it", "y %g, want %g", y, ieee);
    swann_destroy(net);
}

/* The canonical spec's numbers do not depend on the host's DAZ: create parses and
 * prints them in IEEE mode (under DAZ, 1.5e-310 == 1e-310 would pass the shortest
 * round-trip test and the spec would say 1e-310). */
static void spec_under_host_daz(void)
{
    const char *spec = "{\"input\": 2, \"layers\": [{\"units\": 1, \"activation\": \"identity\"}],"
                       " \"loss\": \"mse\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 1.5e-310}}";
    char a[1024] = "", b[1024] = "";
    size_t n;
    swann_net *net = NULL;
    set_csr(FP_IEEE);
    CHECK_ST(swann_create(spec, 1, NULL, 0, &net), SWANN_OK, "create, host in IEEE mode");
    if (net) swann_spec_json(net, a, sizeof a, &n);
    swann_destroy(net);
    set_csr(FP_FLUSH);
    swann_status s = swann_create(spec, 1, NULL, 0, &net);
    set_csr(FP_IEEE);
    CHECK_ST(s, SWANN_OK, "create, host with FTZ and DAZ");
    if (net) swann_spec_json(net, b, sizeof b, &n);
    CHECKF(strstr(a, "1.5e-310") != NULL, "the canonical spec keeps lr 1.5e-310", "%s", a);
    CHECKF(strcmp(a, b) == 0, "the same canonical spec whatever the host's DAZ", "IEEE: %s; DAZ: %s", a, b);
    if (net) {
        set_csr(FP_FLUSH);
        swann_set_lr(net, 2.5e-310);
        set_csr(FP_IEEE);
        swann_spec_json(net, b, sizeof b, &n);
        CHECKF(strstr(b, "2.5e-310") != NULL, "set_lr under the host's DAZ writes lr 2.5e-310", "%s", b);
    }
    swann_destroy(net);
}

int main(void)
{
    check_init("test_fpmode");
    swann_net *net = NULL;
    CHECK_ST(swann_create(SPEC_NONE, 1, NULL, 0, &net), SWANN_OK, "create");
    CHECK_ST(swann_set_flush_subnormals(NULL, 0), SWANN_E_ARG, "set_flush_subnormals(NULL) is SWANN_E_ARG");
    int on = -1;
    CHECK_ST(swann_get_flush_subnormals(net, NULL), SWANN_E_ARG, "get_flush_subnormals(net, NULL) is SWANN_E_ARG");
    CHECK_ST(swann_get_flush_subnormals(NULL, &on), SWANN_E_ARG, "get_flush_subnormals(NULL) is SWANN_E_ARG");
    swann_destroy(net);
#if HAVE_FPSTATE
    char dir[] = DIR_TEMPLATE;
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
    } else {
#if defined(__x86_64__)
        /* default; FTZ+DAZ; round toward zero; round down with DAZ and flags set;
         * divide-by-zero unmasked (swann must not trap the host) */
        const fpstate modes[] = {0x1F80, 0x9FC0, 0x7F80, 0x3FC0 | 0x21, 0x1D80};
#else
        /* default; FZ; round toward zero (RMode 3); round down (RMode 2) with FZ and the
         * FPSR's inexact and invalid flags set; default NaN (DN) */
        const fpstate modes[] = {0, 1ull << 24, 3ull << 22, (2ull << 22 | 1ull << 24) | (0x11ull << 32), 1ull << 25};
#endif
        for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) every_call(modes[i], dir);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    }
    flush_results();
    flush_to_zero_results();
    spec_under_host_daz();
#else
    printf("# neither x86-64 nor aarch64: the floating-point mode is the host's; its checks skipped\n");
#endif
    printf("# test_fpmode: %ld passed, %ld failed\n", check_ctr->passed, check_ctr->failed);
    return check_ctr->failed ? 1 : 0;
}
