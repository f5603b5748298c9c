/*
 * test_numeric_refusals.c -- numbers the library must refuse (issue #13, items 3,
 * 7, 9 and the C half of 10).
 *
 * c-api.md: "swann_backward is all or nothing: on any error nothing is
 * accumulated"; SWANN_E_NUMERIC is a "non-finite loss or gradient".
 *   - backward checks the sums it accumulates and the dx it returns: an overflow
 *     anywhere in the recursion (grad_y, grad_z, grad_W, grad_b, dx) is
 *     SWANN_E_NUMERIC with the gradients, T and dx as they were, whether the
 *     buffer counts as zero (written over) or holds sums that must survive
 *     (a second backward before the step, or a host holding swann_grads);
 *   - sums near float's range that no bound proves finite are checked exactly:
 *     accepted when finite, bit for bit what they should be;
 *   - binary_cross_entropy targets outside [0, 1] and negative cross_entropy
 *     targets are SWANN_E_ARG naming the row and the value, nothing accumulated;
 *   - spec values float32 holds as 0 where the math divides by them or keys on
 *     them being non-zero (eps, momentum, eta_minus, step_max) are SWANN_E_SPEC;
 *   - a zero base rate stays zero under any schedule; get_lr is never NaN; a step
 *     whose scheduled rate overflows float is refused, naming the schedule;
 *   - set_lr(-0.0) stores 0: the canonical spec never says -0.
 *   - a forward refuses NaN or Inf anywhere in its rows on two threads too, in an
 *     inference loop (where the rows run split between the threads), leaving the
 *     rows of the last good forward to backward.
 */
#include "check.h"

static swann_net *make(const char *spec, size_t maxb)
{
    swann_net *n = NULL;
    swann_status s = swann_create(spec, maxb, NULL, 0, &n);
    if (s != SWANN_OK) printf("# create failed: %s: %s\n", swann_status_name(s), swann_last_error());
    return n;
}

static size_t rows_of(swann_net *n)
{
    size_t t = 12345;
    swann_accumulated_rows(n, &t);
    return t;
}

static float *params_of(swann_net *n, size_t *count)
{
    float *p = NULL;
    swann_params(n, &p, count);
    return p;
}

static float *grads_of(swann_net *n, size_t *count)
{
    float *g = NULL;
    swann_grads(n, &g, count);
    return g;
}

/* Every weight `w`, every bias 0. */
static void set_weights(swann_net *n, const int *weight_at, int weights, float w)
{
    size_t count = 0;
    float *p = params_of(n, &count);
    memset(p, 0, count * sizeof *p);
    for (int i = 0; i < weights; i++) p[weight_at[i]] = w;
}

static int has(const char *text, const char *part) { return strstr(text, part) != NULL; }

/* ---- item 3: the identity nets with weights 1e15 ------------------------ */

#define ID2 "{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"identity\"}," \
            " {\"units\": 1, \"activation\": \"identity\"}], \"loss\": \"mse\", \"seed\": 1}"
#define ID3 "{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"identity\"}," \
            " {\"units\": 1, \"activation\": \"identity\"}, {\"units\": 1, \"activation\": \"identity\"}]," \
            " \"loss\": \"mse\", \"seed\": 1}"
static const int W2[] = {0, 2}, W3[] = {0, 2, 4}; /* [W, b] per layer */

