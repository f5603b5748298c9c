/*
 * test_model.c -- models and sessions (swann_model_*, swann_session_*), written
 * from the contract (deploy.md, "Models and sessions") as an outside host:
 *   - every documented status: NULL, misaligned mem and bytes, corrupt and
 *     truncated bytes, unknown flag bits, destroy with live sessions (nothing
 *     freed) then after, batch 0 and above max_batch, NaN/Inf input, dead handles;
 *   - outputs bit-identical to swann_forward on the source net, for several
 *     nets (every activation, depths 1-4, a net with worker threads) and batch
 *     sizes, from every way of making a model: load, load with SWANN_MODEL_MAP,
 *     from_buffer (copied and in place), from_net, and model_save_buffer's bytes
 *     (as a model, and as a net through swann_load_buffer);
 *   - 8 threads x 1 model, each with its own session, bit-identical to
 *     swann_forward (also built under TSan by Tests/reliability/run.sh).
 * The heap-call checks are in test_noalloc.c.
 */
#include "check.h"

#include <pthread.h>
#include <stdalign.h>

#define MAXB 64

static const char *SPECS[] = {
    /* one layer */
    "{\"input\": 7, \"layers\": [{\"units\": 5, \"activation\": \"softmax\"}],"
    " \"loss\": \"cross_entropy\", \"seed\": 1}",
    /* two layers, adam state in the file (ignored by a model) */
    "{\"input\": 33, \"layers\": [{\"units\": 40, \"activation\": \"tanh\"}, {\"units\": 9, \"activation\": \"sigmoid\"}],"
    " \"loss\": \"mse\", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01}, \"seed\": 2}",
    /* four layers, the other activations */
    "{\"input\": 20, \"layers\": [{\"units\": 64, \"activation\": \"gelu\"}, {\"units\": 50, \"activation\": \"elu\"},"
    " {\"units\": 30, \"activation\": \"leaky_relu\", \"alpha\": 0.1}, {\"units\": 3, \"activation\": \"softplus\"}],"
    " \"loss\": \"mse\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.01, \"momentum\": 0.9}, \"seed\": 3}",
    /* wide enough for the blocked product, and trained with two threads */
    "{\"input\": 300, \"layers\": [{\"units\": 520, \"activation\": \"relu\"}, {\"units\": 130, \"activation\": \"identity\"},"
    " {\"units\": 10, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\", \"seed\": 4, \"threads\": 2}",
};
#define NSPECS (int)(sizeof SPECS / sizeof SPECS[0])
static const size_t BATCHES[] = {1, 2, 5, 6, 7, 17, 64};
#define NBATCHES (int)(sizeof BATCHES / sizeof BATCHES[0])

static char DIR_[256];

static float *rand_floats(size_t n, uint64_t seed)
{
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = (float)rng_uniform(&seed, -2, 2);
    return p;
}

/* A net with trained (not initial) parameters: a few steps on random targets. */
static swann_net *trained_net(int which)
{
    swann_net *net = NULL;
    if (swann_create(SPECS[which], MAXB, NULL, 0, &net) != SWANN_OK) return NULL;
    size_t in = swann_input_size(net), out = swann_output_size(net);
    float *x = rand_floats(MAXB * in, 100 + (uint64_t)which), *t = calloc(MAXB * out, sizeof(float));
    for (int r = 0; r < MAXB; r++) t[(size_t)r * out + (size_t)r % out] = 1;
    for (int s = 0; s < 3; s++) {
        swann_forward(net, x, MAXB, NULL);
        swann_backward(net, t, NULL, NULL);
        swann_step(net);
    }
    free(x);
    free(t);
    return net;
}

