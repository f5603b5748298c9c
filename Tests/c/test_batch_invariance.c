/*
 * test_batch_invariance.c -- swann_forward gives every row the same bits
 * whatever the batch it is in (deploy.md, added to contract v1): a row run
 * alone, in batches of 2 ... 130 at different positions, with 1 or 2 threads,
 * comes out bit-identical (memcmp). Written as an outside host: only swann.h.
 *
 * The nets cover the product's shapes: inputs of 1, 3, 7, 8, 9 and 784 floats
 * (shorter and longer than a SIMD vector), layers of 1, 5, 16, 17 and 130
 * units (one column, a partial panel, one full panel, a panel and one more,
 * several panels), and every activation; and a 256 x 1024 layer in batches up
 * to 576, on both sides of the largest batch its forward turns around, with every
 * elementwise activation, and a 1024 x 256 layer after it that reads its rows.
 */
#include "check.h"

#define ROWS 130

static const char *NETS[] = {
    "\"input\": 1, \"layers\": [{\"units\": 5, \"activation\": \"relu\"}, "
    "{\"units\": 1, \"activation\": \"identity\"}]",
    "\"input\": 3, \"layers\": [{\"units\": 17, \"activation\": \"tanh\"}, "
    "{\"units\": 16, \"activation\": \"sigmoid\"}, {\"units\": 5, \"activation\": \"softmax\"}]",
    "\"input\": 7, \"layers\": [{\"units\": 130, \"activation\": \"leaky_relu\"}, "
    "{\"units\": 17, \"activation\": \"elu\"}, {\"units\": 1, \"activation\": \"sigmoid\"}]",
    "\"input\": 8, \"layers\": [{\"units\": 16, \"activation\": \"softplus\"}, "
    "{\"units\": 130, \"activation\": \"gelu\"}, {\"units\": 16, \"activation\": \"identity\"}]",
    "\"input\": 9, \"layers\": [{\"units\": 1, \"activation\": \"tanh\"}, "
    "{\"units\": 17, \"activation\": \"relu\"}, {\"units\": 5, \"activation\": \"softmax\"}]",
    "\"input\": 784, \"layers\": [{\"units\": 130, \"activation\": \"gelu\"}, "
    "{\"units\": 17, \"activation\": \"softplus\"}, {\"units\": 130, \"activation\": \"elu\"}, "
    "{\"units\": 16, \"activation\": \"leaky_relu\"}, {\"units\": 5, \"activation\": \"identity\"}]",
};

static const size_t BATCHES[] = {2, 3, 4, 5, 6, 7, 13, 64, 130};

/* Every row of x through nets at `threads` 1 and 2, alone and in each batch size
 * at three starting rows (so a row sits first, inside and last): all equal to
 * the row alone on one thread. */
static void rows_agree(void)
{
    for (size_t k = 0; k < sizeof NETS / sizeof NETS[0]; k++) {
        char spec[1024];
        snprintf(spec, sizeof spec, "{%s, \"loss\": \"mse\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1}, "
                 "\"seed\": %zu, \"threads\": 2}", NETS[k], k + 1);
        swann_net *net = NULL;
        CHECKF(swann_create(spec, ROWS, NULL, 0, &net) == SWANN_OK, "create net", "net %zu: %s", k, last_err());
        if (!net) continue;
        size_t in = swann_input_size(net), out = swann_output_size(net);
        float *x = malloc(ROWS * in * sizeof(float));
        float *ref = malloc(ROWS * out * sizeof(float));
        float *y = malloc(ROWS * out * sizeof(float));
        uint64_t rng = 11 + k;
        /* Inputs of mixed magnitude, so that a change of summation order shows in the last bits. */
        for (size_t i = 0; i < ROWS * in; i++) x[i] = (float)(rng_uniform(&rng, -2, 2) * (i % 3 ? 1 : 7.3));
        int ok = 1;
        swann_set_threads(net, 1);
        for (size_t r = 0; r < ROWS; r++) ok &= swann_forward(net, x + r * in, 1, ref + r * out) == SWANN_OK;
        CHECKF(ok, "every row alone runs", "net %zu: %s", k, last_err());

        for (size_t threads = 1; threads <= 2; threads++) {
            CHECK_ST(swann_set_threads(net, threads), SWANN_OK, "set threads");
            size_t mismatches = 0, first_b = 0, first_row = 0;
            if (threads == 2) {
                for (size_t r = 0; r < ROWS; r++) {
                    ok &= swann_forward(net, x + r * in, 1, y) == SWANN_OK;
                    if (memcmp(y, ref + r * out, out * sizeof(float)) && mismatches++ == 0) first_b = 1, first_row = r;
                }
            }
            for (size_t b = 0; b < sizeof BATCHES / sizeof BATCHES[0]; b++) {
                size_t n = BATCHES[b];
                size_t starts[3] = {0, (ROWS - n) / 2 + 1, ROWS - n};
                for (int s = 0; s < 3; s++) {
                    size_t s0 = starts[s] + n > ROWS ? ROWS - n : starts[s];
                    ok &= swann_forward(net, x + s0 * in, n, y) == SWANN_OK;
                    for (size_t r = 0; r < n; r++) {
                        if (memcmp(y + r * out, ref + (s0 + r) * out, out * sizeof(float)) && mismatches++ == 0) {
                            first_b = n;
                            first_row = s0 + r;
                        }
                    }
                }
            }
            CHECKF(ok, "every batch runs", "net %zu threads %zu: %s", k, threads, last_err());
            char what[128];
            snprintf(what, sizeof what, "net %zu (input %zu), %zu thread(s): every row bit-identical to the row alone",
                     k, in, threads);
            CHECKF(mismatches == 0, what, "%zu rows differ, first: row %zu in a batch of %zu", mismatches, first_row,
                   first_b);
        }
        free(x);
        free(ref);
        free(y);
        swann_destroy(net);
    }
}

