/*
 * test_isa.c -- the CPU level a net or session runs, chosen at create (swann.h,
 * "CPU levels"), and the same bits on every level with FMA: a net trained on
 * the AVX-512 kernels equals one trained on the AVX2 kernels bit for bit, for
 * every optimizer, at one and two threads, and so do forward passes at every
 * batch size and sessions. Written as an outside host: only swann.h, and the
 * documented environment variable SWANN_ISA, set before each create.
 *
 * On a CPU without AVX-512 the cross-level comparisons say so and are skipped
 * (the AVX2 level is then the widest); the baseline level (x86-64, no FMA) is
 * exempt from bit-identity and is checked to run and to agree closely.
 */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* What /proc/cpuinfo says this CPU has: 3 AVX-512 (F, DQ, CD, BW, VL), 2 AVX2+FMA, 1 neither;
 * 0 off x86-64, where the library has one level, "native", whatever SWANN_ISA asks
 * (under qemu-aarch64, /proc/cpuinfo would describe the x86 host), and 0 for a build the
 * runner says has one level (SWANN_TEST_ONE_LEVEL: TARGET_CPU=..., the sanitizer builds). */
static int cpu_level(void)
{
#if !defined(__x86_64__)
    return 0;
#endif
    if (getenv("SWANN_TEST_ONE_LEVEL")) return 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return 0;
    static char line[8192];
    int level = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5)) continue;
        int has_avx2 = strstr(line, " avx2") && strstr(line, " fma") && strstr(line, " f16c") &&
                       strstr(line, " bmi2") && strstr(line, " movbe");
        int has_512 = strstr(line, " avx512f") && strstr(line, " avx512dq") && strstr(line, " avx512cd") &&
                      strstr(line, " avx512bw") && strstr(line, " avx512vl");
        level = has_avx2 ? (has_512 ? 3 : 2) : 1;
        break;
    }
    fclose(f);
    return level;
}

static const char *LEVEL_NAMES[] = {"native", "baseline", "avx2", "avx512"};

static swann_net *create_at(const char *isa, const char *spec, size_t max_batch)
{
    if (isa) setenv("SWANN_ISA", isa, 1); else unsetenv("SWANN_ISA");
    swann_net *net = NULL;
    swann_status st = swann_create(spec, max_batch, NULL, 0, &net);
    unsetenv("SWANN_ISA");
    return st == SWANN_OK ? net : NULL;
}

static swann_session *session_at(const char *isa, const swann_model *m, size_t max_batch)
{
    if (isa) setenv("SWANN_ISA", isa, 1); else unsetenv("SWANN_ISA");
    swann_session *s = NULL;
    swann_status st = swann_session_create(m, max_batch, NULL, 0, &s);
    unsetenv("SWANN_ISA");
    return st == SWANN_OK ? s : NULL;
}

/* The level chosen by default is the widest this CPU has; SWANN_ISA narrows it. */
static void choice(void)
{
    const char *spec = "{\"input\": 3, \"layers\": [{\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"mse\"}";
    int cpu = cpu_level();
#if defined(__x86_64__)
    if (!getenv("SWANN_TEST_ONE_LEVEL")) CHECKF(cpu >= 1, "/proc/cpuinfo has a flags line", "level %d", cpu);
#endif
    swann_net *net = create_at(NULL, spec, 4);
    CHECKF(net != NULL, "create without SWANN_ISA", "%s", last_err());
    const char *got = net ? swann_isa(net) : NULL;
    CHECKF(got && !strcmp(got, LEVEL_NAMES[cpu]), "the default level is the widest the CPU has",
           "cpuinfo says %s, swann_isa says %s", LEVEL_NAMES[cpu], got ? got : "NULL");
    printf("# this CPU: %s\n", got ? got : "NULL");
    swann_destroy(net);

    for (int want = 1; want <= 3; want++) {
        net = create_at(LEVEL_NAMES[want], spec, 4);
        got = net ? swann_isa(net) : NULL;
        int expect = want < cpu ? want : cpu;  /* never wider than the CPU */
        CHECKF(got && !strcmp(got, LEVEL_NAMES[expect]), "SWANN_ISA narrows the level, never widens it",
               "SWANN_ISA=%s on %s: swann_isa says %s", LEVEL_NAMES[want], LEVEL_NAMES[cpu], got ? got : "NULL");
        swann_destroy(net);
    }
    net = create_at("", spec, 4);
    got = net ? swann_isa(net) : NULL;
    CHECKF(got && !strcmp(got, LEVEL_NAMES[cpu]), "an empty SWANN_ISA is the default", "got %s", got ? got : "NULL");
    swann_destroy(net);

    CHECK(swann_isa(NULL) == NULL, "swann_isa(NULL) is NULL");
    CHECK(swann_session_isa(NULL) == NULL, "swann_session_isa(NULL) is NULL");
}

