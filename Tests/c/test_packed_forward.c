/*
 * test_packed_forward.c -- a net's forward keeps its weights packed between calls
 * (the second forward on unchanged weights packs them, later ones reuse them), and
 * that copy never shows: every forward gives the bits of a net that cannot use it,
 * after steps and after the host writes weights through swann_params.
 *
 * The reference net is the same spec and seed with swann_params called once: from
 * then on the library cannot trust its weights to stay (swann.h, swann_forward's
 * cost), so it reads them as they lie on every call. Written as an outside host.
 *
 * Shapes: one row and few rows (the streamed path), 6 and more (the packed
 * product), 1 and 2 threads; layers of 1, 3, 5, 10, 16, 17, 64, 96, 130, 200 and 2100
 * units (partial and whole panels, several 64-column groups, two column blocks), inputs
 * below and above a kc block (784: three blocks).
 */
#include "check.h"

#define ROWS 70

static const char *NETS[] = {
    "\"input\": 784, \"layers\": [{\"units\": 130, \"activation\": \"relu\"}, "
    "{\"units\": 10, \"activation\": \"softmax\"}]",
    "\"input\": 7, \"layers\": [{\"units\": 17, \"activation\": \"tanh\"}, "
    "{\"units\": 64, \"activation\": \"elu\"}, {\"units\": 1, \"activation\": \"sigmoid\"}]",
    "\"input\": 333, \"layers\": [{\"units\": 200, \"activation\": \"gelu\"}, "
    "{\"units\": 16, \"activation\": \"leaky_relu\"}, {\"units\": 5, \"activation\": \"identity\"}]",
    /* wider than one packed column block (2048): the copy spans two */
    "\"input\": 100, \"layers\": [{\"units\": 2100, \"activation\": \"tanh\"}, "
    "{\"units\": 3, \"activation\": \"identity\"}]",
    /* whole 32-column panels and 64 or 68 rows of 784: on the AVX-512 level the tiles read
     * A's rows in place where a block of A is larger than L1 (Gemm.packedMultiply) */
    "\"input\": 784, \"layers\": [{\"units\": 96, \"activation\": \"relu\"}, "
    "{\"units\": 64, \"activation\": \"elu\"}, {\"units\": 10, \"activation\": \"softmax\"}]",
};

static const size_t BATCHES[] = {1, 1, 1, 3, 5, 6, 7, 64, 68, 70, 1, 2};

typedef struct {
    swann_net *net, *ref;
    size_t in, out;
    float *x, *target, *y, *yref;
    size_t mismatches, calls;
} pair;

/* Every batch of BATCHES through both nets: outputs compared bit for bit. */
static int forwards_agree(pair *p, const char *when, size_t k)
{
    int ok = 1;
    for (size_t b = 0; b < sizeof BATCHES / sizeof BATCHES[0]; b++) {
        size_t n = BATCHES[b], s0 = (b * 13) % (ROWS - n + 1);
        ok &= swann_forward(p->net, p->x + s0 * p->in, n, p->y) == SWANN_OK;
        ok &= swann_forward(p->ref, p->x + s0 * p->in, n, p->yref) == SWANN_OK;
        p->calls++;
        if (memcmp(p->y, p->yref, n * p->out * sizeof(float))) p->mismatches++;
    }
    CHECKF(ok, "forwards run", "net %zu %s: %s", k, when, last_err());
    return ok;
}

/* One training step on both nets from the same batch. */
static void step_both(pair *p, size_t rows, size_t k)
{
    float loss;
    int ok = swann_forward(p->net, p->x, rows, NULL) == SWANN_OK && swann_forward(p->ref, p->x, rows, NULL) == SWANN_OK
             && swann_backward(p->net, p->target, &loss, NULL) == SWANN_OK
             && swann_backward(p->ref, p->target, &loss, NULL) == SWANN_OK && swann_step(p->net) == SWANN_OK
             && swann_step(p->ref) == SWANN_OK;
    CHECKF(ok, "a step on both nets", "net %zu, %zu rows: %s", k, rows, last_err());
}

