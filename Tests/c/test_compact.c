/*
 * test_compact.c -- compact models (swann_model_quantize, swann_model_save;
 * deploy.md, "Compact weights"), written from the contract as an outside host:
 *   - session outputs of f16 and int8 models equal, bit for bit, a scalar C
 *     reference of the documented arithmetic (quantization, exact int32 sums,
 *     the fixed float order), for several shapes (tails of 8 and 16) and batches
 *     (whole tiles and the rows left over: the f16 kernel runs tiles of 4 rows on
 *     AVX-512, 2 on AVX2, single rows alone; eights on strips of two blocks, then
 *     fours and single rows, whole and part blocks: the VNNI int8 kernel's tiles);
 *   - the int8 worst case: every weight and input at +-127 in the widest layer
 *     int8 allows (133144 inputs) sums without overflow; one input more is refused;
 *   - the file round trip: swann_model_save / save_buffer bytes agree, and load,
 *     load with SWANN_MODEL_MAP, from_buffer (copied and in place) give the same
 *     bits; swann_load refuses a compact file; a float32 model's file has no
 *     "swann.weights" (older versions read it);
 *   - bad files (wrong dtype, shape, zero / negative / NaN scales, -128, f16 Inf,
 *     unknown swann.weights, truncation): SWANN_E_FORMAT; bad arguments: SWANN_E_ARG;
 *   - the packed int8 layout (VNNI's vpdpbusd on q + 128): its widest layer (66311
 *     inputs) at the extremes, one input more (the row path), and sessions made on
 *     every CPU level (SWANN_ISA) of one process giving the same bits;
 *   - four threads, one model, one session each: the same bits;
 *   - accuracy against the float32 model on a W1-shaped net (f16 <= 1e-3).
 */
#include "check.h"

#include <pthread.h>

#define MAXB 32

static char DIR_[256];

/* Relu hidden layers and an identity output: the reference needs no libm. */
static const char *SPECS[] = {
    "{\"input\": 784, \"layers\": [{\"units\": 512, \"activation\": \"relu\"},"
    " {\"units\": 256, \"activation\": \"relu\"},"
    " {\"units\": 10, \"activation\": \"identity\"}], \"loss\": \"mse\", \"seed\": 11}",
    "{\"input\": 37, \"layers\": [{\"units\": 13, \"activation\": \"relu\"}, {\"units\": 21, \"activation\": \"relu\"},"
    " {\"units\": 3, \"activation\": \"identity\"}], \"loss\": \"mse\", \"seed\": 12}",
    "{\"input\": 5, \"layers\": [{\"units\": 1, \"activation\": \"identity\"}], \"loss\": \"mse\", \"seed\": 13}",
    /* tails of 7 inputs, blocks of 16 columns plus 1, exactly 16, 8 plus 1 */
    "{\"input\": 23, \"layers\": [{\"units\": 33, \"activation\": \"relu\"}, {\"units\": 16, \"activation\": \"relu\"},"
    " {\"units\": 9, \"activation\": \"identity\"}], \"loss\": \"mse\", \"seed\": 14}",
    /* the VNNI kernel's tiles on an odd width (450 inputs: 113 groups of four) with fewer
       than four blocks and a part one (40 columns: 16, 16, 8) */
    "{\"input\": 450, \"layers\": [{\"units\": 40, \"activation\": \"relu\"},"
    " {\"units\": 7, \"activation\": \"identity\"}], \"loss\": \"mse\", \"seed\": 15}",
};
#define NSPECS (int)(sizeof SPECS / sizeof SPECS[0])
static const size_t BATCHES[] = {1, 3, 4, 5, 8, 13, 17, 32};
#define NBATCHES (int)(sizeof BATCHES / sizeof BATCHES[0])

/* ---- the scalar reference ------------------------------------------------ */

typedef struct {
    size_t in, out;
    int relu;
    const float *w, *b; /* float32 [out, in], [out] */
} layer;

typedef struct {
    int n;
    layer l[4];
} shape;

/* The layers of a net, read through swann_params (each layer's weight, then bias). */
static shape net_shape(swann_net *net, const char *spec)
{
    shape s = {0};
    float *p = NULL;
    size_t count = 0;
    swann_params(net, &p, &count);
    size_t in = swann_input_size(net);
    const char *u = spec;
    while ((u = strstr(u, "\"units\": ")) != NULL) {
        layer *l = &s.l[s.n++];
        l->in = in;
        l->out = (size_t)atol(u + 9);
        l->relu = strncmp(strstr(u, "\"activation\": ") + 14, "\"relu\"", 6) == 0;
        l->w = p;
        p += l->in * l->out;
        l->b = p;
        p += l->out;
        in = l->out;
        u += 9;
    }
    return s;
}

/* q = round(v * (127 / m)) clamped to -127...127; returns the scale m / 127 (0 for a zero row). */
static float quantize_row(const float *v, size_t n, size_t stride, signed char *q)
{
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(v[i * stride]));
    if (!(m >= 1e-30f)) {
        for (size_t i = 0; i < n; i++) q[i] = 0;
        return 0;
    }
    float inv = 127.0f / m;
    for (size_t i = 0; i < n; i++) q[i] = (signed char)fminf(fmaxf(rintf(v[i * stride] * inv), -127), 127);
    return m / 127.0f;
}