/* An unknown SWANN_ISA value is refused by the calls that choose, with a message. */
static void bad_values(void)
{
    const char *spec = "{\"input\": 3, \"layers\": [{\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"mse\"}";
    const char *bad[] = {"AVX2", "sse2", "avx512 ", "native", "1"};
    swann_net *good = create_at(NULL, spec, 4);
    swann_model *model = NULL;
    CHECK_ST(swann_model_from_net(good, &model), SWANN_OK, "model from net");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("SWANN_ISA", bad[i], 1);
        swann_net *net = (swann_net *)1;
        swann_status st = swann_create(spec, 4, NULL, 0, &net);
        CHECKF(st == SWANN_E_ARG && net == NULL && strstr(swann_last_error(), "SWANN_ISA"),
               "create refuses an unknown SWANN_ISA, naming it", "\"%s\": status %d, message: %s", bad[i], (int)st,
               swann_last_error());
        swann_session *s = (swann_session *)1;
        st = swann_session_create(model, 4, NULL, 0, &s);
        CHECKF(st == SWANN_E_ARG && s == NULL && strstr(swann_last_error(), "SWANN_ISA"),
               "session_create refuses an unknown SWANN_ISA", "\"%s\": status %d, message: %s", bad[i], (int)st,
               swann_last_error());
        unsetenv("SWANN_ISA");
    }
    swann_model_destroy(model);
    swann_destroy(good);
}

/* Shapes that reach every product path: wide tiles (12 x 32) with rows and columns
 * left over, few rows, short inner sizes, several kc blocks (784 inputs), and rows
 * 4 KB apart (1024 inputs), whose blocks the AVX-512 tiles pack instead of reading
 * them in place (Gemm.rowsAlias): W turned around in training, X with packed weights. */
static const char *NETS[] = {
    "\"input\": 784, \"layers\": [{\"units\": 512, \"activation\": \"relu\"}, "
    "{\"units\": 256, \"activation\": \"relu\"}, {\"units\": 10, \"activation\": \"softmax\"}], "
    "\"loss\": \"cross_entropy\"",
    "\"input\": 37, \"layers\": [{\"units\": 65, \"activation\": \"gelu\"}, "
    "{\"units\": 33, \"activation\": \"tanh\"}, {\"units\": 7, \"activation\": \"sigmoid\"}], "
    "\"loss\": \"binary_cross_entropy\"",
    "\"input\": 3, \"layers\": [{\"units\": 130, \"activation\": \"elu\"}, "
    "{\"units\": 17, \"activation\": \"softplus\"}, {\"units\": 2, \"activation\": \"identity\"}], "
    "\"loss\": \"mse\"",
    "\"input\": 1024, \"layers\": [{\"units\": 260, \"activation\": \"leaky_relu\", \"alpha\": 0.1}, "
    "{\"units\": 8, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\"",
};