/* 2 layers, x = 1e-20: grad_W and grad_b are finite, dx = 1e40 is not. */
static void group_dx_overflow(void)
{
    swann_net *a = make(ID2, 1), *ref = make(ID2, 1);
    if (!a || !ref) { CHECK(0, "create"); return; }
    set_weights(a, W2, 2, 1e15f);
    set_weights(ref, W2, 2, 1e15f);
    float x = 1e-20f, d = 0, dx = 7, loss = -1;
    CHECK_ST(swann_forward(a, &x, 1, NULL), SWANN_OK, "forward x = 1e-20");
    CHECK_ST(swann_backward(a, &d, &loss, &dx), SWANN_E_NUMERIC, "backward whose dx overflows float is SWANN_E_NUMERIC");
    CHECKF(has(swann_last_error(), "dx"), "the message names dx", "%s", swann_last_error());
    CHECK(rows_of(a) == 0, "nothing accumulated: T stays 0");
    CHECK(dx == 7 && loss == -1, "dx and loss are not written");
    CHECK_ST(swann_step(a), SWANN_E_STATE, "a step has nothing to apply");
    /* without dx the same backward is fine */
    CHECK_ST(swann_backward(a, &d, &loss, NULL), SWANN_OK, "the same backward without dx");
    CHECK(rows_of(a) == 1, "T = 1");

    /* a good backward after the refused one gives exactly what a fresh net gives */
    swann_zero_grad(a);
    float x2 = 1e-21f; /* y = 1e9, dx = 1e39 */
    CHECK_ST(swann_forward(a, &x2, 1, NULL), SWANN_OK, "forward x = 1e-21");
    CHECK_ST(swann_backward(a, &d, NULL, &dx), SWANN_E_NUMERIC, "dx 1e39 overflows");
    CHECK_ST(swann_backward(a, &d, NULL, NULL), SWANN_OK, "backward without dx");
    swann_forward(ref, &x2, 1, NULL);
    CHECK_ST(swann_backward(ref, &d, NULL, NULL), SWANN_OK, "reference backward");
    size_t n = 0, m = 0;
    float *ga = grads_of(a, &n), *gr = grads_of(ref, &m);
    CHECK(n == m && memcmp(ga, gr, n * sizeof *ga) == 0 && rows_of(a) == rows_of(ref),
          "gradients and T equal a net that never saw the refused backward");
    swann_destroy(a);
    swann_destroy(ref);
}

/* 3 layers, x = 1e-35: grad_y of the first layer overflows (1e40), so its grad_W
 * would be infinite; today's T = 1 with infinite gradients. */
static void bad3(swann_net *n)
{
    float x = 1e-35f, d = 0;
    swann_forward(n, &x, 1, NULL);
    CHECK_ST(swann_backward(n, &d, NULL, NULL), SWANN_E_NUMERIC, "3 layers, x = 1e-35: SWANN_E_NUMERIC");
    CHECKF(has(swann_last_error(), "layers[0]") && has(swann_last_error(), "nothing accumulated"),
           "the message names the layer", "%s", swann_last_error());
}

static void good3(swann_net *n)
{
    float x = 2e-38f, d = 0; /* grad_y of the first layer 2e37 */
    swann_forward(n, &x, 1, NULL);
    CHECK_ST(swann_backward(n, &d, NULL, NULL), SWANN_OK, "3 layers, x = 2e-38: fine");
}

static void group_grad_overflow_3_layers(void)
{
    /* the buffer counts as zero (first backward, and after a step) */
    swann_net *a = make(ID3, 1);
    if (!a) { CHECK(0, "create"); return; }
    set_weights(a, W3, 3, 1e15f);
    bad3(a);
    CHECK(rows_of(a) == 0, "T stays 0");
    CHECK_ST(swann_step(a), SWANN_E_STATE, "step: nothing accumulated");
    good3(a);
    CHECK_ST(swann_set_lr(a, 0), SWANN_OK, "lr 0 (keep the weights)");
    CHECK_ST(swann_step(a), SWANN_OK, "step");
    bad3(a);
    CHECK(rows_of(a) == 0, "after a step: T stays 0");
    CHECK_ST(swann_step(a), SWANN_E_STATE, "step: nothing accumulated");

    /* sums that must survive: a second backward before the step (net a), and a
     * host holding the buffer (net b); both must keep them bit for bit */
    swann_net *b = make(ID3, 1), *ref = make(ID3, 1);
    if (!b || !ref) { CHECK(0, "create"); return; }
    set_weights(b, W3, 3, 1e15f);
    set_weights(ref, W3, 3, 1e15f);
    size_t n = 0;
    float *gb = grads_of(b, &n), before[8];
    good3(a);
    good3(b);
    good3(ref);
    memcpy(before, gb, n * sizeof *gb);
    bad3(a);
    bad3(b);
    CHECK(rows_of(a) == 1 && rows_of(b) == 1, "T stays 1");
    CHECK(memcmp(before, gb, n * sizeof *gb) == 0, "a host's buffer is bit for bit unchanged");
    float *ga = grads_of(a, &n), *gr = grads_of(ref, &n);
    CHECK(memcmp(ga, gr, n * sizeof *ga) == 0, "the sums equal a net that never saw the refused backward");
    swann_destroy(a);
    swann_destroy(b);
    swann_destroy(ref);
}