/* One layer of the int8 model for one row x, into z. */
static void ref_int8(const layer *l, const float *x, float *z)
{
    signed char *qx = malloc(l->in), *qw = malloc(l->in);
    float sx = quantize_row(x, l->in, 1, qx);
    for (size_t j = 0; j < l->out; j++) {
        float sw = quantize_row(l->w + j * l->in, l->in, 1, qw);
        if (sw == 0) sw = 1;
        long long d = 0;
        for (size_t i = 0; i < l->in; i++) d += (long long)qx[i] * qw[i];
        z[j] = (float)(int)d * (sx * sw) + l->b[j];
        if (l->relu) z[j] = fmaxf(z[j], 0);
    }
    free(qx);
    free(qw);
}

/* One layer of the f16 model: 8 fma lanes, the tail into lanes 0, 1, ..., then the fixed tree. */
static void ref_f16(const layer *l, const float *x, float *z)
{
    size_t n8 = l->in - l->in % 8;
    for (size_t j = 0; j < l->out; j++) {
        float a[8] = {0};
        for (size_t i = 0; i < l->in; i++) {
            float w = (float)(_Float16)l->w[j * l->in + i];
            size_t lane = i < n8 ? i % 8 : i - n8;
            a[lane] = fmaf(w, x[i], a[lane]);
        }
        float s = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
        z[j] = s + l->b[j];
        if (l->relu) z[j] = fmaxf(z[j], 0);
    }
}

/* The float32 model in double (for accuracy only). */
static void ref_f64(const layer *l, const float *x, float *z)
{
    for (size_t j = 0; j < l->out; j++) {
        double s = l->b[j];
        for (size_t i = 0; i < l->in; i++) s += (double)l->w[j * l->in + i] * x[i];
        z[j] = (float)(l->relu && s < 0 ? 0 : s);
    }
}

/* The reference's output rows for `batch` rows of x: dtype 16 or 8 (or 32: float32 in double). */
static void reference(const shape *s, int dtype, const float *x, size_t batch, float *y)
{
    float *a = malloc(1024 * sizeof(float)), *b = malloc(1024 * sizeof(float));
    for (size_t r = 0; r < batch; r++) {
        const float *prev = x + r * s->l[0].in;
        for (int k = 0; k < s->n; k++) {
            float *out = (k & 1) ? b : a;
            if (dtype == 8) ref_int8(&s->l[k], prev, out);
            else if (dtype == 16) ref_f16(&s->l[k], prev, out);
            else ref_f64(&s->l[k], prev, out);
            prev = out;
        }
        memcpy(y + r * s->l[s->n - 1].out, prev, s->l[s->n - 1].out * sizeof(float));
    }
    free(a);
    free(b);
}

/* ---- helpers -------------------------------------------------------------- */

static float *rand_floats(size_t n, uint64_t seed, double lo, double hi)
{
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = (float)rng_uniform(&seed, lo, hi);
    return p;
}

static swann_net *make_net(int which)
{
    swann_net *net = NULL;
    if (swann_create(SPECS[which], MAXB, NULL, 0, &net) != SWANN_OK) return NULL;
    return net;
}

/* Runs batch rows of x through a fresh session of m; the number of values differing from want. */
static size_t run_diff(swann_model *m, const float *x, size_t batch, const float *want, size_t out)
{
    swann_session *s = NULL;
    if (swann_session_create(m, MAXB, NULL, 0, &s) != SWANN_OK) return (size_t)-1;
    float *y = calloc(batch * out, sizeof(float));
    size_t bad = 0;
    if (swann_session_run(s, x, batch, y) != SWANN_OK) bad = (size_t)-1;
    else
        for (size_t i = 0; i < batch * out; i++) bad += y[i] != want[i];
    free(y);
    swann_session_destroy(s);
    return bad;
}