static void *aligned_block(size_t bytes)
{
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

/* Bytes of the net's model file, in a 64-aligned block (+ slack for shifting). */
static unsigned char *net_bytes(swann_net *net, size_t *size)
{
    size_t need = 0;
    swann_save_buffer(net, NULL, 0, &need);
    unsigned char *b = aligned_block(need + 64);
    if (b && swann_save_buffer(net, b, need, size) != SWANN_OK) {
        free(b);
        return NULL;
    }
    return b;
}

/* Runs the model on the same rows as swann_forward on the net, for every batch
 * size: 1 when every output is bit-identical. */
static int same_as_net(swann_model *model, swann_net *net, char *why, size_t cap)
{
    size_t in = swann_input_size(net), out = swann_output_size(net);
    if (swann_model_input_size(model) != in || swann_model_output_size(model) != out) {
        snprintf(why, cap, "sizes %zu/%zu vs %zu/%zu", swann_model_input_size(model), swann_model_output_size(model),
                 in, out);
        return 0;
    }
    float *x = rand_floats(MAXB * in + 1, 7), *y1 = malloc(MAXB * out * sizeof(float)),
          *y2 = malloc(MAXB * out * sizeof(float));
    swann_session *s = NULL;
    int ok = swann_session_create(model, MAXB, NULL, 0, &s) == SWANN_OK;
    if (!ok) snprintf(why, cap, "session_create: %s", swann_last_error());
    for (int i = 0; ok && i < NBATCHES; i++) {
        size_t b = BATCHES[i];
        /* twice on the session: the second run must not see the first (its rows
         * start one float later: x holds MAXB rows and one float) */
        for (int rep = 0; ok && rep < 2; rep++) {
            memset(y2, 0xff, MAXB * out * sizeof(float));
            if (swann_forward(net, x + rep, b, y1) != SWANN_OK ||
                swann_session_run(s, x + rep, b, y2) != SWANN_OK) {
                snprintf(why, cap, "batch %zu: %s", b, swann_last_error());
                ok = 0;
            } else if (memcmp(y1, y2, b * out * sizeof(float)) != 0) {
                snprintf(why, cap, "batch %zu: outputs differ (%.9g vs %.9g)", b, y1[0], y2[0]);
                ok = 0;
            }
        }
    }
    swann_session_destroy(s);
    free(x);
    free(y1);
    free(y2);
    return ok;
}

static void bit_identical_every_source(void)
{
    char what[256], why[256] = "";
    for (int k = 0; k < NSPECS; k++) {
        swann_net *net = trained_net(k);
        CHECKF(net != NULL, "trained net", "spec %d: %s", k, swann_last_error());
        if (!net) continue;
        char path[400];
        snprintf(path, sizeof path, "%s/m%d.safetensors", DIR_, k);
        CHECK_ST(swann_save(net, path), SWANN_OK, "save the net");
        size_t size = 0;
        unsigned char *bytes = net_bytes(net, &size);
        swann_model *m = NULL;
        swann_model *made[6] = {0};
        const char *how[6] = {"model_load", "model_load MAP", "from_buffer copied", "from_buffer in place",
                              "from_net", "from model_save_buffer bytes"};
        swann_status st[6];
        st[0] = swann_model_load(path, 0, &made[0]);
        st[1] = swann_model_load(path, SWANN_MODEL_MAP, &made[1]);
        st[2] = swann_model_from_buffer(bytes, size, NULL, 0, &made[2]);
        size_t mem_bytes = 0;
        CHECK_ST(swann_model_mem_size(bytes, size, &mem_bytes), SWANN_OK, "model_mem_size");
        void *mem = aligned_block(mem_bytes);
        st[3] = swann_model_from_buffer(bytes, size, mem, mem_bytes, &made[3]);
        st[4] = swann_model_from_net(net, &made[4]);
        /* a model's own bytes: spec and weights */
        size_t msize = 0, need = 0;
        unsigned char *mbytes = NULL;
        st[5] = SWANN_E_ARG;
        if (made[0] && swann_model_save_buffer(made[0], NULL, 0, &need) == SWANN_E_ARG && need > 0) {
            mbytes = aligned_block(need);
            if (swann_model_save_buffer(made[0], mbytes, need, &msize) == SWANN_OK)
                st[5] = swann_model_from_buffer(mbytes, msize, NULL, 0, &made[5]);
        }
        for (int i = 0; i < 6; i++) {
            snprintf(what, sizeof what, "spec %d, %s: OK", k, how[i]);
            CHECK_ST(st[i], SWANN_OK, what);
            if (!made[i]) continue;
            snprintf(what, sizeof what, "spec %d, %s: every batch bit-identical to swann_forward", k, how[i]);
            why[0] = 0;
            CHECKF(same_as_net(made[i], net, why, sizeof why), what, "%s", why);
        }
        /* the model's spec is the net's */
        char s1[4096], s2[4096];
        size_t n1 = 0, n2 = 0;
        if (made[4]) {
            CHECK(swann_spec_json(net, s1, sizeof s1, &n1) == SWANN_OK &&
                      swann_model_spec_json(made[4], s2, sizeof s2, &n2) == SWANN_OK && n1 == n2 && strcmp(s1, s2) == 0,
                  "model_spec_json gives the net's canonical spec");
        }
        /* model bytes load as a net that computes the same */
        if (mbytes && msize) {
            swann_net *back = NULL;
            CHECK_ST(swann_load_buffer(mbytes, msize, MAXB, NULL, 0, &back), SWANN_OK,
                     "model_save_buffer bytes load as a net (swann_load_buffer)");
            if (back && made[0]) {
                why[0] = 0;
                snprintf(what, sizeof what, "spec %d: the net from a model's bytes computes as the model", k);
                CHECKF(same_as_net(made[0], back, why, sizeof why), what, "%s", why);
            }
            swann_destroy(back);
            /* the same bytes from every model of this net */
            unsigned char *other = aligned_block(msize);
            size_t osize = 0;
            CHECK(made[4] && swann_model_save_buffer(made[4], other, msize, &osize) == SWANN_OK && osize == msize &&
                      memcmp(other, mbytes, msize) == 0,
                  "model_save_buffer: from_net and load give the same bytes");
            free(other);
            (void)m;
        }
        for (int i = 0; i < 6; i++) CHECK_ST(swann_model_destroy(made[i]), SWANN_OK, "model_destroy");
        free(mem);
        free(mbytes);
        free(bytes);
        swann_destroy(net);
    }
}

/* from_net is a snapshot: training the net afterwards does not change the model. */
static void from_net_is_a_snapshot(void)
{
    swann_net *net = trained_net(2), *copy = NULL;
    swann_model *m = NULL;
    size_t size = 0;
    unsigned char *bytes = net_bytes(net, &size);
    CHECK_ST(swann_model_from_net(net, &m), SWANN_OK, "model_from_net");
    CHECK_ST(swann_load_buffer(bytes, size, MAXB, NULL, 0, &copy), SWANN_OK, "a copy of the net");
    float *p;
    size_t n;
    swann_params(net, &p, &n);
    for (size_t i = 0; i < n; i++) p[i] *= 0.5f;
    char why[256] = "";
    CHECKF(m && copy && same_as_net(m, copy, why, sizeof why), "the model keeps the parameters it was made from",
           "%s", why);
    p[3] = NAN;
    swann_model *bad = (swann_model *)0x1;
    CHECK_ST(swann_model_from_net(net, &bad), SWANN_E_NUMERIC, "model_from_net: a NaN parameter");
    CHECK(bad == NULL, "failed model_from_net sets *out to NULL");
    CHECK(strstr(swann_last_error(), "model_from_net") != NULL, "the message names the call");
    swann_model_destroy(m);
    swann_destroy(copy);
    swann_destroy(net);
    free(bytes);
}

static void statuses(void)
{
    swann_net *net = trained_net(1);
    size_t size = 0;
    unsigned char *bytes = net_bytes(net, &size);
    char path[400];
    snprintf(path, sizeof path, "%s/s.safetensors", DIR_);
    swann_save(net, path);
    swann_model *m = (swann_model *)0x1;
    size_t mem_bytes = 0;

    /* model_load */
    CHECK_ST(swann_model_load(NULL, 0, &m), SWANN_E_ARG, "model_load: path NULL");
    CHECK(m == NULL, "model_load: a failure sets *out to NULL");
    CHECK_ST(swann_model_load("", 0, &m), SWANN_E_ARG, "model_load: path empty");
    CHECK_ST(swann_model_load(path, 0, NULL), SWANN_E_ARG, "model_load: out NULL");
    CHECK_ST(swann_model_load(path, 2, &m), SWANN_E_ARG, "model_load: unknown flag bit 2");
    CHECK_ST(swann_model_load(path, SWANN_MODEL_MAP | 0x80000000u, &m), SWANN_E_ARG, "model_load: unknown high bit");
    CHECK(strstr(swann_last_error(), "model_load") && strstr(swann_last_error(), "flag"), "the message names the flags");
    char missing[400];
    snprintf(missing, sizeof missing, "%s/none.safetensors", DIR_);
    CHECK_ST(swann_model_load(missing, 0, &m), SWANN_E_IO, "model_load: no such file");
    CHECK_ST(swann_model_load(missing, SWANN_MODEL_MAP, &m), SWANN_E_IO, "model_load MAP: no such file");
    CHECK_ST(swann_model_load(DIR_, SWANN_MODEL_MAP, &m), SWANN_E_IO, "model_load MAP: a folder");
    char corrupt[400];
    snprintf(corrupt, sizeof corrupt, "%s/c.safetensors", DIR_);
    FILE *f = fopen(corrupt, "wb");
    fwrite(bytes, 1, size / 2, f); /* truncated */
    fclose(f);
    CHECK_ST(swann_model_load(corrupt, 0, &m), SWANN_E_FORMAT, "model_load: a truncated file");
    CHECK_ST(swann_model_load(corrupt, SWANN_MODEL_MAP, &m), SWANN_E_FORMAT, "model_load MAP: a truncated file");
    f = fopen(corrupt, "wb");
    fwrite(bytes, 1, 5, f);
    fclose(f);
    CHECK_ST(swann_model_load(corrupt, SWANN_MODEL_MAP, &m), SWANN_E_FORMAT, "model_load MAP: a 5-byte file");
    CHECK(m == NULL, "model_load: *out NULL after a failure");

    /* mem_size and from_buffer: arguments */
    CHECK_ST(swann_model_mem_size(NULL, size, &mem_bytes), SWANN_E_ARG, "model_mem_size: bytes NULL");
    CHECK_ST(swann_model_mem_size(bytes, 0, &mem_bytes), SWANN_E_ARG, "model_mem_size: size 0");
    CHECK_ST(swann_model_mem_size(bytes, size, NULL), SWANN_E_ARG, "model_mem_size: mem_bytes NULL");
    CHECK_ST(swann_model_mem_size(bytes, size, &mem_bytes), SWANN_OK, "model_mem_size");
    CHECK(mem_bytes > 0 && mem_bytes < size, "the bookkeeping is smaller than the bytes (weights stay in place)");
    unsigned char *mem = aligned_block(mem_bytes + 128);
    CHECK_ST(swann_model_from_buffer(NULL, size, NULL, 0, &m), SWANN_E_ARG, "from_buffer: bytes NULL");
    CHECK_ST(swann_model_from_buffer(bytes, 0, NULL, 0, &m), SWANN_E_ARG, "from_buffer: size 0");
    CHECK_ST(swann_model_from_buffer(bytes, size, NULL, 0, NULL), SWANN_E_ARG, "from_buffer: out NULL");
    CHECK_ST(swann_model_from_buffer(bytes, size, NULL, 64, &m), SWANN_E_ARG, "from_buffer: mem NULL, mem_bytes 64");
    CHECK_ST(swann_model_from_buffer(bytes, size, mem + 8, mem_bytes, &m), SWANN_E_ARENA,
             "from_buffer: mem not 64-byte aligned");
    CHECK_ST(swann_model_from_buffer(bytes, size, mem, mem_bytes - 1, &m), SWANN_E_ARENA,
             "from_buffer: mem one byte short");
    CHECK(strstr(swann_last_error(), "model_from_buffer") != NULL, "the message names the call");
    /* misaligned bytes: refused in place, fine when copied */
    unsigned char *shifted = aligned_block(size + 8);
    memcpy(shifted + 1, bytes, size);
    CHECK_ST(swann_model_from_buffer(shifted + 1, size, mem, mem_bytes, &m), SWANN_E_ARG,
             "from_buffer in place: tensors not 4-byte aligned");
    CHECK(strstr(swann_last_error(), "aligned") != NULL, "the message says what is misaligned");
    CHECK_ST(swann_model_from_buffer(shifted + 1, size, NULL, 0, &m), SWANN_OK, "from_buffer copied: any alignment");
    CHECK_ST(swann_model_destroy(m), SWANN_OK, "destroy it");
    /* a header one space longer: every tensor 1 byte past a 4-byte boundary,
     * even in aligned memory. In place refused; mapped, the tensors are copied. */
    {
        uint64_t n;
        memcpy(&n, bytes, 8);
        unsigned char *odd = aligned_block(size + 1);
        uint64_t n1 = n + 1;
        memcpy(odd, &n1, 8);
        memcpy(odd + 8, bytes + 8, n);
        odd[8 + n] = ' ';
        memcpy(odd + 8 + n + 1, bytes + 8 + n, size - 8 - n);
        size_t oddmem = 0;
        CHECK_ST(swann_model_mem_size(odd, size + 1, &oddmem), SWANN_OK, "model_mem_size: odd header length");
        void *om = aligned_block(oddmem);
        CHECK_ST(swann_model_from_buffer(odd, size + 1, om, oddmem, &m), SWANN_E_ARG,
                 "from_buffer in place: tensors misaligned in the file");
        char oddpath[400];
        snprintf(oddpath, sizeof oddpath, "%s/odd.safetensors", DIR_);
        FILE *of = fopen(oddpath, "wb");
        fwrite(odd, 1, size + 1, of);
        fclose(of);
        swann_model *mm = NULL;
        CHECK_ST(swann_model_load(oddpath, SWANN_MODEL_MAP, &mm), SWANN_OK, "model_load MAP: misaligned tensors copied");
        char why[256] = "";
        CHECKF(mm && same_as_net(mm, net, why, sizeof why), "the mapped model with copied tensors computes as the net",
               "%s", why);
        swann_model_destroy(mm);
        free(om);
        free(odd);
    }
    /* corrupt, truncated, non-finite bytes */
    unsigned char *bad = aligned_block(size);
    memcpy(bad, bytes, size);
    bad[12] = '!';
    CHECK_ST(swann_model_from_buffer(bad, size, NULL, 0, &m), SWANN_E_FORMAT, "from_buffer: corrupt header");
    CHECK_ST(swann_model_mem_size(bad, size, &mem_bytes), SWANN_E_FORMAT, "model_mem_size: corrupt header");
    CHECK_ST(swann_model_from_buffer(bytes, size - 1, NULL, 0, &m), SWANN_E_FORMAT, "from_buffer: one byte short");
    CHECK_ST(swann_model_from_buffer(bytes, size - 1, mem, mem_bytes, &m), SWANN_E_FORMAT,
             "from_buffer in place: one byte short");
    CHECK_ST(swann_model_from_buffer(bytes, 7, NULL, 0, &m), SWANN_E_FORMAT, "from_buffer: 7 bytes");
    memcpy(bad, bytes, size);
    float nan = NAN;
    uint64_t hl;
    memcpy(&hl, bytes, 8);
    /* the data: optimizer.step (8 bytes), then layers.0.weight */
    memcpy(bad + 8 + hl + 8 + 4, &nan, 4);
    CHECK_ST(swann_model_from_buffer(bad, size, NULL, 0, &m), SWANN_E_FORMAT, "from_buffer copied: a NaN weight");
    CHECK_ST(swann_model_from_buffer(bad, size, mem, mem_bytes, &m), SWANN_E_FORMAT,
             "from_buffer in place: a NaN weight");
    CHECK(strstr(swann_last_error(), "NaN") != NULL, "the message says NaN");
    CHECK(m == NULL, "from_buffer: *out NULL after a failure");

    /* a model in the host's mem; sessions; destroy */
    CHECK_ST(swann_model_mem_size(bytes, size, &mem_bytes), SWANN_OK, "model_mem_size again");
    CHECK_ST(swann_model_from_buffer(bytes, size, mem, mem_bytes, &m), SWANN_OK, "from_buffer in place");
    size_t in = swann_model_input_size(m), out = swann_model_output_size(m);
    CHECK(in == 33 && out == 9, "model input and output sizes");
    CHECK(swann_model_input_size(NULL) == 0 && swann_model_output_size(NULL) == 0, "sizes of NULL are 0");
    char js[8];
    size_t need = 0;
    CHECK_ST(swann_model_spec_json(m, js, sizeof js, &need), SWANN_E_ARG, "model_spec_json: cap too small");
    CHECK(need > sizeof js, "model_spec_json: needed is set");
    CHECK_ST(swann_model_spec_json(NULL, js, sizeof js, &need), SWANN_E_ARG, "model_spec_json: NULL model");
    CHECK_ST(swann_model_save_buffer(m, NULL, 0, &need), SWANN_E_ARG, "model_save_buffer: asks the size");
    CHECK(need > 0 && need < size, "model bytes are smaller than the net's (no optimizer state)");
    CHECK_ST(swann_model_save_buffer(m, NULL, 10, &need), SWANN_E_ARG, "model_save_buffer: buf NULL, cap 10");
    CHECK_ST(swann_model_save_buffer(m, bad, need - 1, &need), SWANN_E_ARG, "model_save_buffer: cap one short");
    CHECK_ST(swann_model_save_buffer(m, bad, need, NULL), SWANN_E_ARG, "model_save_buffer: needed NULL");
    CHECK_ST(swann_model_save_buffer(NULL, bad, need, &need), SWANN_E_ARG, "model_save_buffer: NULL model");

    size_t ab = 0;
    CHECK_ST(swann_session_arena_size(NULL, 4, &ab), SWANN_E_ARG, "session_arena_size: NULL model");
    CHECK_ST(swann_session_arena_size(m, 0, &ab), SWANN_E_ARG, "session_arena_size: max_batch 0");
    CHECK_ST(swann_session_arena_size(m, SIZE_MAX, &ab), SWANN_E_ARG, "session_arena_size: max_batch SIZE_MAX");
    CHECK_ST(swann_session_arena_size(m, 4, NULL), SWANN_E_ARG, "session_arena_size: bytes NULL");
    CHECK_ST(swann_session_arena_size(m, 4, &ab), SWANN_OK, "session_arena_size");
    unsigned char *arena = aligned_block(ab + 128);
    swann_session *s = (swann_session *)0x1;
    CHECK_ST(swann_session_create(NULL, 4, NULL, 0, &s), SWANN_E_ARG, "session_create: NULL model");
    CHECK(s == NULL, "session_create: a failure sets *out to NULL");
    CHECK_ST(swann_session_create(m, 0, NULL, 0, &s), SWANN_E_ARG, "session_create: max_batch 0");
    CHECK_ST(swann_session_create(m, 4, NULL, 0, NULL), SWANN_E_ARG, "session_create: out NULL");
    CHECK_ST(swann_session_create(m, 4, NULL, 64, &s), SWANN_E_ARG, "session_create: arena NULL, bytes 64");
    CHECK_ST(swann_session_create(m, 4, arena + 16, ab, &s), SWANN_E_ARENA, "session_create: arena misaligned");
    CHECK_ST(swann_session_create(m, 4, arena, ab - 1, &s), SWANN_E_ARENA, "session_create: arena one byte short");
    CHECK_ST(swann_session_create(m, 4, arena, ab, &s), SWANN_OK, "session_create: host arena");
    swann_session *s2 = NULL;
    CHECK_ST(swann_session_create(m, 2, NULL, 0, &s2), SWANN_OK, "session_create: library arena");

    float x[4 * 33], y[4 * 9], y2[4 * 9];
    uint64_t seed = 3;
    for (int i = 0; i < 4 * 33; i++) x[i] = (float)rng_uniform(&seed, -1, 1);
    CHECK_ST(swann_session_run(s, x, 0, y), SWANN_E_SHAPE, "session_run: batch 0");
    CHECK_ST(swann_session_run(s, x, 5, y), SWANN_E_SHAPE, "session_run: batch above max_batch");
    CHECK(strstr(swann_last_error(), "session_run") != NULL, "the message names the call");
    CHECK_ST(swann_session_run(s, x, SIZE_MAX, y), SWANN_E_SHAPE, "session_run: batch SIZE_MAX");
    CHECK_ST(swann_session_run(s2, x, 3, y), SWANN_E_SHAPE, "session_run: batch 3 on a max_batch 2 session");
    CHECK_ST(swann_session_run(s, NULL, 1, y), SWANN_E_ARG, "session_run: x NULL");
    CHECK_ST(swann_session_run(s, x, 1, NULL), SWANN_E_ARG, "session_run: y NULL");
    CHECK_ST(swann_session_run(NULL, x, 1, y), SWANN_E_ARG, "session_run: session NULL");
    CHECK_ST(swann_session_run((swann_session *)m, x, 1, y), SWANN_E_ARG, "session_run: a model is not a session");
    float xn[4 * 33];
    memcpy(xn, x, sizeof x);
    xn[40] = NAN;
    for (int i = 0; i < 4 * 9; i++) y[i] = 42;
    CHECK_ST(swann_session_run(s, xn, 2, y), SWANN_E_NUMERIC, "session_run: NaN input");
    CHECK(y[0] == 42 && y[35] == 42, "session_run: y untouched on NaN input");
    xn[40] = INFINITY;
    CHECK_ST(swann_session_run(s, xn, 2, y), SWANN_E_NUMERIC, "session_run: Inf input");
    xn[40] = -INFINITY;
    CHECK_ST(swann_session_run(s, xn, 1, y), SWANN_OK, "session_run: the bad value outside the batch is not read");
    CHECK_ST(swann_session_run(s, x, 4, y), SWANN_OK, "session_run");

    /* destroy with live sessions: refused, nothing freed */
    CHECK_ST(swann_model_destroy(m), SWANN_E_STATE, "model_destroy: two live sessions");
    CHECK(strstr(swann_last_error(), "model_destroy") != NULL && strstr(swann_last_error(), "2") != NULL,
          "the message names the call and the count");
    CHECK_ST(swann_session_run(s, x, 4, y2), SWANN_OK, "the model still runs after the refusal");
    CHECK(memcmp(y, y2, sizeof y) == 0, "and gives the same outputs");
    swann_session_destroy(s2);
    CHECK_ST(swann_model_destroy(m), SWANN_E_STATE, "model_destroy: one live session");
    swann_session_destroy(s);
    swann_session_destroy(s); /* a dead session: no-op */
    swann_session_destroy(NULL);
    CHECK_ST(swann_session_run(s, x, 1, y), SWANN_E_ARG, "session_run: a destroyed session");
    CHECK_ST(swann_model_destroy(m), SWANN_OK, "model_destroy after the sessions");
    CHECK_ST(swann_model_destroy(m), SWANN_E_ARG, "model_destroy: a destroyed model");
    CHECK_ST(swann_model_destroy(NULL), SWANN_OK, "model_destroy: NULL");
    CHECK(swann_model_input_size(m) == 0, "a destroyed model has size 0");
    CHECK_ST(swann_session_create(m, 1, NULL, 0, &s), SWANN_E_ARG, "session_create: a destroyed model");
    CHECK_ST(swann_session_arena_size(m, 1, &ab), SWANN_E_ARG, "session_arena_size: a destroyed model");
    CHECK_ST(swann_model_save_buffer(m, NULL, 0, &need), SWANN_E_ARG, "model_save_buffer: a destroyed model");
    CHECK_ST(swann_model_from_net(NULL, &m), SWANN_E_ARG, "model_from_net: NULL net");
    CHECK_ST(swann_model_from_net(net, NULL), SWANN_E_ARG, "model_from_net: out NULL");

    free(arena);
    free(mem);
    free(bad);
    free(shifted);
    free(bytes);
    swann_destroy(net);
}

/* ---- 8 threads x 1 model ---------------------------------------------------- */
#define THREADS 8
#define ITERS 40
static swann_model *shared_model;
static float *tx, *texpect;
static size_t tin, tout;
struct worker {
    int index, bad;
};

static void *worker(void *arg)
{
    struct worker *w = arg;
    swann_session *s = NULL;
    if (swann_session_create(shared_model, MAXB, NULL, 0, &s) != SWANN_OK) {
        w->bad = 1000;
        return NULL;
    }
    float *y = malloc(MAXB * tout * sizeof(float));
    for (int it = 0; it < ITERS; it++) {
        size_t b = BATCHES[(size_t)(it + w->index) % NBATCHES];
        size_t row = (size_t)(it * 3 + w->index) % 8;
        if (swann_session_run(s, tx + row * tin, b, y) != SWANN_OK) {
            w->bad++;
            continue;
        }
        /* texpect[row][b]: swann_forward of the same rows at the same batch */
        const float *want = texpect + ((row * NBATCHES) + (size_t)((it + w->index) % NBATCHES)) * MAXB * tout;
        if (memcmp(y, want, b * tout * sizeof(float)) != 0) w->bad++;
    }
    free(y);
    swann_session_destroy(s);
    return NULL;
}

static void eight_threads_one_model(void)
{
    swann_net *net = trained_net(3);
    char path[400];
    snprintf(path, sizeof path, "%s/t.safetensors", DIR_);
    CHECK_ST(swann_save(net, path), SWANN_OK, "save");
    CHECK_ST(swann_model_load(path, SWANN_MODEL_MAP, &shared_model), SWANN_OK, "model_load MAP");
    if (!shared_model) return;
    tin = swann_input_size(net);
    tout = swann_output_size(net);
    tx = rand_floats((MAXB + 8) * tin, 9);
    texpect = malloc(8 * NBATCHES * MAXB * tout * sizeof(float));
    for (size_t row = 0; row < 8; row++)
        for (int i = 0; i < NBATCHES; i++)
            swann_forward(net, tx + row * tin, BATCHES[i], texpect + (row * NBATCHES + (size_t)i) * MAXB * tout);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].index = i;
        w[i].bad = 0;
        pthread_create(&th[i], NULL, worker, &w[i]);
    }
    int bad = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        bad += w[i].bad;
    }
    CHECKF(bad == 0, "8 threads, one session each on one mapped model: every output bit-identical to swann_forward",
           "%d runs wrong or failed", bad);
    CHECK_ST(swann_model_destroy(shared_model), SWANN_OK, "model_destroy once the threads' sessions are gone");
    free(tx);
    free(texpect);
    swann_destroy(net);
}