/* ---- item 3: grad_W = grad_z^T y overflowing from finite values ----------------- */

/* One identity layer, weights 1e-30, x = 1e30, target -1e10: y = 1, grad_z = 1e10
 * (the loss, 5e19 a unit, is finite), grad_W = 1e40. `units` 1 checks the sums one
 * by one (batch >= units); 4 first tries the bound from max |grad_z| and max |y|. */
static void group_weight_grad_overflow(void)
{
    for (int units = 1; units <= 4; units += 3) {
        char spec[256], what[128];
        snprintf(spec, sizeof spec, "{\"input\": 1, \"layers\": [{\"units\": %d, \"activation\": \"identity\"}],"
                 " \"loss\": \"mse\", \"seed\": 1}", units);
        swann_net *a = make(spec, 1);
        if (!a) { CHECK(0, "create"); return; }
        size_t n = 0;
        float *p = params_of(a, &n);
        for (int i = 0; i < units; i++) p[i] = 1e-30f;
        float x = 1e30f, d[4] = {-1e10f, -1e10f, -1e10f, -1e10f}, loss = -1;
        swann_forward(a, &x, 1, NULL);
        snprintf(what, sizeof what, "%d unit(s): grad_W 1e40 from finite values is SWANN_E_NUMERIC", units);
        CHECK_ST(swann_backward(a, d, &loss, NULL), SWANN_E_NUMERIC, what);
        CHECKF(has(swann_last_error(), "grad_W"), "the message names grad_W", "%s", swann_last_error());
        CHECK(rows_of(a) == 0 && loss == -1, "nothing accumulated");

        /* 1e37 is finite but beyond the bound: checked value by value, accepted */
        x = 1e27f;
        for (int i = 0; i < units; i++) p[i] = 1e-27f;
        swann_forward(a, &x, 1, NULL);
        CHECK_ST(swann_backward(a, d, &loss, NULL), SWANN_OK, "grad_W 1e37: finite, accepted");
        float *g = grads_of(a, &n);
        double want = (1 - (double)d[0]) * 1e27;
        int ok = 1;
        for (int i = 0; i < units; i++) ok &= close_rel(g[i], want, 1e-6, 0) && close_rel(g[units + i], 1e10, 1e-6, 0);
        CHECKF(ok, "grad_W = 1e37, grad_b = 1e10", "g[0] %g, want %g", (double)g[0], want);
        /* added to itself: 2e37, still finite; then, with 2e38 a row, 4e38 is not */
        float first = g[0];
        CHECK_ST(swann_backward(a, d, NULL, NULL), SWANN_OK, "a second backward: 2e37");
        CHECK(g[0] == 2 * first && rows_of(a) == 2, "sums doubled exactly");
        swann_zero_grad(a);
        float big[4] = {-2e11f, -2e11f, -2e11f, -2e11f};
        CHECK_ST(swann_backward(a, big, NULL, NULL), SWANN_OK, "grad_W 2e38: finite");
        float kept[8];
        memcpy(kept, g, n * sizeof *g);
        CHECK_ST(swann_backward(a, big, NULL, NULL), SWANN_E_NUMERIC, "2e38 + 2e38 overflows: SWANN_E_NUMERIC");
        CHECK(memcmp(kept, g, n * sizeof *g) == 0 && rows_of(a) == 1, "the sums and T are kept");
        swann_destroy(a);
    }
}