static unsigned char *model_bytes(swann_model *m, size_t *size)
{
    size_t need = 0;
    swann_model_save_buffer(m, NULL, 0, &need);
    unsigned char *b = test_aligned_block(need + 64);
    *size = need;
    if (b && swann_model_save_buffer(m, b, need, &need) != SWANN_OK) *size = 0;
    return b;
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    *size = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

/* [begin, end) of a tensor's data in model-file bytes (from its header entry), or 0. */
static int tensor_span(const unsigned char *bytes, const char *name, size_t *begin, size_t *end)
{
    uint64_t n;
    memcpy(&n, bytes, 8);
    char key[128];
    snprintf(key, sizeof key, "\"%s\":", name);
    char *h = strndup((const char *)bytes + 8, (size_t)n);
    char *e = strstr(h, key);
    char *d = e ? strstr(e, "\"data_offsets\":[") : NULL;
    int ok = d && sscanf(d, "\"data_offsets\":[%zu,%zu]", begin, end) == 2;
    free(h);
    *begin += 8 + n;
    *end += 8 + n;
    return ok;
}

/* Loads mutated bytes as a model; the status. */
static swann_status load_bytes(const unsigned char *bytes, size_t size)
{
    swann_model *m = NULL;
    swann_status st = swann_model_from_buffer(bytes, size, NULL, 0, &m);
    swann_model_destroy(m);
    return st;
}

/* Replaces the first `what` in the header with `with` (same length). */
static int patch(unsigned char *bytes, const char *what, const char *with)
{
    uint64_t n;
    memcpy(&n, bytes, 8);
    char *h = (char *)bytes + 8;
    for (size_t i = 0; i + strlen(what) <= n; i++)
        if (memcmp(h + i, what, strlen(what)) == 0) {
            memcpy(h + i, with, strlen(with));
            return 1;
        }
    return 0;
}

/* ---- groups ------------------------------------------------------------------ */

static void matches_reference(void)
{
    for (int which = 0; which < NSPECS; which++) {
        swann_net *net = make_net(which);
        CHECK(net != NULL, "create a net");
        if (!net) continue;
        shape s = net_shape(net, SPECS[which]);
        swann_model *m32 = NULL, *m16 = NULL, *m8 = NULL;
        swann_model_from_net(net, &m32);
        CHECK_ST(swann_model_quantize(m32, "f16", &m16), SWANN_OK, "quantize f16");
        CHECK_ST(swann_model_quantize(m32, "int8", &m8), SWANN_OK, "quantize int8");
        size_t in = s.l[0].in, out = s.l[s.n - 1].out;
        float *x = rand_floats(MAXB * in, 7 + (uint64_t)which, -1, 1);
        float *want = malloc(MAXB * out * sizeof(float));
        for (int dt = 0; dt < 2; dt++) {
            swann_model *m = dt ? m8 : m16;
            reference(&s, dt ? 8 : 16, x, MAXB, want);
            for (int bi = 0; bi < NBATCHES; bi++) {
                /* every batch: rows equal the reference's, row by row (so batch-invariant) */
                size_t bad = run_diff(m, x, BATCHES[bi], want, out);
                CHECKF(bad == 0, "compact session equals the scalar reference bit for bit",
                       "spec %d %s batch %zu: %zu values differ", which, dt ? "int8" : "f16", BATCHES[bi], bad);
            }
        }
        free(x);
        free(want);
        swann_model_destroy(m8);
        swann_model_destroy(m16);
        swann_model_destroy(m32);
        swann_destroy(net);
    }
}

static void int8_worst_case(void)
{
    const size_t widest = 133144; /* Int32.max / (127 * 127) */
    char spec[256];
    snprintf(spec, sizeof spec,
             "{\"input\": %zu, \"layers\": [{\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"mse\"}", widest);
    swann_net *net = NULL;
    CHECK_ST(swann_create(spec, 1, NULL, 0, &net), SWANN_OK, "create the widest int8 layer");
    float *p = NULL;
    size_t count = 0;
    swann_params(net, &p, &count);
    /* row 0: +-1 (q = +-127); row 1: the same negated; biases 0; x: the signs of row 0 */
    float *x = malloc(widest * sizeof(float));
    for (size_t i = 0; i < widest; i++) {
        float v = (i % 3 == 1) ? -1.0f : 1.0f;
        p[i] = v;
        p[widest + i] = -v;
        x[i] = v;
    }
    p[2 * widest] = p[2 * widest + 1] = 0;
    swann_model *m32 = NULL, *m8 = NULL;
    swann_model_from_net(net, &m32);
    CHECK_ST(swann_model_quantize(m32, "int8", &m8), SWANN_OK, "quantize the widest int8 layer");
    swann_session *s = NULL;
    swann_session_create(m8, 1, NULL, 0, &s);
    float y[2] = {0, 0};
    CHECK_ST(swann_session_run(s, x, 1, y), SWANN_OK, "run it");
    /* the sums are +-127 * 127 * 133144 = +-2147479576, in Int32 */
    float want = (float)2147479576 * ((1.0f / 127.0f) * (1.0f / 127.0f));
    CHECKF(y[0] == want && y[1] == -want, "+-127 x +-127 in every product: the exact sums, no overflow",
           "y %.9g %.9g, want +-%.9g", y[0], y[1], want);
    CHECKF(fabsf(y[0] - 133144.0f) < 1, "and the value is the float32 product's", "%.9g", y[0]);
    for (size_t i = 0; i < widest; i++) x[i] = -x[i];
    swann_session_run(s, x, 1, y);
    CHECKF(y[0] == -want && y[1] == want, "negated inputs: the negated sums", "%.9g %.9g", y[0], y[1]);
    swann_session_destroy(s);
    swann_model_destroy(m8);
    swann_model_destroy(m32);
    swann_destroy(net);
    free(x);

    snprintf(spec, sizeof spec,
             "{\"input\": %zu, \"layers\": [{\"units\": 1, \"activation\": \"identity\"}], \"loss\": \"mse\"}",
             widest + 1);
    CHECK_ST(swann_create(spec, 1, NULL, 0, &net), SWANN_OK, "create a layer one input wider");
    swann_model_from_net(net, &m32);
    m8 = (swann_model *)1;
    CHECK_ST(swann_model_quantize(m32, "int8", &m8), SWANN_E_ARG, "int8 refuses 133145 inputs");
    CHECKF(strstr(swann_last_error(), "133144") != NULL && m8 == NULL, "the message names the limit; out NULL",
           "%s", swann_last_error());
    swann_model *m16 = NULL;
    CHECK_ST(swann_model_quantize(m32, "f16", &m16), SWANN_OK, "f16 has no such limit");
    swann_model_destroy(m16);
    swann_model_destroy(m32);
    swann_destroy(net);
}

/* The packed int8 path (Compact.packedMaxInputs): each Int32 lane sums (q + 128) * w,
 * at most 255 * 127 * 66311 = 2147480535 in magnitude. Every input +1 (q = 127, fed as
 * 255) against weights +-1 (+-127) reaches it in both signs; -1 (fed as 1) the other
 * extreme. One input more runs the row path. Both give the exact sums. */
static void packed_worst_case(void)
{
    const size_t sizes[2] = {66311, 66312};
    for (int k = 0; k < 2; k++) {
        size_t n = sizes[k];
        char spec[256];
        snprintf(spec, sizeof spec,
                 "{\"input\": %zu, \"layers\": [{\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"mse\"}", n);
        swann_net *net = NULL;
        CHECK_ST(swann_create(spec, 1, NULL, 0, &net), SWANN_OK, "create a layer at the packed bound");
        if (!net) continue;
        float *p = NULL;
        size_t count = 0;
        swann_params(net, &p, &count);
        float *x = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            p[i] = 1;
            p[n + i] = -1;
            x[i] = 1;
        }
        p[2 * n] = p[2 * n + 1] = 0;
        swann_model *m32 = NULL, *m8 = NULL;
        swann_model_from_net(net, &m32);
        CHECK_ST(swann_model_quantize(m32, "int8", &m8), SWANN_OK, "quantize it");
        swann_session *s = NULL;
        swann_session_create(m8, 1, NULL, 0, &s);
        float y[2] = {0, 0};
        CHECK_ST(swann_session_run(s, x, 1, y), SWANN_OK, "run it");
        float want = (float)(16129.0 * (double)n) * ((1.0f / 127.0f) * (1.0f / 127.0f));
        CHECKF(y[0] == want && y[1] == -want, "q + 128 = 255 x +-127 in every product: the exact sums",
               "n %zu: y %.9g %.9g, want +-%.9g", n, y[0], y[1], want);
        for (size_t i = 0; i < n; i++) x[i] = -1;
        swann_session_run(s, x, 1, y);
        CHECKF(y[0] == -want && y[1] == want, "q + 128 = 1: the exact negated sums", "n %zu: %.9g %.9g", n, y[0],
               y[1]);
        swann_session_destroy(s);
        swann_model_destroy(m8);
        swann_model_destroy(m32);
        swann_destroy(net);
        free(x);
    }
}