static const char *OPTIMIZERS[] = {
    "{\"type\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9, \"nesterov\": true, \"weight_decay\": 0.001}",
    "{\"type\": \"adam\", \"lr\": 0.001, \"clip_norm\": 1}",
    "{\"type\": \"adamw\", \"lr\": 0.001, \"amsgrad\": true}",
    "{\"type\": \"rmsprop\", \"lr\": 0.001, \"centered\": true}",
    "{\"type\": \"rprop\", \"lr\": 0.001}",
};

#define ROWS 96
#define STEPS 4

/* Trains a net at one level; returns its parameters and its forward outputs of all
 * ROWS rows at batches 1, 5 and ROWS (malloc'd, the caller frees). */
static int train_at(const char *isa, const char *spec, size_t threads, float **params, size_t *count, float **out)
{
    swann_net *net = create_at(isa, spec, ROWS);
    if (!net) return 0;
    if (swann_set_threads(net, threads) != SWANN_OK) { swann_destroy(net); return 0; }
    size_t in = swann_input_size(net), o = swann_output_size(net);
    float *x = malloc(ROWS * in * sizeof(float)), *d = malloc(ROWS * o * sizeof(float));
    uint64_t rng = 5;
    for (size_t i = 0; i < ROWS * in; i++) x[i] = (float)rng_uniform(&rng, -1.5, 1.5);
    for (size_t r = 0; r < ROWS; r++)
        for (size_t j = 0; j < o; j++) d[r * o + j] = j == r % o ? 1.0f : 0.0f;
    int ok = 1;
    for (int s = 0; s < STEPS && ok; s++) {
        float loss = 0;
        /* two batches accumulated per step: 64 rows, then 32 */
        ok &= swann_forward(net, x, 64, NULL) == SWANN_OK;
        ok &= swann_backward(net, d, &loss, NULL) == SWANN_OK;
        ok &= swann_forward(net, x + 64 * in, 32, NULL) == SWANN_OK;
        ok &= swann_backward(net, d + 64 * o, &loss, NULL) == SWANN_OK;
        ok &= swann_step(net) == SWANN_OK;
    }
    float *p = NULL;
    ok &= swann_params(net, &p, count) == SWANN_OK;
    *params = malloc(*count * sizeof(float));
    if (p) memcpy(*params, p, *count * sizeof(float));
    *out = calloc(3 * ROWS * o, sizeof(float));  /* 95 of 96 rows in batches of 5: the last stays 0 */
    for (size_t r = 0; r < ROWS; r++) ok &= swann_forward(net, x + r * in, 1, *out + r * o) == SWANN_OK;
    for (size_t r = 0; r + 5 <= ROWS; r += 5) ok &= swann_forward(net, x + r * in, 5, *out + ROWS * o + r * o) == SWANN_OK;
    ok &= swann_forward(net, x, ROWS, *out + 2 * ROWS * o) == SWANN_OK;
    free(x);
    free(d);
    swann_destroy(net);
    return ok;
}

static size_t output_floats(const char *spec)
{
    swann_net *net = create_at(NULL, spec, 1);
    size_t o = net ? swann_output_size(net) : 0;
    swann_destroy(net);
    return o;
}