/* Sums checked one by one in blocks of rows (max_batch 1, 300 units, 64 inputs:
 * 4 rows of grad_W a block), through swann_backward_grad. */
#define WIDE "{\"input\": 64, \"layers\": [{\"units\": 300, \"activation\": \"identity\"}], \"loss\": \"none\", \"seed\": 3}"
static void group_exact_sums(void)
{
    for (int shared = 0; shared < 2; shared++) {
        swann_net *a = make(WIDE, 1);
        if (!a) { CHECK(0, "create"); return; }
        size_t n = 0;
        float *g = shared ? grads_of(a, &n) : NULL;
        static float x[64], dy[300], dx[64];
        uint64_t s = 99;
        for (int j = 0; j < 64; j++) x[j] = (float)rng_uniform(&s, -3e18, 3e18);
        for (int i = 0; i < 300; i++) dy[i] = (float)rng_uniform(&s, -1e19, 1e19);
        CHECK_ST(swann_forward(a, x, 1, NULL), SWANN_OK, "forward of values up to 3e18");
        CHECK_ST(swann_backward_grad(a, dy, NULL), SWANN_OK, "grad_W up to 3e37: beyond the bound, finite");
        if (!g) g = grads_of(a, &n);
        int exact = 1;
        for (int i = 0; i < 300; i++) {
            for (int j = 0; j < 64; j++) exact &= g[i * 64 + j] == (float)((double)dy[i] * x[j]);
            exact &= g[300 * 64 + i] == dy[i];
        }
        CHECK(exact, shared ? "host's buffer: every sum is exactly dy_i x_j" : "every sum is exactly dy_i x_j");
        /* add a row whose products overflow in one place only */
        static float kept[300 * 64 + 300];
        memcpy(kept, g, sizeof kept);
        x[17] = 3.3e19f;
        dy[211] = 1.1e19f;
        swann_forward(a, x, 1, NULL);
        CHECK_ST(swann_backward_grad(a, dy, dx), SWANN_E_NUMERIC, "sums of column 17 overflow: SWANN_E_NUMERIC");
        CHECKF(has(swann_last_error(), "backward_grad") && has(swann_last_error(), "layers[0]"),
               "the message names the call and the layer", "%s", swann_last_error());
        CHECK(memcmp(kept, g, sizeof kept) == 0 && rows_of(a) == 1, "every sum and T kept");
        swann_destroy(a);
    }
}

/* A layer's input with Inf (the forward overflowed inside the net) with sums to
 * keep: refused before anything is added. */
static void group_input_overflow(void)
{
    const char *spec = "{\"input\": 1, \"layers\": [{\"units\": 2, \"activation\": \"relu\"},"
                       " {\"units\": 1, \"activation\": \"sigmoid\"}], \"loss\": \"mse\", \"seed\": 1}";
    /* y_1 = (1e20, 1e20) for x = 1, (Inf, Inf) for x = 1e20; z_2 = +Inf, Y = 1 */
    const float w[7] = {1e20f, 1e20f, 0, 0, 1e-30f, 1e-30f, 0};
    for (int mode = 0; mode < 3; mode++) { /* buffer counting as zero; second backward; host's buffer */
        swann_net *a = make(spec, 1), *ref = make(spec, 1);
        if (!a || !ref) { CHECK(0, "create"); return; }
        size_t n = 0;
        memcpy(params_of(a, &n), w, sizeof w);
        memcpy(params_of(ref, &n), w, sizeof w);
        float *g = mode == 2 ? grads_of(a, &n) : NULL, kept[7];
        float x = 1, d = 0.25f;
        if (mode > 0) {
            swann_forward(a, &x, 1, NULL);
            CHECK_ST(swann_backward(a, &d, NULL, NULL), SWANN_OK, "an ordinary backward");
            swann_forward(ref, &x, 1, NULL);
            swann_backward(ref, &d, NULL, NULL);
            if (g) memcpy(kept, g, sizeof kept);
        }
        x = 1e20f;
        swann_forward(a, &x, 1, NULL);
        CHECK_ST(swann_backward(a, &d, NULL, NULL), SWANN_E_NUMERIC, "y_1 = Inf, output finite: SWANN_E_NUMERIC");
        if (g) CHECK(memcmp(kept, g, sizeof kept) == 0, "the host's buffer is unchanged");
        CHECK(rows_of(a) == rows_of(ref), "T unchanged");
        x = 2;
        swann_forward(a, &x, 1, NULL);
        swann_forward(ref, &x, 1, NULL);
        CHECK_ST(swann_backward(a, &d, NULL, NULL), SWANN_OK, "an ordinary backward after it");
        swann_backward(ref, &d, NULL, NULL);
        float *ga = grads_of(a, &n), *gr = grads_of(ref, &n);
        CHECK(memcmp(ga, gr, sizeof kept) == 0 && rows_of(a) == rows_of(ref),
              "gradients and T equal a net that never saw the refused backward");
        swann_destroy(a);
        swann_destroy(ref);
    }
}

