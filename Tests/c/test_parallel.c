/*
 * test_parallel.c -- the data-parallel additions (swann_accumulated_rows,
 * swann_step_rows): two nets that each see half a batch, with their gradients
 * summed as MPI_Allreduce would and stepped with the global row count, stay
 * equal to one net that sees the whole batch, for every optimizer.
 */
#include "check.h"

#define IN 5
#define OUT 3
#define ROWS 12

static const char *OPTS[] = {
    "{\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9}",
    "{\"type\": \"adam\", \"lr\": 0.01}",
    "{\"type\": \"adamw\", \"lr\": 0.01, \"clip_norm\": 0.5}",
    "{\"type\": \"rmsprop\", \"lr\": 0.01, \"centered\": true}",
    "{\"type\": \"rprop\"}",
};

static void split_equals_whole(void)
{
    uint64_t rng = 7;
    float x[ROWS * IN], d[ROWS * OUT];
    for (int i = 0; i < ROWS * IN; i++) x[i] = (float)rng_uniform(&rng, -1, 1);
    memset(d, 0, sizeof d);
    for (int r = 0; r < ROWS; r++) d[r * OUT + r % OUT] = 1;
    for (size_t o = 0; o < sizeof OPTS / sizeof OPTS[0]; o++) {
        char spec[512], what[700];
        snprintf(spec, sizeof spec, "{\"input\": %d, \"layers\": [{\"units\": 7, \"activation\": \"tanh\"},"
                 " {\"units\": %d, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\","
                 " \"optimizer\": %s, \"seed\": 3}", IN, OUT, OPTS[o]);
        swann_net *whole = NULL, *a = NULL, *b = NULL;
        CHECK_ST(swann_create(spec, ROWS, NULL, 0, &whole), SWANN_OK, "create whole");
        CHECK_ST(swann_create(spec, ROWS, NULL, 0, &a), SWANN_OK, "create rank 0");
        CHECK_ST(swann_create(spec, ROWS, NULL, 0, &b), SWANN_OK, "create rank 1");
        if (!whole || !a || !b) return;
        float *pw, *pa, *pb, *ga, *gb;
        size_t n, n2;
        swann_params(whole, &pw, &n);
        swann_params(a, &pa, &n2);
        swann_params(b, &pb, &n2);
        swann_grads(a, &ga, &n2);
        swann_grads(b, &gb, &n2);
        int ok = 1;
        size_t rows_a = 0, rows_b = 0;
        for (int step = 0; step < 20; step++) {
            ok &= swann_forward(whole, x, ROWS, NULL) == SWANN_OK;
            ok &= swann_backward(whole, d, NULL, NULL) == SWANN_OK;
            ok &= swann_step(whole) == SWANN_OK;
            /* rank 0 takes 5 rows, rank 1 the other 7 */
            ok &= swann_forward(a, x, 5, NULL) == SWANN_OK;
            ok &= swann_backward(a, d, NULL, NULL) == SWANN_OK;
            ok &= swann_forward(b, x + 5 * IN, ROWS - 5, NULL) == SWANN_OK;
            ok &= swann_backward(b, d + 5 * OUT, NULL, NULL) == SWANN_OK;
            ok &= swann_accumulated_rows(a, &rows_a) == SWANN_OK && rows_a == 5;
            ok &= swann_accumulated_rows(b, &rows_b) == SWANN_OK && rows_b == ROWS - 5;
            for (size_t i = 0; i < n; i++) { float s = ga[i] + gb[i]; ga[i] = s; gb[i] = s; }  /* allreduce */
            ok &= swann_step_rows(a, rows_a + rows_b) == SWANN_OK;
            ok &= swann_step_rows(b, rows_a + rows_b) == SWANN_OK;
        }
        snprintf(what, sizeof what, "20 split steps run: %s", OPTS[o]);
        CHECK(ok, what);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double e = fabs((double)pa[i] - pw[i]) / (fabs((double)pw[i]) + 1e-3);
            if (e > worst) worst = e;
        }
        snprintf(what, sizeof what, "split halves equal the whole batch after 20 steps: %s", OPTS[o]);
        CHECKF(worst < 1e-4, what, "worst relative difference %g", worst);
        snprintf(what, sizeof what, "both ranks hold identical parameters: %s", OPTS[o]);
        CHECK(memcmp(pa, pb, n * sizeof *pa) == 0, what);
        swann_destroy(whole);
        swann_destroy(a);
        swann_destroy(b);
    }
}

static void bad_inputs(void)
{
    const char *spec = "{\"input\": 2, \"layers\": [{\"units\": 1, \"activation\": \"identity\"}], \"loss\": \"mse\"}";
    swann_net *net = NULL;
    size_t rows = 99;
    CHECK_ST(swann_create(spec, 4, NULL, 0, &net), SWANN_OK, "create");
    CHECK_ST(swann_accumulated_rows(NULL, &rows), SWANN_E_ARG, "accumulated_rows(NULL net)");
    CHECK_ST(swann_accumulated_rows(net, NULL), SWANN_E_ARG, "accumulated_rows(NULL rows)");
    CHECK_ST(swann_accumulated_rows(net, &rows), SWANN_OK, "accumulated_rows on a fresh net");
    CHECK(rows == 0, "a fresh net has T = 0");
    CHECK_ST(swann_step_rows(NULL, 4), SWANN_E_ARG, "step_rows(NULL net)");
    CHECK_ST(swann_step_rows(net, 0), SWANN_E_ARG, "step_rows with 0 rows");
    CHECK_ST(swann_step_rows(net, SIZE_MAX), SWANN_E_ARG, "step_rows with SIZE_MAX rows");
    /* A rank with an empty shard still steps with the global count. */
    float *p, *g;
    size_t n;
    swann_params(net, &p, &n);
    swann_grads(net, &g, &n);
    float before = p[0];
    g[0] = 4;
    CHECK_ST(swann_step_rows(net, 4), SWANN_OK, "step_rows on a rank that saw no rows");
    CHECKF(fabsf(p[0] - (before - 0.01f * 1.0f)) < 1e-6f, "update uses grad / global rows", "%g -> %g", before, p[0]);
    g[1] = NAN;
    float b1 = p[1];
    CHECK_ST(swann_step_rows(net, 4), SWANN_E_NUMERIC, "step_rows refuses a NaN gradient");
    CHECK(p[1] == b1, "params unchanged after the refused step");
    swann_destroy(net);
}

int main(void)
{
    check_init("test_parallel");
    RUN_GROUP(split_equals_whole);
    RUN_GROUP(bad_inputs);
    return check_finish();
}