/* Sessions made under each SWANN_ISA in one process: the same bits, for odd shapes and
 * batches. int8: the widest level (VNNI's packed kernel on a CPU with AVX512_VNNI),
 * AVX2's and the baseline's row kernels. f16: AVX-512's 4-row and AVX2's 2-row tiles
 * and the baseline's row kernel. Levels the CPU lacks fall back to its widest. */
static void levels_same_bits(void)
{
    static const char *levels[3] = {"", "avx2", "baseline"};
    const char *saved = getenv("SWANN_ISA");
    char keep[32] = "";
    if (saved) snprintf(keep, sizeof keep, "%s", saved);
    for (int which = 0; which < NSPECS; which++) {
        swann_net *net = make_net(which);
        if (!net) continue;
        swann_model *m32 = NULL, *mc[2] = {NULL, NULL};
        swann_model_from_net(net, &m32);
        swann_model_quantize(m32, "int8", &mc[0]);
        swann_model_quantize(m32, "f16", &mc[1]);
        size_t in = swann_input_size(net), out = swann_output_size(net);
        float *x = rand_floats(MAXB * in, 31 + (uint64_t)which, -3, 3);
        for (int dt = 0; dt < 2; dt++) {
            float *y[3];
            swann_session *s[3];
            for (int l = 0; l < 3; l++) {
                if (*levels[l]) setenv("SWANN_ISA", levels[l], 1);
                else unsetenv("SWANN_ISA");
                s[l] = NULL;
                CHECK_ST(swann_session_create(mc[dt], MAXB, NULL, 0, &s[l]), SWANN_OK, "a session at each level");
                y[l] = calloc(MAXB * out, sizeof(float));
            }
            for (int bi = 0; bi < NBATCHES; bi++) {
                for (int l = 0; l < 3; l++) swann_session_run(s[l], x, BATCHES[bi], y[l]);
                size_t n = BATCHES[bi] * out;
                CHECKF(!memcmp(y[0], y[1], n * sizeof(float)) && !memcmp(y[0], y[2], n * sizeof(float)),
                       "the widest level, AVX2 and the baseline give the same bits",
                       "%s spec %d batch %zu", dt ? "f16" : "int8", which, BATCHES[bi]);
            }
            for (int l = 0; l < 3; l++) {
                swann_session_destroy(s[l]);
                free(y[l]);
            }
            swann_model_destroy(mc[dt]);
        }
        free(x);
        swann_model_destroy(m32);
        swann_destroy(net);
    }
    if (saved) setenv("SWANN_ISA", keep, 1);
    else unsetenv("SWANN_ISA");
}