/* A layer of 256 x 1024 weights, whose forward the AVX-512 level turns around
 * (Gemm.transposedForward: at least 65,536 weights, batches that are multiples of 32
 * up to 512) and takes the packed product for larger batches (544, 576): every row
 * the bits of the row alone, on both sides of that limit, at 1 and 2 threads, with
 * each elementwise activation, which the turned-around product applies chunk by chunk
 * as it finishes Z (its epilogue, in chunks of 128 to 1024 columns: eight of 128 on two
 * threads at 512 rows) and a row alone applies in one pass. The next layer (1024 x 256)
 * turns around too, so forwards after the first (an inference loop) keep the first
 * layer's Z and Y turned around for it to read (Network/KeptLayout.swift). The weights
 * are written once through swann_params, so that no forward has a packed copy to use
 * instead (the turned-around way is for weights without one). */
static void rows_agree_across_the_turn_with(const char *activation)
{
    enum { MAXB = 576, IN = 256, OUT = 8 };
    char spec[320];
    snprintf(spec, sizeof spec, "{\"input\": 256, \"layers\": [{\"units\": 1024, \"activation\": \"%s\"}, "
             "{\"units\": 256, \"activation\": \"tanh\"}, {\"units\": 8, \"activation\": \"identity\"}], "
             "\"loss\": \"mse\", \"seed\": 5, \"threads\": 2}", activation);
    static const size_t batches[] = {32, 64, 512, 544, 576};
    swann_net *net = NULL;
    char what[160];
    snprintf(what, sizeof what, "create the 256-1024-256-8 net (%s)", activation);
    CHECKF(swann_create(spec, MAXB, NULL, 0, &net) == SWANN_OK, what, "%s", last_err());
    if (!net) return;
    float *w = NULL;
    size_t count = 0;
    CHECK_ST(swann_params(net, &w, &count), SWANN_OK, "the host shares the weights");
    float *x = malloc(MAXB * IN * sizeof(float)), *ref = malloc(MAXB * OUT * sizeof(float));
    float *y = malloc(MAXB * OUT * sizeof(float));
    uint64_t rng = 97;
    for (size_t i = 0; i < MAXB * IN; i++) x[i] = (float)(rng_uniform(&rng, -2, 2) * (i % 3 ? 1 : 7.3));
    int ok = 1;
    CHECK_ST(swann_set_threads(net, 1), SWANN_OK, "one thread for the rows alone");
    for (size_t r = 0; r < MAXB; r++) ok &= swann_forward(net, x + r * IN, 1, ref + r * OUT) == SWANN_OK;
    CHECKF(ok, "every row alone runs", "%s", last_err());
    for (size_t threads = 1; threads <= 2; threads++) {
        CHECK_ST(swann_set_threads(net, threads), SWANN_OK, "set threads");
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            size_t n = batches[b], start = MAXB - n, differ = 0;
            ok = swann_forward(net, x + start * IN, n, y) == SWANN_OK;
            for (size_t r = 0; r < n; r++)
                differ += memcmp(y + r * OUT, ref + (start + r) * OUT, OUT * sizeof(float)) != 0;
            snprintf(what, sizeof what, "%s: a batch of %zu rows at %zu thread(s): every row bit-identical to the row alone",
                     activation, n, threads);
            CHECKF(ok && differ == 0, what, "%zu rows differ (%s)", differ, ok ? "ran" : last_err());
        }
    }
    free(x);
    free(ref);
    free(y);
    swann_destroy(net);
}

static void rows_agree_across_the_turn(void)
{
    static const char *activations[] = {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu"};
    for (size_t i = 0; i < sizeof activations / sizeof activations[0]; i++)
        rows_agree_across_the_turn_with(activations[i]);
}

int main(void)
{
    check_init("test_batch_invariance");
    RUN_GROUP(rows_agree);
    RUN_GROUP(rows_agree_across_the_turn);
    return check_finish();
}
