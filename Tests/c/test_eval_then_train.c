/*
 * test_eval_then_train.c -- evaluating between training steps changes no bit of
 * training. A forward's result depends only on the weights and its rows, and the
 * rows of the last successful forward stay available to backward until the next
 * forward (c-api.md): so a net that also runs forwards of other rows (an evaluation)
 * or the same forward twice before each backward trains to the bits of a twin that
 * does not, with the same losses, dx and outputs on the way, at 1 and 2 threads.
 * Written as an outside host: only swann.h.
 *
 * The nets have layers of at least 65,536 weights side by side, in batches that are
 * multiples of 32: the AVX-512 level turns their products around, and a forward on
 * weights that a forward already used (an evaluation's) keeps hidden layers turned
 * until a backward needs their rows (Network/KeptLayout.swift). Two nets have their
 * weights shared with the host (swann_params: no packed copies, every layer turned
 * around); the third has layers above the packed-copy size.
 */
#include "check.h"

struct config {
    const char *layers;
    size_t batch;
    int share;  /* call swann_params on both nets */
    int rounds;
};

static const struct config CONFIGS[] = {
    {"\"input\": 128, \"layers\": [{\"units\": 512, \"activation\": \"tanh\"}, "
     "{\"units\": 512, \"activation\": \"relu\"}, {\"units\": 256, \"activation\": \"gelu\"}, "
     "{\"units\": 16, \"activation\": \"identity\"}]", 64, 1, 4},
    {"\"input\": 128, \"layers\": [{\"units\": 512, \"activation\": \"elu\"}, "
     "{\"units\": 256, \"activation\": \"sigmoid\"}]", 96, 1, 4},
    {"\"input\": 1024, \"layers\": [{\"units\": 1040, \"activation\": \"leaky_relu\"}, "
     "{\"units\": 1024, \"activation\": \"identity\"}, {\"units\": 16, \"activation\": \"softplus\"}]", 32, 0, 2},
};

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

/* Round r of both nets: `plain` runs forward, backward, step; `eval` first evaluates
 * other rows (even rounds) or runs the same forward twice (odd rounds). Round 1
 * backs up twice (accumulating), round 2 backs up with the host's dy. */