static void round_trip(void)
{
    swann_net *net = make_net(0);
    shape s = net_shape(net, SPECS[0]);
    swann_model *m32 = NULL;
    swann_model_from_net(net, &m32);
    size_t in = s.l[0].in, out = s.l[s.n - 1].out;
    float *x = rand_floats(MAXB * in, 99, -1, 1);
    float *want = malloc(MAXB * out * sizeof(float));
    size_t bytes32 = 0;
    {
        unsigned char *b = model_bytes(m32, &bytes32);
        char path[300];
        snprintf(path, sizeof path, "%s/f32.safetensors", DIR_);
        CHECK_ST(swann_model_save(m32, path), SWANN_OK, "model_save a float32 model");
        size_t n = 0;
        unsigned char *f = read_file(path, &n);
        CHECK(f && n == bytes32 && memcmp(f, b, n) == 0, "float32: model_save's file is model_save_buffer's bytes");
        CHECK(f && !memmem(f, n, "swann.weights", 13), "float32: no swann.weights (older versions read the file)");
        swann_net *back = NULL;
        CHECK_ST(swann_load(path, 4, NULL, 0, &back), SWANN_OK, "float32: swann_load reads model_save's file");
        swann_destroy(back);
        free(f);
        test_free_block(b, bytes32 + 64);
    }
    const char *names[2] = {"f16", "int8"};
    for (int dt = 0; dt < 2; dt++) {
        swann_model *m = NULL;
        swann_model_quantize(m32, names[dt], &m);
        reference(&s, dt ? 8 : 16, x, MAXB, want);
        char path[300];
        snprintf(path, sizeof path, "%s/%s.safetensors", DIR_, names[dt]);
        CHECK_ST(swann_model_save(m, path), SWANN_OK, "model_save a compact model");
        size_t size = 0, n = 0;
        unsigned char *b = model_bytes(m, &size);
        unsigned char *f = read_file(path, &n);
        CHECKF(f && n == size && memcmp(f, b, n) == 0, "the file is model_save_buffer's bytes", "%s", names[dt]);
        CHECKF(size < bytes32 / (dt ? 3 : 1.9), "the file is 2x / 4x smaller", "%s: %zu vs %zu bytes", names[dt],
               size, bytes32);
        size_t b0, e0;
        CHECK(tensor_span(b, "layers.0.bias", &b0, &e0), "the header lists layers.0.bias");
        size_t bw, ew;
        CHECK(tensor_span(b, "layers.0.weight", &bw, &ew) && bw > b0, "F32 tensors come before the compact weights");
        CHECK(ew - bw == 784 * 512 * (dt ? 1u : 2u), "the weight's bytes are its dtype's");

        swann_model *l0 = NULL, *l1 = NULL, *l2 = NULL, *l3 = NULL;
        CHECK_ST(swann_model_load(path, 0, &l0), SWANN_OK, "model_load reads it");
        CHECK_ST(swann_model_load(path, SWANN_MODEL_MAP, &l1), SWANN_OK, "model_load with SWANN_MODEL_MAP reads it");
        CHECK_ST(swann_model_from_buffer(b, size, NULL, 0, &l2), SWANN_OK, "model_from_buffer (copy) reads it");
        size_t mem_bytes = 0;
        swann_model_mem_size(b, size, &mem_bytes);
        void *mem = test_aligned_block(mem_bytes);
        CHECK_ST(swann_model_from_buffer(b, size, mem, mem_bytes, &l3), SWANN_OK,
                 "model_from_buffer (in place) reads it");
        swann_model *all[5] = {m, l0, l1, l2, l3};
        for (int i = 0; i < 5; i++) {
            size_t bad = run_diff(all[i], x, 17, want, out);
            CHECKF(bad == 0, "every way in runs the reference's bits", "%s way %d: %zu differ", names[dt], i, bad);
        }
        size_t again = 0;
        unsigned char *b2 = model_bytes(l1, &again);
        CHECK(again == size && memcmp(b2, b, size) == 0, "a loaded compact model saves the same bytes");
        test_free_block(b2, again + 64);
        for (int i = 1; i < 5; i++) swann_model_destroy(all[i]);
        test_free_block(mem, mem_bytes);

        swann_net *net2 = NULL;
        CHECK_ST(swann_load(path, 1, NULL, 0, &net2), SWANN_E_FORMAT, "swann_load refuses a compact file");
        CHECKF(strstr(swann_last_error(), "as a model") != NULL, "and says to load it as a model", "%s",
               swann_last_error());
        CHECK_ST(swann_load_buffer(b, size, 1, NULL, 0, &net2), SWANN_E_FORMAT, "swann_load_buffer refuses it too");
        size_t need = 0;
        CHECK_ST(swann_load_size(path, 1, &need), SWANN_E_FORMAT, "swann_load_size refuses it too");
        swann_model *twice = NULL;
        CHECK_ST(swann_model_quantize(m, "int8", &twice), SWANN_E_ARG, "a compact model is not quantized again");
        free(f);
        test_free_block(b, size + 64);
        swann_model_destroy(m);
    }
    free(x);
    free(want);
    swann_model_destroy(m32);
    swann_destroy(net);
}

/* Inputs near float's limit overflow a layer's sums to Inf and NaN (as they would
 * in float32): the next int8 layer quantizes such rows without trapping. */
static void huge_inputs(void)
{
    for (int which = 0; which < 2; which++) {
        swann_net *net = make_net(which ? 1 : 2);
        swann_model *m32 = NULL, *m8 = NULL, *m16 = NULL;
        swann_model_from_net(net, &m32);
        swann_model_quantize(m32, "int8", &m8);
        swann_model_quantize(m32, "f16", &m16);
        size_t in = swann_model_input_size(m32);
        float x[3 * 64], y[3 * 8];
        for (size_t i = 0; i < 3 * in; i++) x[i] = (i % 2 ? -3e38f : 3e38f) * (i < in ? 1.0f : 0.5f);
        swann_model *ms[2] = {m8, m16};
        for (int d = 0; d < 2; d++) {
            swann_session *s = NULL;
            swann_session_create(ms[d], 4, NULL, 0, &s);
            CHECK_ST(swann_session_run(s, x, 3, y), SWANN_OK, "rows near FLT_MAX run (Inf / NaN out, no trap)");
            swann_session_destroy(s);
        }
        swann_model_destroy(m8);
        swann_model_destroy(m16);
        swann_model_destroy(m32);
        swann_destroy(net);
    }
}