/* Sessions are small: about two activation buffers of the widest layer. */
static void session_is_small(void)
{
    swann_net *net = trained_net(3);
    swann_model *m = NULL;
    swann_model_from_net(net, &m);
    size_t s1 = 0, s64 = 0, netb = 0;
    swann_session_arena_size(m, 1, &s1);
    swann_session_arena_size(m, MAXB, &s64);
    swann_arena_size(SPECS[3], MAXB, &netb);
    /* widest layer 520 floats: two buffers of 64 rows = 266 KB, plus packing */
    CHECKF(s64 >= 2 * 64 * 520 * 4 && s64 < netb / 4, "a session arena is a fraction of a net's arena",
           "session %zu, net %zu", s64, netb);
    CHECKF(s1 < s64, "a max_batch 1 session is smaller", "%zu vs %zu", s1, s64);
    swann_model_destroy(m);
    swann_destroy(net);
}

int main(void)
{
    check_init("test_model");
    snprintf(DIR_, sizeof DIR_, "%s/swann-model-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(DIR_)) {
        perror("mkdtemp");
        return 2;
    }
    RUN_GROUP(bit_identical_every_source);
    RUN_GROUP(from_net_is_a_snapshot);
    RUN_GROUP(statuses);
    RUN_GROUP(eight_threads_one_model);
    RUN_GROUP(session_is_small);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DIR_);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", DIR_);
    return check_finish();
}