/* ---- item 10: targets outside the loss's domain --------------------------------- */

static void target_case(const char *out_act, const char *lossname, int bad_row, float bad, swann_status want)
{
    char spec[300], what[200];
    snprintf(spec, sizeof spec, "{\"input\": 2, \"layers\": [{\"units\": 3, \"activation\": \"tanh\"},"
             " {\"units\": 2, \"activation\": \"%s\"}], \"loss\": \"%s\", \"seed\": 4}", out_act, lossname);
    swann_net *a = make(spec, 4);
    if (!a) { CHECK(0, "create"); return; }
    float x[8] = {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f}, d[8] = {1, 0, 0, 1, 1, 0, 0, 1};
    float dx[8], loss = -1;
    for (int i = 0; i < 8; i++) dx[i] = 7;
    d[bad_row * 2 + 1] = bad;
    swann_forward(a, x, 4, NULL);
    snprintf(what, sizeof what, "%s + %s, target %g in row %d: %s", out_act, lossname, (double)bad, bad_row,
             swann_status_name(want));
    CHECK_ST(swann_backward(a, d, &loss, dx), want, what);
    if (want != SWANN_OK) {
        char row[32], val[40];
        snprintf(row, sizeof row, "row %d,", bad_row);
        for (int digits = 1; digits <= 17; digits++) { /* the double's shortest text, as the message writes it */
            snprintf(val, sizeof val, "is %.*g;", digits, (double)bad);
            if (strtod(val + 3, NULL) == (double)bad) break;
        }
        if (want == SWANN_E_ARG)
            CHECKF(has(swann_last_error(), row) && has(swann_last_error(), val) && has(swann_last_error(), lossname),
                   "the message names the row, the value and the loss", "%s", swann_last_error());
        int untouched = loss == -1;
        for (int i = 0; i < 8; i++) untouched &= dx[i] == 7;
        CHECK(rows_of(a) == 0 && untouched, "nothing accumulated, loss and dx not written");
    }
    swann_destroy(a);
}

static void group_targets(void)
{
    target_case("sigmoid", "binary_cross_entropy", 1, 1.5f, SWANN_E_ARG);
    target_case("sigmoid", "binary_cross_entropy", 3, -0.25f, SWANN_E_ARG);
    target_case("softmax", "binary_cross_entropy", 2, 1.0001f, SWANN_E_ARG);
    target_case("sigmoid", "binary_cross_entropy", 0, 0.5f, SWANN_OK);
    target_case("sigmoid", "binary_cross_entropy", 0, NAN, SWANN_E_NUMERIC);
    target_case("softmax", "cross_entropy", 2, -0.5f, SWANN_E_ARG);
    target_case("sigmoid", "cross_entropy", 1, -1e-30f, SWANN_E_ARG);
    target_case("softmax", "cross_entropy", 2, 2.0f, SWANN_OK); /* weights above 1 are fine */
    target_case("softmax", "cross_entropy", 2, -INFINITY, SWANN_E_NUMERIC);
    target_case("identity", "mse", 1, -5.0f, SWANN_OK);
}