/* Training and forward on the AVX-512 kernels equal the AVX2 ones bit for bit. */
static void same_bits(void)
{
    if (cpu_level() < 3) {
        printf("# skip: this CPU has no AVX-512, so the AVX2 kernels are its widest and there is nothing to compare\n");
        return;
    }
    for (size_t n = 0; n < sizeof NETS / sizeof NETS[0]; n++) {
        for (size_t o = 0; o < sizeof OPTIMIZERS / sizeof OPTIMIZERS[0]; o++) {
            char spec[1024];
            snprintf(spec, sizeof spec, "{%s, \"optimizer\": %s, \"seed\": %zu, \"threads\": 2}", NETS[n],
                     OPTIMIZERS[o], n + 3);
            size_t outs = 3 * ROWS * output_floats(spec);
            for (size_t threads = 1; threads <= 2; threads++) {
                float *p512 = NULL, *p2 = NULL, *y512 = NULL, *y2 = NULL;
                size_t c512 = 0, c2 = 0;
                int ok = train_at("avx512", spec, threads, &p512, &c512, &y512);
                ok &= train_at("avx2", spec, threads, &p2, &c2, &y2);
                CHECKF(ok && c512 == c2, "trains on both levels", "net %zu optimizer %zu: %s", n, o, last_err());
                if (ok && c512 == c2) {
                    size_t pd = 0, yd = 0;
                    for (size_t i = 0; i < c2; i++) pd += memcmp(&p512[i], &p2[i], sizeof(float)) != 0;
                    for (size_t i = 0; i < outs; i++) yd += memcmp(&y512[i], &y2[i], sizeof(float)) != 0;
                    char what[160];
                    snprintf(what, sizeof what, "net %zu, optimizer %zu, %zu thread(s): AVX-512 and AVX2 give the "
                             "same parameters and outputs, bit for bit", n, o, threads);
                    CHECKF(pd == 0 && yd == 0, what, "%zu of %zu parameters and %zu of %zu outputs differ", pd, c2,
                           yd, outs);
                }
                free(p512); free(p2); free(y512); free(y2);
            }
        }
    }
}

/* A session on each level: the same bits as the net's forward, on every level
 * (784-wide rows read in place, 1024-wide ones packed on the AVX-512 level). */
static void session_of(const char *layers)
{
    char spec[1024];
    snprintf(spec, sizeof spec, "{%s, \"seed\": 9}", layers);
    swann_net *net = create_at(NULL, spec, ROWS);
    swann_model *model = NULL;
    CHECK_ST(swann_model_from_net(net, &model), SWANN_OK, "model from net");
    if (!model) { swann_destroy(net); return; }
    size_t in = swann_input_size(net), o = swann_output_size(net);
    float *x = malloc(ROWS * in * sizeof(float)), *ref = malloc(ROWS * o * sizeof(float));
    float *y = malloc(ROWS * o * sizeof(float));
    uint64_t rng = 17;
    for (size_t i = 0; i < ROWS * in; i++) x[i] = (float)rng_uniform(&rng, -1, 1);
    CHECK_ST(swann_forward(net, x, ROWS, ref), SWANN_OK, "forward");
    int cpu = cpu_level();
    for (int level = cpu; level >= 2; level--) {
        swann_session *s = session_at(LEVEL_NAMES[level], model, ROWS);
        const char *got = s ? swann_session_isa(s) : NULL;
        CHECKF(got && !strcmp(got, LEVEL_NAMES[level]), "a session reports its level", "asked %s, got %s",
               LEVEL_NAMES[level], got ? got : "NULL");
        int ok = s != NULL;
        for (size_t r = 0; ok && r < ROWS; r++) ok &= swann_session_run(s, x + r * in, 1, y + r * o) == SWANN_OK;
        CHECKF(ok && !memcmp(y, ref, ROWS * o * sizeof(float)), "session rows alone equal the net's batch, bit for bit",
               "input %zu, level %s: %s", in, LEVEL_NAMES[level], last_err());
        ok = s && swann_session_run(s, x, ROWS, y) == SWANN_OK;
        CHECKF(ok && !memcmp(y, ref, ROWS * o * sizeof(float)), "a session's whole batch equals the net's, bit for bit",
               "input %zu, level %s", in, LEVEL_NAMES[level]);
        swann_session_destroy(s);
    }
    free(x); free(ref); free(y);
    swann_model_destroy(model);
    swann_destroy(net);
}

static void sessions(void)
{
    session_of(NETS[0]);
    session_of(NETS[3]);
}

/* Few rows on weights without a packed copy (the host holds them through swann_params,
 * as in every training forward) whose rows lie 4 KB apart (1024 and 4096 inputs): the
 * AVX-512 level packs W's rows before it sums them (Gemm.fewRowsAliased), the AVX2 level
 * transposes them on the fly (Gemm.fewRows); every row alone and in batches of 2 to 5, and
 * a batch of 64 (the turned-around product), the same bits on both levels. 80 units:
 * a 64-column block and a 16-column one. */