static void run_config(size_t c, size_t threads)
{
    const struct config *cf = &CONFIGS[c];
    char spec[640];
    snprintf(spec, sizeof spec, "{%s, \"loss\": \"mse\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.01, "
             "\"momentum\": 0.9}, \"seed\": %zu, \"threads\": %zu}", cf->layers, c + 3, threads);
    swann_net *plain = NULL, *eval = NULL;
    CHECKF(swann_create(spec, cf->batch, NULL, 0, &plain) == SWANN_OK, "create the plain net", "config %zu: %s", c,
           last_err());
    CHECKF(swann_create(spec, cf->batch, NULL, 0, &eval) == SWANN_OK, "create the evaluating net", "config %zu: %s",
           c, last_err());
    if (!plain || !eval) {
        swann_destroy(plain);
        swann_destroy(eval);
        return;
    }
    size_t in = swann_input_size(plain), out = swann_output_size(plain), n = cf->batch;
    float *pp = NULL, *pe = NULL;
    size_t count = 0, count_e = 0;
    if (cf->share) {
        CHECK_ST(swann_params(plain, &pp, &count), SWANN_OK, "the host shares the plain net's weights");
        CHECK_ST(swann_params(eval, &pe, &count_e), SWANN_OK, "the host shares the evaluating net's weights");
    }
    float *x = malloc(n * in * sizeof(float)), *other = malloc(n * in * sizeof(float));
    float *t = malloc(n * out * sizeof(float)), *dy = malloc(n * out * sizeof(float));
    float *yp = malloc(n * out * sizeof(float)), *ye = malloc(n * out * sizeof(float));
    float *seen = malloc(n * out * sizeof(float));
    float *dxp = malloc(n * in * sizeof(float)), *dxe = malloc(n * in * sizeof(float));
    uint64_t rng = 41 + c;
    int ok = 1, agree = 1;
    char what[200];
    for (int r = 0; r < cf->rounds; r++) {
        for (size_t i = 0; i < n * in; i++) x[i] = (float)rng_uniform(&rng, -1.5, 1.5);
        for (size_t i = 0; i < n * in; i++) other[i] = (float)rng_uniform(&rng, -3, 3);
        for (size_t i = 0; i < n * out; i++) t[i] = (float)rng_uniform(&rng, -1, 1);
        for (size_t i = 0; i < n * out; i++) dy[i] = (float)rng_uniform(&rng, -0.1, 0.1);
        float lp = 0, le = 0;
        ok &= swann_forward(plain, x, n, yp) == SWANN_OK;
        if (r % 2 == 0) {
            ok &= swann_forward(eval, other, n, seen) == SWANN_OK;
        } else {
            ok &= swann_forward(eval, x, n, seen) == SWANN_OK;
        }
        ok &= swann_forward(eval, x, n, ye) == SWANN_OK;
        snprintf(what, sizeof what, "config %zu, %zu thread(s), round %d: the training forward's output", c, threads, r);
        CHECKF(same(yp, ye, n * out), what, "differs from the plain net's");
        if (r % 2 == 1) {
            snprintf(what, sizeof what, "config %zu, %zu thread(s), round %d: a forward run twice gives the same output",
                     c, threads, r);
            CHECKF(same(seen, ye, n * out), what, "the two forwards differ");
        }
        for (int b = 0; b < (r == 1 ? 2 : 1); b++) {
            if (r == 2) {
                ok &= swann_backward_grad(plain, dy, dxp) == SWANN_OK;
                ok &= swann_backward_grad(eval, dy, dxe) == SWANN_OK;
            } else {
                ok &= swann_backward(plain, t, &lp, dxp) == SWANN_OK;
                ok &= swann_backward(eval, t, &le, dxe) == SWANN_OK;
            }
            snprintf(what, sizeof what, "config %zu, %zu thread(s), round %d, backward %d: loss and dx", c, threads, r,
                     b + 1);
            CHECKF(memcmp(&lp, &le, sizeof lp) == 0 && same(dxp, dxe, n * in), what,
                   "differ after an evaluation (loss %.9g against %.9g)", (double)le, (double)lp);
        }
        ok &= swann_step(plain) == SWANN_OK;
        ok &= swann_step(eval) == SWANN_OK;
    }
    CHECKF(ok, "every call succeeds", "config %zu, %zu thread(s): %s", c, threads, last_err());
    size_t np = swann_param_count(plain);
    float *wp = malloc(np * sizeof(float)), *we = malloc(np * sizeof(float));
    if (cf->share) {
        agree = count == np && count_e == np && same(pp, pe, np);
    } else {
        float *p = NULL;
        size_t k = 0;
        agree = swann_params(plain, &p, &k) == SWANN_OK && k == np;
        if (agree) memcpy(wp, p, np * sizeof(float));
        agree = agree && swann_params(eval, &p, &k) == SWANN_OK && k == np;
        if (agree) memcpy(we, p, np * sizeof(float));
        agree = agree && same(wp, we, np);
    }
    snprintf(what, sizeof what, "config %zu, %zu thread(s): after %d steps the weights are bit-identical", c, threads,
             cf->rounds);
    CHECKF(agree, what, "the evaluating net trained to other weights");
    free(wp);
    free(we);
    free(x);
    free(other);
    free(t);
    free(dy);
    free(yp);
    free(ye);
    free(seen);
    free(dxp);
    free(dxe);
    swann_destroy(plain);
    swann_destroy(eval);
}

static void evaluating_changes_no_bit(void)
{
    for (size_t c = 0; c < sizeof CONFIGS / sizeof CONFIGS[0]; c++)
        for (size_t threads = 1; threads <= 2; threads++) run_config(c, threads);
}

int main(void)
{
    check_init("test_eval_then_train");
    RUN_GROUP(evaluating_changes_no_bit);
    return check_finish();
}