/* ---- item 7: spec values float32 holds as 0 ------------------------------------- */

static void spec_case(const char *opt, swann_status want, const char *key)
{
    char spec[400], what[300];
    snprintf(spec, sizeof spec, "{\"input\": 2, \"layers\": [{\"units\": 1, \"activation\": \"sigmoid\"}],"
             " \"loss\": \"mse\", \"optimizer\": %s}", opt);
    swann_net *n = NULL;
    snprintf(what, sizeof what, "%s: %s", opt, swann_status_name(want));
    CHECK_ST(swann_create(spec, 2, NULL, 0, &n), want, what);
    if (want != SWANN_OK)
        CHECKF(has(swann_last_error(), key) && has(swann_last_error(), "float32"),
               "the message names the key and float32", "%s", swann_last_error());
    swann_destroy(n);
}

static void group_spec_float32(void)
{
    spec_case("{\"type\": \"adam\", \"eps\": 1e-50}", SWANN_E_SPEC, "\"eps\" is 1e-50");
    spec_case("{\"type\": \"adamw\", \"eps\": 1e-40}", SWANN_E_SPEC, "\"eps\" is 1e-40");
    spec_case("{\"type\": \"rmsprop\", \"eps\": 1e-50}", SWANN_E_SPEC, "\"eps\"");
    spec_case("{\"type\": \"sgd\", \"momentum\": 1e-50}", SWANN_E_SPEC, "\"momentum\"");
    spec_case("{\"type\": \"rmsprop\", \"momentum\": 1e-46, \"centered\": true}", SWANN_E_SPEC, "\"momentum\"");
    spec_case("{\"type\": \"rprop\", \"eta_minus\": 1e-50}", SWANN_E_SPEC, "\"eta_minus\"");
    spec_case("{\"type\": \"rprop\", \"step_min\": 0, \"step_max\": 1e-50}", SWANN_E_SPEC, "\"step_max\"");
    spec_case("{\"type\": \"adam\", \"eps\": 1e-30}", SWANN_OK, "");
    spec_case("{\"type\": \"sgd\", \"momentum\": 0}", SWANN_OK, "");
    spec_case("{\"type\": \"rprop\", \"step_min\": 0, \"step_max\": 1e-30}", SWANN_OK, "");

    /* Adam with the smallest eps accepted keeps training on a zero gradient */
    const char *spec = "{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"identity\"}],"
                       " \"loss\": \"mse\", \"optimizer\": {\"type\": \"adam\", \"eps\": 1.2e-38}, \"seed\": 1}";
    swann_net *a = make(spec, 1);
    if (!a) { CHECK(0, "create"); return; }
    float x = 0, y;
    int ok = 1;
    for (int i = 0; i < 5; i++) {
        swann_forward(a, &x, 1, &y);
        ok = ok && swann_backward(a, &y, NULL, NULL) == SWANN_OK && swann_step(a) == SWANN_OK;
    }
    CHECK(ok, "adam eps 1.2e-38: steps on a zero gradient succeed");
    swann_destroy(a);
}

/* ---- item 7: schedules ---------------------------------------------------------- */

/* One zero-gradient iteration (target = output): the update never changes
 * parameters, so only the rate can make a step fail. */
static swann_status zero_grad_step(swann_net *a)
{
    float x = 0.5f, y;
    swann_forward(a, &x, 1, &y);
    swann_status s = swann_backward(a, &y, NULL, NULL);
    return s != SWANN_OK ? s : swann_step(a);
}

#define SCHED(lr, sched) "{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"sigmoid\"}], \"loss\": \"mse\"," \
                         " \"optimizer\": {\"type\": \"sgd\", \"lr\": " lr ", \"schedule\": " sched "}, \"seed\": 1}"