static void few_rows_aliased(void)
{
    if (cpu_level() < 3) {
        printf("# skip: this CPU has no AVX-512, so there is one few-row product to compare\n");
        return;
    }
    static const size_t inputs[] = {1024, 4096};
    enum { R = 64, BATCHES = 6 };
    for (size_t w = 0; w < 2; w++) {
        char spec[320];
        snprintf(spec, sizeof spec, "{\"input\": %zu, \"layers\": [{\"units\": 80, \"activation\": \"relu\"}, "
                 "{\"units\": 8, \"activation\": \"identity\"}], \"loss\": \"mse\", \"seed\": 12}", inputs[w]);
        size_t in = inputs[w], o = 8, per = R * o;
        float *x = malloc(R * in * sizeof(float)), *y[2] = {calloc(BATCHES * per, sizeof(float)),
                                                             calloc(BATCHES * per, sizeof(float))};
        uint64_t rng = 23;
        for (size_t i = 0; i < R * in; i++) x[i] = (float)(rng_uniform(&rng, -2, 2) * (i % 3 ? 1 : 7.3));
        int ok = 1;
        for (int l = 0; l < 2; l++) {
            swann_net *net = create_at(l ? "avx2" : "avx512", spec, R);
            float *p = NULL;
            size_t count = 0;
            ok &= net && swann_params(net, &p, &count) == SWANN_OK;
            for (size_t b = 1; net && b <= 5; b++)
                for (size_t r = 0; r + b <= R; r += b)
                    ok &= swann_forward(net, x + r * in, b, y[l] + (b - 1) * per + r * o) == SWANN_OK;
            ok &= net && swann_forward(net, x, R, y[l] + 5 * per) == SWANN_OK;
            swann_destroy(net);
        }
        size_t differ = 0;
        for (size_t i = 0; i < BATCHES * per; i++) differ += memcmp(&y[0][i], &y[1][i], sizeof(float)) != 0;
        char what[160];
        snprintf(what, sizeof what, "%zu inputs: few rows on 4 KB-apart weights, AVX-512 and AVX2 give the same bits", in);
        CHECKF(ok && differ == 0, what, "%zu of %zu outputs differ (%s)", differ, (size_t)BATCHES * per,
               ok ? "all ran" : last_err());
        free(x); free(y[0]); free(y[1]);
    }
}

/* The baseline level (no AVX2, no FMA) runs everything and agrees closely: its
 * products round once more per term, so bits may differ (the one exemption). */
static void baseline(void)
{
    char spec[1024];
    snprintf(spec, sizeof spec, "{%s, \"optimizer\": %s, \"seed\": 4}", NETS[1], OPTIMIZERS[1]);
    float *pb = NULL, *pw = NULL, *yb = NULL, *yw = NULL;
    size_t cb = 0, cw = 0;
    int ok = train_at("baseline", spec, 1, &pb, &cb, &yb);
    ok &= train_at(NULL, spec, 1, &pw, &cw, &yw);
    CHECKF(ok && cb == cw, "trains on the baseline level", "%s", last_err());
    if (ok && cb == cw) {
        double worst = 0;
        for (size_t i = 0; i < cb; i++) worst = fmax(worst, fabs((double)pb[i] - pw[i]) / (1e-3 + fabs(pw[i])));
        CHECKF(worst < 1e-3, "baseline parameters within 1e-3 (relative) of the widest level's", "worst %.3g", worst);
    }
    free(pb); free(pw); free(yb); free(yw);
}

int main(void)
{
    check_init("test_isa");
    RUN_GROUP(choice);
    RUN_GROUP(bad_values);
    RUN_GROUP(same_bits);
    RUN_GROUP(sessions);
    RUN_GROUP(few_rows_aliased);
    RUN_GROUP(baseline);
    return check_finish();
}