/* A hidden row holding a NaN before a larger number: the next int8 layer must not
 * quantize the NaN (an int8 conversion of NaN traps). The first layer makes it: the
 * input row [3e38, 0] has scale 3e38 / 127, and a weight row [0, 1e5] has 1e5 / 127,
 * so that unit's sum 0 times the scales' product (Inf) is NaN; zero weight rows give
 * their bias, 5. The NaN sits first (two units: the scalar tail) and ninth of ten
 * (past the eight-lane part). The output is NaN, and the call returns. */
static void nan_in_hidden_row(void)
{
    const size_t units[2] = {2, 10}, nan_at[2] = {0, 8};
    for (int c = 0; c < 2; c++) {
        char spec[256];
        snprintf(spec, sizeof spec,
                 "{\"input\": 2, \"layers\": [{\"units\": %zu, \"activation\": \"identity\"}, "
                 "{\"units\": 1, \"activation\": \"identity\"}], \"loss\": \"mse\", "
                 "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1}}", units[c]);
        swann_net *net = NULL;
        CHECK_ST(swann_create(spec, 1, NULL, 0, &net), SWANN_OK, "create the NaN-making net");
        if (!net) continue;
        float *p = NULL;
        size_t count = 0;
        swann_params(net, &p, &count);
        size_t h = units[c];
        for (size_t i = 0; i < count; i++) p[i] = 0;
        p[nan_at[c] * 2 + 1] = 1e5f;                                   /* W1[nan_at] = [0, 1e5] */
        for (size_t j = 0; j < h; j++) p[2 * h + j] = j == nan_at[c] ? 0 : 5;  /* b1 */
        for (size_t j = 0; j < h; j++) p[3 * h + j] = 1;              /* W2 */
        swann_model *m32 = NULL, *m8 = NULL;
        swann_model_from_net(net, &m32);
        CHECK_ST(swann_model_quantize(m32, "int8", &m8), SWANN_OK, "quantize the NaN-making net");
        swann_session *s = NULL;
        swann_session_create(m8, 1, NULL, 0, &s);
        float x[2] = {3e38f, 0}, y[1] = {0};
        CHECKF(swann_session_run(s, x, 1, y) == SWANN_OK && isnan(y[0]),
               "a hidden row [.., NaN, 5, ..] gives NaN out, no trap", "units %zu: %s, y %g", h, last_err(), y[0]);
        swann_session_destroy(s);
        swann_model_destroy(m8);
        swann_model_destroy(m32);
        swann_destroy(net);
    }
}

/* A non-finite input is SWANN_E_NUMERIC for every dtype, wherever it sits in a row (the
 * 16-lane part or the tail of a 37-wide row) and whichever row of the batch, with y
 * untouched; a value beyond the batch is not read. (An int8 session on VNNI finds it in
 * its first layer's row scales instead of a pass of its own: Session.swift.) */
static void nonfinite_input_refused(void)
{
    swann_net *net = NULL;
    CHECK_ST(swann_create("{\"input\": 37, \"layers\": [{\"units\": 19, \"activation\": \"relu\"}, "
                          "{\"units\": 5, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\", "
                          "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1}, \"seed\": 4}",
                          4, NULL, 0, &net), SWANN_OK, "create the 37-19-5 net");
    if (!net) return;
    swann_model *m32 = NULL;
    swann_model_from_net(net, &m32);
    const char *dtypes[] = {"f32", "f16", "int8"};
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const size_t at[] = {3, 35};  /* in the first 16 lanes; in the tail past 32 */
    float *x = rand_floats(4 * 37, 5, -1, 1), y[4 * 5];
    for (int d = 0; d < 3; d++) {
        swann_model *m = m32;
        if (d > 0) CHECK_ST(swann_model_quantize(m32, dtypes[d], &m), SWANN_OK, "quantize the 37-19-5 net");
        swann_session *s = NULL;
        CHECK_ST(swann_session_create(m, 4, NULL, 0, &s), SWANN_OK, "a session of max_batch 4");
        for (int b = 0; b < 3; b++)
            for (int a = 0; a < 2; a++)
                for (size_t row = 0; row < 3; row += 2) {
                    float keep = x[row * 37 + at[a]];
                    x[row * 37 + at[a]] = bad[b];
                    for (int i = 0; i < 4 * 5; i++) y[i] = 42;
                    swann_status st = swann_session_run(s, x, 3, y);
                    int untouched = 1;
                    for (int i = 0; i < 4 * 5; i++) untouched &= y[i] == 42;
                    CHECKF(st == SWANN_E_NUMERIC && untouched && strstr(last_err(), "NaN or Inf"),
                           "a non-finite input is SWANN_E_NUMERIC, y untouched", "%s, %g at row %zu column %zu: "
                           "status %d, y %s: %s", dtypes[d], bad[b], row, at[a], st, untouched ? "untouched" : "written",
                           last_err());
                    x[row * 37 + at[a]] = keep;
                }
        x[3 * 37 + 35] = NAN;
        CHECK_ST(swann_session_run(s, x, 3, y), SWANN_OK, "a NaN in the row after the batch is not read");
        CHECK_ST(swann_session_run(s, x, 4, y), SWANN_E_NUMERIC, "... and is refused once the batch holds it");
        x[3 * 37 + 35] = 0.5f;
        swann_session_destroy(s);
        if (m != m32) swann_model_destroy(m);
    }
    free(x);
    swann_model_destroy(m32);
    swann_destroy(net);
}