static void group_schedules(void)
{
    /* lr 0, gamma 1e6: 0 * 1e6^52 was NaN */
    swann_net *a = make(SCHED("0", "{\"type\": \"step\", \"step_size\": 1, \"gamma\": 1e6}"), 1);
    if (!a) { CHECK(0, "create"); return; }
    int ok = 1, t;
    double lr = -1;
    for (t = 0; t < 80 && ok; t++) {
        ok = swann_get_lr(a, &lr) == SWANN_OK && lr == 0 && zero_grad_step(a) == SWANN_OK;
    }
    CHECKF(ok, "lr 0, step schedule gamma 1e6: 80 steps, get_lr 0 every time", "at step %d: lr %g, %s", t - 1, lr,
           swann_last_error());
    swann_destroy(a);

    /* lr 0 stays 0 under cosine (eta_min above it) and warm-up */
    a = make(SCHED("0", "{\"type\": \"cosine\", \"t_max\": 4, \"eta_min\": 0.1, \"warmup_steps\": 2}"), 1);
    if (!a) { CHECK(0, "create"); return; }
    ok = 1;
    for (t = 0; t < 8 && ok; t++) ok = swann_get_lr(a, &lr) == SWANN_OK && lr == 0 && zero_grad_step(a) == SWANN_OK;
    CHECKF(ok, "lr 0, cosine to eta_min 0.1: the rate stays 0", "at step %d: lr %g", t - 1, lr);
    swann_destroy(a);

    /* lr 0.01, gamma 1e6: 1e34 at step 6 is fine, 1e40 at step 7 overflows float */
    a = make(SCHED("0.01", "{\"type\": \"step\", \"step_size\": 1, \"gamma\": 1e6}"), 1);
    if (!a) { CHECK(0, "create"); return; }
    ok = 1;
    for (t = 0; t < 7 && ok; t++) ok = zero_grad_step(a) == SWANN_OK;
    CHECKF(ok, "7 steps up to rate 1e34", "step %d: %s", t - 1, swann_last_error());
    size_t n = 0;
    float before[2], *p = params_of(a, &n);
    memcpy(before, p, sizeof before);
    float x = 0.5f, y;
    swann_forward(a, &x, 1, &y);
    swann_backward(a, &y, NULL, NULL);
    CHECK_ST(swann_step(a), SWANN_E_NUMERIC, "the step at rate 1e40 is SWANN_E_NUMERIC");
    CHECKF(has(swann_last_error(), "\"step\" schedule"), "the message names the schedule", "%s", swann_last_error());
    CHECK(memcmp(before, p, sizeof before) == 0 && rows_of(a) == 1, "parameters and T unchanged");
    CHECK_ST(swann_get_lr(a, &lr), SWANN_OK, "get_lr");
    CHECKF(!isnan(lr) && lr > FLT_MAX, "get_lr gives the rate beyond float, not NaN", "%g", lr);
    swann_destroy(a);
}

/* ---- item 9: set_lr(-0.0) ------------------------------------------------------- */

static void group_set_lr_negative_zero(void)
{
    swann_net *a = make(SCHED("0.5", "{\"type\": \"constant\"}"), 1);
    if (!a) { CHECK(0, "create"); return; }
    CHECK_ST(swann_set_lr(a, -0.0), SWANN_OK, "set_lr(-0.0)");
    char text[1024];
    size_t need = 0;
    CHECK_ST(swann_spec_json(a, text, sizeof text, &need), SWANN_OK, "spec_json");
    CHECKF(has(text, "\"lr\":0,") && !has(text, "-0"), "the canonical spec says \"lr\":0, never -0", "%s", text);
    double lr = -1;
    swann_get_lr(a, &lr);
    CHECK(lr == 0 && !signbit(lr), "get_lr gives +0");
    swann_destroy(a);
}

/* A W1-sized net on two threads, its weights unchanged over forwards (so they run
 * as an inference loop does): NaN or Inf at the first and last element of the batch
 * and of each half is SWANN_E_NUMERIC, and a backward after the refusals has the
 * bits of a twin's backward after the last good forward alone. */