static void packed_copy_never_shows(void)
{
    for (size_t k = 0; k < sizeof NETS / sizeof NETS[0]; k++) {
        for (size_t threads = 1; threads <= 2; threads++) {
            char spec[1024];
            snprintf(spec, sizeof spec,
                     "{%s, \"loss\": \"mse\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.01, \"momentum\": 0.9}, "
                     "\"seed\": %zu, \"threads\": %zu}", NETS[k], k + 3, threads);
            pair p = {0};
            CHECKF(swann_create(spec, ROWS, NULL, 0, &p.net) == SWANN_OK
                       && swann_create(spec, ROWS, NULL, 0, &p.ref) == SWANN_OK,
                   "create both nets", "net %zu: %s", k, last_err());
            if (!p.net || !p.ref) {
                swann_destroy(p.net);
                swann_destroy(p.ref);
                continue;
            }
            float *refw = NULL, *w = NULL;
            size_t count = 0, count2 = 0;
            CHECK_ST(swann_params(p.ref, &refw, &count), SWANN_OK, "the reference shares its weights");
            p.in = swann_input_size(p.net);
            p.out = swann_output_size(p.net);
            p.x = malloc(ROWS * p.in * sizeof(float));
            p.target = malloc(ROWS * p.out * sizeof(float));
            p.y = malloc(ROWS * p.out * sizeof(float));
            p.yref = malloc(ROWS * p.out * sizeof(float));
            uint64_t rng = 5 + k;
            for (size_t i = 0; i < ROWS * p.in; i++) p.x[i] = (float)(rng_uniform(&rng, -2, 2) * (i % 3 ? 1 : 7.3));
            for (size_t i = 0; i < ROWS * p.out; i++) p.target[i] = (float)rng_uniform(&rng, 0, 1);

            forwards_agree(&p, "before any step", k);
            /* Steps of many rows, then of one row (an online loop), each followed by
             * forwards that build and then reuse the packed copy. */
            for (int s = 0; s < 3; s++) {
                step_both(&p, s == 2 ? 1 : ROWS, k);
                forwards_agree(&p, "after a step", k);
            }
            /* The host writes weights once the net was trusted: the net must read them. */
            swann_status st = SWANN_OK;
            for (int round = 0; round < 2; round++) {
                forwards_agree(&p, "before the host writes", k);
                st = swann_params(p.net, &w, &count2);
                if (st != SWANN_OK || count2 != count) break;
                for (size_t i = round; i < count; i += 7) {
                    w[i] = w[i] * -0.5f + 0.01f;
                    refw[i] = refw[i] * -0.5f + 0.01f;
                }
                forwards_agree(&p, "after the host wrote weights", k);
            }
            CHECK_ST(st, SWANN_OK, "swann_params on the packed net");
            step_both(&p, ROWS, k);
            forwards_agree(&p, "after a step on shared weights", k);

            char what[160];
            snprintf(what, sizeof what,
                     "net %zu, %zu thread(s): %zu forwards of 1-70 rows bit-identical to a net reading W in place",
                     k, threads, p.calls);
            CHECKF(p.mismatches == 0, what, "%zu of %zu differ", p.mismatches, p.calls);
            free(p.x);
            free(p.target);
            free(p.y);
            free(p.yref);
            swann_destroy(p.net);
            swann_destroy(p.ref);
        }
    }
}

/* The copy lives in the arena: a host's arena of exactly swann_arena_size bytes
 * holds it (test_noalloc counts the heap calls of such forwards). */
static void copy_fits_the_arena(void)
{
    const char *spec = "{\"input\": 784, \"layers\": [{\"units\": 128, \"activation\": \"relu\"}, "
                       "{\"units\": 10, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\"}";
    size_t bytes = 0;
    CHECK_ST(swann_arena_size(spec, 4, &bytes), SWANN_OK, "arena size");
    void *arena = aligned_alloc(64, (bytes + 63) / 64 * 64);
    swann_net *net = NULL;
    CHECK_ST(swann_create(spec, 4, arena, bytes - 64, &net), SWANN_E_ARENA, "64 bytes short is refused");
    CHECK_ST(swann_create(spec, 4, arena, bytes, &net), SWANN_OK, "create in the host's arena");
    if (net) {
        float x[784], y1[10], y2[10];
        for (int i = 0; i < 784; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
        int ok = 1;
        ok &= swann_forward(net, x, 1, y1) == SWANN_OK;
        for (int r = 0; r < 3; r++) ok &= swann_forward(net, x, 1, y2) == SWANN_OK;
        CHECKF(ok && !memcmp(y1, y2, sizeof y1), "one row, repeated, in the host's arena: the same bits", "%s",
               last_err());
        swann_destroy(net);
    }
    free(arena);
}

int main(void)
{
    check_init("test_packed_forward");
    RUN_GROUP(packed_copy_never_shows);
    RUN_GROUP(copy_fits_the_arena);
    return check_finish();
}