static void bad_files(void)
{
    swann_net *net = make_net(1);
    swann_model *m32 = NULL, *m8 = NULL, *m16 = NULL;
    swann_model_from_net(net, &m32);
    swann_model *out = (swann_model *)1;
    CHECK_ST(swann_model_quantize(m32, "int4", &out), SWANN_E_ARG, "unknown dtype: SWANN_E_ARG");
    CHECKF(out == NULL && strstr(swann_last_error(), "model_quantize") && strstr(swann_last_error(), "int4"),
           "the message names the call and the dtype", "%s", swann_last_error());
    CHECK_ST(swann_model_quantize(m32, NULL, &out), SWANN_E_ARG, "dtype NULL: SWANN_E_ARG");
    CHECK_ST(swann_model_quantize(m32, "f16", NULL), SWANN_E_ARG, "out NULL: SWANN_E_ARG");
    CHECK_ST(swann_model_quantize(NULL, "f16", &out), SWANN_E_ARG, "model NULL: SWANN_E_ARG");
    CHECK_ST(swann_model_save(m32, NULL), SWANN_E_ARG, "model_save path NULL: SWANN_E_ARG");
    CHECK_ST(swann_model_save(NULL, "/tmp/x"), SWANN_E_ARG, "model_save model NULL: SWANN_E_ARG");
    swann_model_quantize(m32, "int8", &m8);
    swann_model_quantize(m32, "f16", &m16);
    size_t n8 = 0, n16 = 0;
    unsigned char *b8 = model_bytes(m8, &n8), *b16 = model_bytes(m16, &n16);
    unsigned char *c = malloc(n8 > n16 ? n8 : n16);
    CHECK_ST(load_bytes(b8, n8), SWANN_OK, "the int8 bytes load");
    CHECK_ST(load_bytes(b16, n16), SWANN_OK, "the f16 bytes load");

    struct { const char *what, *with, *name; } headers[] = {
        {"\"swann.weights\":\"int8\"", "\"swann.weights\":\"int4\"", "unknown swann.weights"},
        {",\"swann.weights\":\"int8\"", "                       ", "no swann.weights: I8 where F32 is needed"},
        {"\"dtype\":\"I8\"", "\"dtype\":\"U8\"", "a weight of dtype U8"},
        {"\"layers.0.weight_scale\"", "\"layers.0.weight_scalf\"", "an unknown tensor instead of a scale"},
        {"\"shape\":[13]", "\"shape\":[12]", "a wrong shape"},
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        memcpy(c, b8, n8);
        int found = patch(c, headers[i].what, headers[i].with);
        CHECK_ST(found ? load_bytes(c, n8) : SWANN_OK, SWANN_E_FORMAT, headers[i].name);
    }
    memcpy(c, b16, n16);
    patch(c, "\"dtype\":\"F16\"", "\"dtype\":\"F32\"");
    CHECK_ST(load_bytes(c, n16), SWANN_E_FORMAT, "f16: a weight of dtype F32");

    size_t bs, es, bw, ew;
    tensor_span(b8, "layers.1.weight_scale", &bs, &es);
    tensor_span(b8, "layers.1.weight", &bw, &ew);
    float bad_scales[3] = {0.0f, -0.5f, NAN};
    const char *scale_names[3] = {"a zero scale", "a negative scale", "a NaN scale"};
    for (int i = 0; i < 3; i++) {
        memcpy(c, b8, n8);
        memcpy(c + bs + 4 * 5, &bad_scales[i], 4);
        swann_status st = load_bytes(c, n8);
        CHECK_ST(st, SWANN_E_FORMAT, scale_names[i]);
        CHECKF(strstr(swann_last_error(), "layers.1.weight_scale") != NULL, "the message names the tensor", "%s",
               swann_last_error());
    }
    memcpy(c, b8, n8);
    c[bw + 7] = 0x80;
    CHECK_ST(load_bytes(c, n8), SWANN_E_FORMAT, "an int8 weight of -128");
    tensor_span(b16, "layers.0.weight", &bw, &ew);
    memcpy(c, b16, n16);
    c[bw + 2 * 3] = 0x00;
    c[bw + 2 * 3 + 1] = 0x7C; /* +Inf */
    CHECK_ST(load_bytes(c, n16), SWANN_E_FORMAT, "an f16 weight of Inf");
    memcpy(c, b16, n16);
    c[bw + 1] = 0xFE; /* NaN */
    CHECK_ST(load_bytes(c, n16), SWANN_E_FORMAT, "an f16 weight of NaN");
    /* every truncation of both files is refused, with no crash */
    size_t cuts = 0, taken = 0;
    for (size_t cut = 0; cut < n8; cut += 1 + cut / 64, cuts++) taken += load_bytes(b8, cut) == SWANN_OK;
    for (size_t cut = 0; cut < n16; cut += 1 + cut / 64, cuts++) taken += load_bytes(b16, cut) == SWANN_OK;
    CHECKF(taken == 0, "every truncation of the f16 and int8 files is refused", "%zu of %zu loaded", taken, cuts);
    free(c);
    test_free_block(b8, n8 + 64);
    test_free_block(b16, n16 + 64);
    swann_model_destroy(m8);
    swann_model_destroy(m16);
    swann_model_destroy(m32);
    swann_destroy(net);
}