static void group_input_refused_on_threads(void)
{
    enum { B = 128, IN = 784, OUT = 10 };
    const char *spec = "{\"input\": 784, \"layers\": [{\"units\": 512, \"activation\": \"relu\"}, "
                       "{\"units\": 256, \"activation\": \"relu\"}, {\"units\": 10, \"activation\": \"identity\"}], "
                       "\"loss\": \"mse\", \"seed\": 9, \"threads\": 2}";
    swann_net *a = make(spec, B), *twin = make(spec, B);
    float *x = malloc(B * IN * sizeof(float)), *t = malloc(B * OUT * sizeof(float));
    float *y = malloc(B * OUT * sizeof(float)), *yt = malloc(B * OUT * sizeof(float));
    float *dx = malloc(B * IN * sizeof(float)), *dxt = malloc(B * IN * sizeof(float));
    if (!a || !twin || !x || !t || !y || !yt || !dx || !dxt) { CHECK(0, "create"); return; }
    uint64_t rng = 5;
    for (size_t i = 0; i < B * IN; i++) x[i] = (float)rng_uniform(&rng, 0, 1);
    for (size_t i = 0; i < B * OUT; i++) t[i] = (float)rng_uniform(&rng, -1, 1);
    int ok = 1;
    for (int i = 0; i < 3; i++) ok &= swann_forward(a, x, B, y) == SWANN_OK;
    CHECK(ok, "three forwards on the same weights");
    const size_t at[] = {0, B / 2 * IN - 1, B / 2 * IN, B * IN - 1};
    const float bad[] = {NAN, INFINITY, -INFINITY};
    int refused = 1;
    for (size_t p = 0; p < sizeof at / sizeof at[0]; p++) {
        for (size_t k = 0; k < 3; k++) {
            float keep = x[at[p]];
            x[at[p]] = bad[k];
            swann_status s = swann_forward(a, x, B, yt);
            x[at[p]] = keep;
            if (s != SWANN_E_NUMERIC && refused) printf("# element %zu = %g: %s\n", at[p], (double)bad[k], swann_status_name(s));
            refused &= s == SWANN_E_NUMERIC;
        }
    }
    CHECK(refused, "NaN, +Inf and -Inf first and last in the batch and in each half are SWANN_E_NUMERIC");
    float la = 0, lt = 0;
    CHECK_ST(swann_backward(a, t, &la, dx), SWANN_OK, "backward after the refusals");
    ok = swann_forward(twin, x, B, yt) == SWANN_OK && swann_backward(twin, t, &lt, dxt) == SWANN_OK;
    size_t na = 0, nt = 0;
    float *ga = grads_of(a, &na), *gt = grads_of(twin, &nt);
    CHECK(ok && memcmp(y, yt, B * OUT * sizeof(float)) == 0 && memcmp(&la, &lt, sizeof la) == 0
          && memcmp(dx, dxt, B * IN * sizeof(float)) == 0 && na == nt && ga && gt
          && memcmp(ga, gt, na * sizeof(float)) == 0,
          "the backward has the bits of the last good forward's: outputs, loss, dx, gradients");
    free(x);
    free(t);
    free(y);
    free(yt);
    free(dx);
    free(dxt);
    swann_destroy(a);
    swann_destroy(twin);
}

int main(void)
{
    check_init("test_numeric_refusals");
    RUN_GROUP(group_dx_overflow);
    RUN_GROUP(group_grad_overflow_3_layers);
    RUN_GROUP(group_weight_grad_overflow);
    RUN_GROUP(group_exact_sums);
    RUN_GROUP(group_input_overflow);
    RUN_GROUP(group_targets);
    RUN_GROUP(group_spec_float32);
    RUN_GROUP(group_schedules);
    RUN_GROUP(group_set_lr_negative_zero);
    RUN_GROUP(group_input_refused_on_threads);
    return check_finish();
}