typedef struct {
    swann_model *m;
    const float *x;
    float *y;
    size_t batch, out;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    swann_session *s = NULL;
    swann_session_create(j->m, MAXB, NULL, 0, &s);
    for (int rep = 0; rep < 20; rep++) swann_session_run(s, j->x, j->batch, j->y);
    swann_session_destroy(s);
    return NULL;
}

static void threads_same_bits(void)
{
    swann_net *net = make_net(0);
    swann_model *m32 = NULL;
    swann_model_from_net(net, &m32);
    const char *names[2] = {"f16", "int8"};
    float *x = rand_floats(MAXB * 784, 5, -1, 1);
    for (int dt = 0; dt < 2; dt++) {
        swann_model *m = NULL;
        swann_model_quantize(m32, names[dt], &m);
        float *ys = calloc(4 * MAXB * 10, sizeof(float));
        pthread_t th[4];
        job jobs[4];
        for (int t = 0; t < 4; t++) {
            jobs[t] = (job){m, x, ys + t * MAXB * 10, (size_t)(t == 3 ? 1 : MAXB), 10};
            pthread_create(&th[t], NULL, run_job, &jobs[t]);
        }
        for (int t = 0; t < 4; t++) pthread_join(th[t], NULL);
        int same = memcmp(ys, ys + MAXB * 10, MAXB * 10 * sizeof(float)) == 0 &&
                   memcmp(ys, ys + 2 * MAXB * 10, MAXB * 10 * sizeof(float)) == 0 &&
                   memcmp(ys, ys + 3 * MAXB * 10, 10 * sizeof(float)) == 0;
        CHECKF(same, "four threads, four sessions, one model: the same bits", "%s", names[dt]);
        free(ys);
        swann_model_destroy(m);
    }
    free(x);
    swann_model_destroy(m32);
    swann_destroy(net);
}

static void accuracy(void)
{
    /* W1-shaped (784-512-256-10), weights scaled as trained nets' are */
    swann_net *net = make_net(0);
    shape s = net_shape(net, SPECS[0]);
    swann_model *m32 = NULL, *m16 = NULL, *m8 = NULL;
    swann_model_from_net(net, &m32);
    swann_model_quantize(m32, "f16", &m16);
    swann_model_quantize(m32, "int8", &m8);
    float *x = rand_floats(MAXB * 784, 17, 0, 1);
    float *y32 = malloc(MAXB * 10 * sizeof(float)), *y = malloc(MAXB * 10 * sizeof(float));
    float *yd = malloc(MAXB * 10 * sizeof(float));
    reference(&s, 32, x, MAXB, yd);
    swann_session *s32 = NULL, *s16 = NULL, *s8 = NULL;
    swann_session_create(m32, MAXB, NULL, 0, &s32);
    swann_session_create(m16, MAXB, NULL, 0, &s16);
    swann_session_create(m8, MAXB, NULL, 0, &s8);
    swann_session_run(s32, x, MAXB, y32);
    double range = 0, d32 = 0, d16 = 0, d8 = 0;
    for (int i = 0; i < MAXB * 10; i++) {
        range = fmax(range, fabs(y32[i]));
        d32 = fmax(d32, fabs(y32[i] - yd[i]));
    }
    swann_session_run(s16, x, MAXB, y);
    for (int i = 0; i < MAXB * 10; i++) d16 = fmax(d16, fabs(y[i] - y32[i]));
    swann_session_run(s8, x, MAXB, y);
    for (int i = 0; i < MAXB * 10; i++) d8 = fmax(d8, fabs(y[i] - y32[i]));
    printf("# W1-shaped net, outputs up to %.3g: largest difference from float32: f16 %.3g, int8 %.3g "
           "(float32 from double %.3g)\n", range, d16, d8, d32);
    CHECKF(d16 <= 1e-3, "f16 within 1e-3 of float32 on a W1-shaped net", "%.3g", d16);
    CHECKF(d8 <= 0.05 * range, "int8 within 5% of the output range", "%.3g of %.3g", d8, range);
    swann_session_destroy(s32);
    swann_session_destroy(s16);
    swann_session_destroy(s8);
    free(x);
    free(y32);
    free(y);
    free(yd);
    swann_model_destroy(m8);
    swann_model_destroy(m16);
    swann_model_destroy(m32);
    swann_destroy(net);
}

int main(void)
{
    check_init("test_compact");
    snprintf(DIR_, sizeof DIR_, "%s/swann-compact-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(DIR_)) {
        perror("mkdtemp");
        return 2;
    }
    RUN_GROUP(matches_reference);
    RUN_GROUP(int8_worst_case);
    RUN_GROUP(packed_worst_case);
    RUN_GROUP(levels_same_bits);
    RUN_GROUP(round_trip);
    RUN_GROUP(huge_inputs);
    RUN_GROUP(nan_in_hidden_row);
    RUN_GROUP(nonfinite_input_refused);
    RUN_GROUP(bad_files);
    RUN_GROUP(threads_same_bits);
    RUN_GROUP(accuracy);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DIR_);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", DIR_);
    return check_finish();
}
