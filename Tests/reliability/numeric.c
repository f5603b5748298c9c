/*
 * numeric.c -- numeric safety: what overflows is reported and never reaches the
 * parameters; extreme but finite values are handled by stable formulas.
 *
 *   group_nonfinite_data      NaN/Inf in x, target, dy: SWANN_E_NUMERIC, nothing changes
 *   group_loss_overflow       a loss that overflows float: SWANN_E_NUMERIC, nothing accumulated
 *   group_grad_overflow       gradients summed past FLT_MAX: step refuses, parameters unchanged
 *   group_update_overflow     an update that would overflow (lr 1e6, weight decay, Adam's and
 *                             RMSprop's g^2, momentum) is refused (rprop's steps are bounded
 *                             by step_max <= 1e6 and cannot overflow), and the refused step
 *                             leaves no trace: training afterwards equals a net that never saw it
 *   group_forward_overflow    z overflowing inside the net: reported by backward at the latest
 *   group_extreme_activations 1e30 through every activation: finite, right limits, finite gradients
 *   group_stable_losses       softmax+cross_entropy and sigmoid+binary_cross_entropy with logits
 *                             of +-1e30 and +-200: finite losses and gradients, right values
 *   group_save_refuses        a net with NaN values is not saved; the old file stays
 *   group_canonical_negzero   "lr": -0.0 gives a canonical spec that is a fixed point
 */
#include "check.h"

#include <float.h>
#include <sys/stat.h>

#define MB 4

static swann_net *make(const char *spec, size_t mb)
{
    swann_net *n = NULL;
    swann_status st = swann_create(spec, mb, NULL, 0, &n);
    if (st != SWANN_OK) {
        CHECKF(0, "create", "%s: %s\n  spec: %s", swann_status_name(st), swann_last_error(), spec);
        return NULL;
    }
    return n;
}

static float *P(swann_net *n, size_t *count)
{
    float *p = NULL;
    size_t c = 0;
    swann_params(n, &p, &c);
    if (count) *count = c;
    return p;
}

static float *G(swann_net *n)
{
    float *g = NULL;
    size_t c = 0;
    swann_grads(n, &g, &c);
    return g;
}

static size_t T(swann_net *n)
{
    size_t t = 0;
    swann_accumulated_rows(n, &t);
    return t;
}

static float *fdup(const float *p, size_t n)
{
    float *c = malloc(n * sizeof(float) + 1);
    memcpy(c, p, n * sizeof(float));
    return c;
}

static int all_finite(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) return 0;
    return 1;
}

static const char *SPEC_SOFTMAX =
    "{\"input\": 3, \"layers\": [{\"units\": 5, \"activation\": \"tanh\"}, {\"units\": 3, \"activation\": \"softmax\"}],"
    " \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1}, \"seed\": 11}";

/* ---- NaN and Inf in the data ------------------------------------------------ */

static void group_nonfinite_data(void)
{
    swann_net *n = make(SPEC_SOFTMAX, MB);
    if (!n) return;
    size_t pc;
    float *p = P(n, &pc);
    float x[MB * 3], d[MB * 3];
    for (int i = 0; i < MB * 3; i++) x[i] = 0.1f * (float)(i % 7) - 0.3f;
    memset(d, 0, sizeof d);
    for (int r = 0; r < MB; r++) d[r * 3 + r % 3] = 1;
    float loss0 = 0, loss1 = 0;
    CHECK_ST(swann_forward(n, x, MB, NULL), SWANN_OK, "forward of ordinary data");
    CHECK_ST(swann_backward(n, d, &loss0, NULL), SWANN_OK, "backward of ordinary data");
    float *p0 = fdup(p, pc), *g0 = fdup(G(n), pc);
    size_t t0 = T(n);
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const char *names[] = {"NaN", "+Inf", "-Inf"};
    for (int b = 0; b < 3; b++) {
        for (int at = 0; at < MB * 3; at += 5) {
            char what[200];
            float xb[MB * 3];
            memcpy(xb, x, sizeof x);
            xb[at] = bad[b];
            snprintf(what, sizeof what, "forward with %s at x[%d] is SWANN_E_NUMERIC", names[b], at);
            CHECK_ST(swann_forward(n, xb, MB, NULL), SWANN_E_NUMERIC, what);
            float db[MB * 3];
            memcpy(db, d, sizeof d);
            db[at] = bad[b];
            snprintf(what, sizeof what, "backward with %s at target[%d] is SWANN_E_NUMERIC", names[b], at);
            CHECK_ST(swann_backward(n, db, NULL, NULL), SWANN_E_NUMERIC, what);
            snprintf(what, sizeof what, "backward_grad with %s at dy[%d] is SWANN_E_NUMERIC", names[b], at);
            CHECK_ST(swann_backward_grad(n, db, NULL), SWANN_E_NUMERIC, what);
        }
    }
    CHECK(memcmp(p0, p, pc * sizeof(float)) == 0, "parameters unchanged by the refused calls");
    CHECK(memcmp(g0, G(n), pc * sizeof(float)) == 0, "gradients unchanged by the refused calls");
    CHECKF(T(n) == t0, "T unchanged by the refused calls", "T %zu, was %zu", T(n), t0);
    /* the rows of the last good forward are still the ones backward sees */
    CHECK_ST(swann_backward(n, d, &loss1, NULL), SWANN_OK, "backward after the refused forwards");
    CHECKF(loss1 == loss0, "it uses the last successful forward's rows", "loss %g, was %g", (double)loss1,
           (double)loss0);
    CHECK_ST(swann_step(n), SWANN_OK, "step after the refused calls");
    CHECK(all_finite(p, pc), "parameters finite");
    free(p0);
    free(g0);
    swann_destroy(n);
}

/* ---- a loss that overflows ---------------------------------------------------- */

static void group_loss_overflow(void)
{
    /* identity output, W = 1e20 everywhere, x = (1, 1): y = 2e20 (finite), but
     * (y - d)^2 = 4e40 is Inf in float */
    const char *spec = "{\"input\": 2, \"layers\": [{\"units\": 4, \"activation\": \"identity\"}], \"loss\": \"mse\","
                       " \"init\": \"zeros\"}";
    swann_net *n = make(spec, MB);
    if (!n) return;
    size_t pc;
    float *p = P(n, &pc);
    for (size_t i = 0; i < 8; i++) p[i] = 1e20f;  /* W */
    float x[MB * 2] = {1, 1, 1, 1, 1, 1, 1, 1}, d[MB * 4] = {0};
    float *p0 = fdup(p, pc);
    CHECK_ST(swann_forward(n, x, MB, NULL), SWANN_OK, "forward: outputs 2e20, finite");
    float loss = 123;
    CHECK_ST(swann_backward(n, d, &loss, NULL), SWANN_E_NUMERIC, "mse of 2e20 overflows float: SWANN_E_NUMERIC");
    CHECK(loss == 123, "the loss output is not written on failure");
    CHECKF(T(n) == 0, "nothing accumulated", "T %zu", T(n));
    CHECK(all_finite(G(n), pc) && G(n)[0] == 0, "gradients untouched");
    CHECK_ST(swann_step(n), SWANN_E_STATE, "step: nothing to apply");
    CHECK(memcmp(p0, p, pc * sizeof(float)) == 0, "parameters unchanged");
    free(p0);
    swann_destroy(n);
}

/* ---- gradients summed past FLT_MAX ---------------------------------------------- */

static void group_grad_overflow(void)
{
    const char *spec = "{\"input\": 2, \"layers\": [{\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"none\","
                       " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1}, \"seed\": 1}";
    swann_net *n = make(spec, MB);
    if (!n) return;
    size_t pc;
    float *p = P(n, &pc);
    float x[MB * 2] = {1, 1, 1, 1, 1, 1, 1, 1}, dy[MB * 2];
    for (int i = 0; i < MB * 2; i++) dy[i] = 3e38f;
    float *p0 = fdup(p, pc);
    CHECK_ST(swann_forward(n, x, MB, NULL), SWANN_OK, "forward");
    swann_status st = swann_backward_grad(n, dy, NULL);
    /* dW sums 4 rows of 3e38: past FLT_MAX. Either backward refuses it (all or nothing)
     * or step does; the parameters never see it. */
    CHECK_ST2(st, SWANN_OK, SWANN_E_NUMERIC, "backward_grad of 4 rows of 3e38");
    if (st == SWANN_OK) {
        CHECK_ST(swann_step(n), SWANN_E_NUMERIC, "step with an overflowed gradient is SWANN_E_NUMERIC");
        CHECKF(T(n) == MB, "T kept after the refused step", "T %zu", T(n));
    }
    CHECK(memcmp(p0, p, pc * sizeof(float)) == 0, "parameters unchanged");
    CHECK_ST(swann_zero_grad(n), SWANN_OK, "zero_grad discards the gradients");
    float ok_dy[MB * 2] = {0.5f, -0.5f, 0.25f, 0, 1, 1, -1, 0};
    CHECK_ST(swann_backward_grad(n, ok_dy, NULL), SWANN_OK, "backward_grad of ordinary values");
    CHECK_ST(swann_step(n), SWANN_OK, "step works again");
    CHECK(all_finite(p, pc) && memcmp(p0, p, pc * sizeof(float)) != 0, "parameters moved, finite");
    free(p0);
    swann_destroy(n);
}

/* ---- updates that would overflow ------------------------------------------------ */

static const struct upd {
    const char *name;
    const char *optimizer;
    float dy;        /* gradient per row (backward_grad) */
    float param;     /* every parameter set to this first */
} UPD[] = {
    {"sgd, lr 1e6, gradient 1e33", "{\"type\": \"sgd\", \"lr\": 1e6}", 1e33f, 0.5f},
    {"sgd, weight decay 1e6 of parameters 1e34", "{\"type\": \"sgd\", \"lr\": 1e3, \"weight_decay\": 1e6}", 1.0f, 1e34f},
    {"sgd momentum, lr 1e6, gradient 1e33", "{\"type\": \"sgd\", \"lr\": 1e6, \"momentum\": 0.9}", 1e33f, 0.5f},
    {"adam, gradient 1e30 (g^2 overflows)", "{\"type\": \"adam\", \"lr\": 0.001}", 1e30f, 0.5f},
    {"adam amsgrad, gradient 1e30", "{\"type\": \"adam\", \"lr\": 0.001, \"amsgrad\": true}", 1e30f, 0.5f},
    {"adamw, lr 1e6, weight decay 1e6", "{\"type\": \"adamw\", \"lr\": 1e6, \"weight_decay\": 1e6}", 1.0f, 1e30f},
    {"rmsprop, gradient 1e30 (g^2 overflows)", "{\"type\": \"rmsprop\", \"lr\": 0.01}", 1e30f, 0.5f},
    {"rmsprop centered momentum, gradient 1e30", "{\"type\": \"rmsprop\", \"lr\": 0.01, \"momentum\": 0.9,"
     " \"centered\": true}", 1e30f, 0.5f},
};

static void one_update(const struct upd *u)
{
    char spec[512], what[300];
    snprintf(spec, sizeof spec, "{\"input\": 2, \"layers\": [{\"units\": 2, \"activation\": \"identity\"}],"
             " \"loss\": \"none\", \"optimizer\": %s, \"seed\": 5}", u->optimizer);
    swann_net *a = make(spec, MB), *b = make(spec, MB);
    if (!a || !b) return;
    size_t pc;
    float *pa = P(a, &pc), *pb = P(b, NULL);
    for (size_t i = 0; i < pc; i++) pa[i] = pb[i] = u->param;
    float x[MB * 2] = {1, 0.5f, -1, 0.25f, 1, 1, 0, 1}, dy[MB * 2], ok[MB * 2] = {0.1f, -0.2f, 0.3f, 0, 0, 1, -1, 0.5f};
    for (int i = 0; i < MB * 2; i++) dy[i] = u->dy;
    float *p0 = fdup(pa, pc);
    swann_forward(a, x, MB, NULL);
    swann_status st = swann_backward_grad(a, dy, NULL);
    float *g0 = fdup(G(a), pc);
    if (st == SWANN_OK) {
        snprintf(what, sizeof what, "%s: the step is refused with SWANN_E_NUMERIC", u->name);
        CHECK_ST(swann_step(a), SWANN_E_NUMERIC, what);
        snprintf(what, sizeof what, "%s: parameters unchanged", u->name);
        CHECK(memcmp(p0, pa, pc * sizeof(float)) == 0, what);
        snprintf(what, sizeof what, "%s: gradients and T kept", u->name);
        CHECK(memcmp(g0, G(a), pc * sizeof(float)) == 0 && T(a) == MB, what);
    } else {
        snprintf(what, sizeof what, "%s: backward refuses the gradient", u->name);
        CHECK_ST(st, SWANN_E_NUMERIC, what);
    }
    swann_zero_grad(a);
    /* now both nets take the same ordinary steps: a refused step must leave no trace
     * (optimizer state, step count), so they stay bit-identical. lr is set sane. */
    swann_set_lr(a, 1e-3);
    swann_set_lr(b, 1e-3);
    for (size_t i = 0; i < pc; i++) pa[i] = pb[i] = 0.5f;
    int same = 1;
    for (int k = 0; k < 5; k++) {
        swann_forward(a, x, MB, NULL);
        swann_forward(b, x, MB, NULL);
        same &= swann_backward_grad(a, ok, NULL) == SWANN_OK && swann_backward_grad(b, ok, NULL) == SWANN_OK;
        same &= swann_step(a) == SWANN_OK && swann_step(b) == SWANN_OK;
    }
    snprintf(what, sizeof what, "%s: after the refused step, training equals a net that never saw it", u->name);
    CHECK(same && memcmp(pa, pb, pc * sizeof(float)) == 0 && all_finite(pa, pc), what);
    free(p0);
    free(g0);
    swann_destroy(a);
    swann_destroy(b);
}

static void group_update_overflow(void)
{
    for (size_t i = 0; i < sizeof UPD / sizeof UPD[0]; i++) one_update(&UPD[i]);
}

/* ---- z overflowing inside the net -------------------------------------------------- */

static void group_forward_overflow(void)
{
    const char *spec = "{\"input\": 2, \"layers\": [{\"units\": 3, \"activation\": \"tanh\"},"
                       " {\"units\": 2, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\", \"seed\": 2}";
    swann_net *n = make(spec, MB);
    if (!n) return;
    size_t pc;
    float *p = P(n, &pc);
    for (size_t i = 0; i < 6; i++) p[i] = 1e10f;  /* W_1: 1e30 * 1e10 overflows */
    float *p0 = fdup(p, pc);
    float x[MB * 2], y[MB * 2], d[MB * 2] = {1, 0, 0, 1, 1, 0, 0, 1};
    for (int i = 0; i < MB * 2; i++) x[i] = (i & 1) ? 1e30f : -1e30f;
    x[0] = 1e30f;
    swann_status st = swann_forward(n, x, MB, y);
    CHECK_ST2(st, SWANN_OK, SWANN_E_NUMERIC, "forward whose z overflows: OK (tanh saturates) or SWANN_E_NUMERIC");
    if (st == SWANN_OK) {
        printf("# forward with z overflowing: SWANN_OK, outputs %s\n", all_finite(y, MB * 2) ? "finite" : "NOT finite");
        st = swann_backward(n, d, NULL, NULL);
        CHECK_ST2(st, SWANN_OK, SWANN_E_NUMERIC, "backward after it");
        if (st == SWANN_OK) {
            st = swann_step(n);
            CHECK_ST2(st, SWANN_OK, SWANN_E_NUMERIC, "step after it");
        }
    }
    CHECK(all_finite(p, pc), "parameters stay finite whatever was refused");
    /* a layer whose output is the overflowed z itself */
    const char *spec2 = "{\"input\": 2, \"layers\": [{\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"mse\"}";
    swann_net *m = make(spec2, MB);
    if (m) {
        size_t pc2;
        float *q = P(m, &pc2);
        for (size_t i = 0; i < 4; i++) q[i] = 1e10f;
        float *q0 = fdup(q, pc2);
        st = swann_forward(m, x, MB, y);
        CHECK_ST2(st, SWANN_OK, SWANN_E_NUMERIC, "forward with an identity output of 2e40 (Inf in float)");
        if (st == SWANN_OK) {
            printf("# forward whose output overflows to Inf returns SWANN_OK (outputs %s)\n",
                   all_finite(y, MB * 2) ? "finite" : "Inf/NaN");
            CHECK_ST(swann_backward(m, d, NULL, NULL), SWANN_E_NUMERIC, "backward reports the overflowed output");
        }
        CHECKF(T(m) == 0, "nothing accumulated", "T %zu", T(m));
        CHECK(memcmp(q0, q, pc2 * sizeof(float)) == 0, "parameters unchanged");
        free(q0);
        swann_destroy(m);
    }
    free(p0);
    swann_destroy(n);
}

/* ---- 1e30 through every activation ---------------------------------------------------- */

static double ref_act(const char *a, double z, double alpha)
{
    if (!strcmp(a, "identity")) return z;
    if (!strcmp(a, "sigmoid")) return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
    if (!strcmp(a, "tanh")) return tanh(z);
    if (!strcmp(a, "relu")) return z > 0 ? z : 0;
    if (!strcmp(a, "leaky_relu")) return z > 0 ? z : alpha * z;
    if (!strcmp(a, "elu")) return z > 0 ? z : alpha * expm1(z);
    if (!strcmp(a, "softplus")) return (z > 0 ? z : 0) + log1p(exp(-fabs(z)));
    if (!strcmp(a, "gelu")) {
        if (fabs(z) > 1e10) return z > 0 ? z : 0;
        return 0.5 * z * (1 + tanh(0.7978845608028654 * (z + 0.044715 * z * z * z)));
    }
    return NAN;
}

#define NZ 8
static const float Z[NZ] = {1e30f, -1e30f, 3e38f, -3e38f, 1000.0f, -1000.0f, 88.8f, -88.8f};

static void group_extreme_activations(void)
{
    const char *acts[] = {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "softmax"};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        char spec[400], what[300];
        snprintf(spec, sizeof spec, "{\"input\": %d, \"layers\": [{\"units\": %d, \"activation\": \"%s\"}],"
                 " \"loss\": \"none\", \"init\": \"zeros\"}", NZ, NZ, acts[a]);
        swann_net *n = make(spec, 1);
        if (!n) continue;
        size_t pc;
        float *p = P(n, &pc);
        for (int i = 0; i < NZ; i++) p[i * NZ + i] = 1;  /* W = I, b = 0: z = x */
        float y[NZ], dy[NZ], dx[NZ];
        for (int i = 0; i < NZ; i++) dy[i] = 1e-3f;
        swann_status st = swann_forward(n, Z, 1, y);
        snprintf(what, sizeof what, "%s of +-1e30, +-3e38, +-1000, +-88.8: forward OK", acts[a]);
        CHECK_ST(st, SWANN_OK, what);
        if (st != SWANN_OK) { swann_destroy(n); continue; }
        int ok = 1;
        char bad[200] = "";
        double alpha = !strcmp(acts[a], "leaky_relu") ? 0.01 : 1.0;
        for (int i = 0; i < NZ; i++) {
            double want;
            if (!strcmp(acts[a], "softmax")) want = i == 2 ? 1.0 : 0.0;  /* 3e38 dominates */
            else want = ref_act(acts[a], Z[i], alpha);
            int good = isfinite(y[i]) && fabs(y[i] - want) <= 1e-5 * fabs(want) + 1e-30;
            if (!good && ok) snprintf(bad, sizeof bad, "y[%d] = %g for z = %g, expected %g", i, (double)y[i],
                                      (double)Z[i], want);
            ok &= good;
        }
        snprintf(what, sizeof what, "%s of extreme z: finite and the right limits", acts[a]);
        CHECKF(ok, what, "%s", bad);
        st = swann_backward_grad(n, dy, dx);
        snprintf(what, sizeof what, "%s of extreme z: backward_grad OK or SWANN_E_NUMERIC", acts[a]);
        CHECK_ST2(st, SWANN_OK, SWANN_E_NUMERIC, what);
        if (st == SWANN_OK) {
            /* dW = dz^T x has 1e30 * 3e38 entries for identity-like units: they may
             * overflow, and then step must refuse them; dx = dz W stays finite. */
            snprintf(what, sizeof what, "%s of extreme z: dx finite", acts[a]);
            CHECK(all_finite(dx, NZ), what);
            float *p0 = fdup(p, pc);
            st = swann_step(n);
            int gfin = all_finite(G(n), pc) || st != SWANN_OK;
            snprintf(what, sizeof what, "%s: step OK with finite gradients, or refused with SWANN_E_NUMERIC", acts[a]);
            CHECK((st == SWANN_OK && all_finite(p, pc)) || (st == SWANN_E_NUMERIC && !memcmp(p0, p, pc * sizeof(float))), what);
            (void)gfin;
            free(p0);
        }
        swann_destroy(n);
    }
}

/* ---- stable losses with extreme logits ------------------------------------------------- */

static void logits_case(const char *act, const char *loss, const float *z, const float *d, int cols,
                        double want_loss, const char *label)
{
    char spec[400], what[300];
    snprintf(spec, sizeof spec, "{\"input\": %d, \"layers\": [{\"units\": %d, \"activation\": \"%s\"}],"
             " \"loss\": \"%s\", \"init\": \"zeros\"}", cols, cols, act, loss);
    swann_net *n = make(spec, 1);
    if (!n) return;
    size_t pc;
    float *p = P(n, &pc);
    for (int i = 0; i < cols; i++) p[i * cols + i] = 1;
    float l = -1, dx[8];
    CHECK_ST(swann_forward(n, z, 1, NULL), SWANN_OK, "forward of the logits");
    swann_status st = swann_backward(n, d, &l, dx);
    snprintf(what, sizeof what, "%s + %s, %s: backward OK", act, loss, label);
    CHECK_ST(st, SWANN_OK, what);
    if (st == SWANN_OK) {
        snprintf(what, sizeof what, "%s + %s, %s: loss %g", act, loss, label, want_loss);
        CHECKF(isfinite(l) && fabs(l - want_loss) <= 1e-5 * fabs(want_loss) + 1e-6, what, "got %.9g", (double)l);
        snprintf(what, sizeof what, "%s + %s, %s: gradient finite", act, loss, label);
        CHECK(all_finite(dx, (size_t)cols) && all_finite(G(n), pc), what);
    }
    swann_destroy(n);
}

static void group_stable_losses(void)
{
    const float z3[3] = {1e30f, 0, -1e30f};
    const float c0[3] = {1, 0, 0}, c1[3] = {0, 1, 0}, c2[3] = {0, 0, 1};
    logits_case("softmax", "cross_entropy", z3, c0, 3, 0.0, "logits (1e30, 0, -1e30), class 0");
    logits_case("softmax", "cross_entropy", z3, c1, 3, 1e30, "logits (1e30, 0, -1e30), class 1");
    logits_case("softmax", "cross_entropy", z3, c2, 3, 2e30, "logits (1e30, 0, -1e30), class 2");
    const float z200[3] = {200, 100, -200};
    logits_case("softmax", "cross_entropy", z200, c1, 3, 100.0, "logits (200, 100, -200), class 1 (exp overflows)");
    const float zbig[2] = {1e30f, -1e30f};
    const float b10[2] = {1, 0}, b01[2] = {0, 1};
    logits_case("sigmoid", "binary_cross_entropy", zbig, b10, 2, 0.0, "logits (1e30, -1e30), right labels");
    logits_case("sigmoid", "binary_cross_entropy", zbig, b01, 2, 2e30, "logits (1e30, -1e30), wrong labels");
    const float z100[2] = {100, -100};
    logits_case("sigmoid", "binary_cross_entropy", z100, b01, 2, 200.0, "logits (100, -100), wrong labels");
    /* softmax + binary_cross_entropy is not fused: logs are clamped as PyTorch's BCELoss */
    logits_case("softmax", "binary_cross_entropy", zbig, b01, 2, 200.0, "softmax outputs (1, 0), wrong labels (clamped logs)");
    logits_case("sigmoid", "mse", zbig, b01, 2, 1.0, "sigmoid outputs (1, 0), labels (0, 1)");
}

/* ---- save refuses what load would refuse ------------------------------------------------ */

static void group_save_refuses(void)
{
    char dir[] = "/tmp/swann-numeric-XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    char path[300];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    swann_net *n = make(SPEC_SOFTMAX, MB);
    if (!n) return;
    size_t pc;
    float *p = P(n, &pc);
    float *p0 = fdup(p, pc);
    CHECK_ST(swann_save(n, path), SWANN_OK, "save a good net");
    p[3] = NAN;
    swann_status st = swann_save(n, path);
    CHECK_ST2(st, SWANN_E_NUMERIC, SWANN_E_ARG, "save of a net with a NaN parameter is refused");
    swann_net *back = NULL;
    CHECK_ST(swann_load(path, MB, NULL, 0, &back), SWANN_OK, "the old file still loads");
    if (back) {
        CHECK(memcmp(P(back, NULL), p0, pc * sizeof(float)) == 0, "with the old parameters");
        swann_destroy(back);
    }
    p[3] = p0[3];
    CHECK_ST(swann_save(n, path), SWANN_OK, "save works again once the value is finite");
    unlink(path);
    rmdir(dir);
    free(p0);
    swann_destroy(n);
}

/* ---- the canonical spec of -0 ------------------------------------------------------------- */

static void group_canonical_negzero(void)
{
    const char *spec = "{\"input\": 2, \"layers\": [{\"units\": 2, \"activation\": \"leaky_relu\", \"alpha\": -0.0}],"
                       " \"loss\": \"mse\", \"optimizer\": {\"type\": \"sgd\", \"lr\": -0.0}}";
    swann_net *a = NULL, *b = NULL;
    swann_status st = swann_create(spec, 1, NULL, 0, &a);
    CHECK_ST2(st, SWANN_OK, SWANN_E_SPEC, "a spec with -0.0 values: accepted (as 0) or refused");
    if (st != SWANN_OK) return;
    char c1[1024], c2[1024];
    size_t need;
    swann_spec_json(a, c1, sizeof c1, &need);
    CHECK_ST(swann_create(c1, 1, NULL, 0, &b), SWANN_OK, "its canonical spec is accepted");
    if (b) {
        swann_spec_json(b, c2, sizeof c2, &need);
        CHECKF(strcmp(c1, c2) == 0, "canonical -0: the canonical spec is a fixed point (same text when re-read)",
               "\n  %s\n  %s", c1, c2);
        swann_destroy(b);
    }
    swann_destroy(a);
}

int main(void)
{
    check_init("numeric");
    RUN_GROUP(group_nonfinite_data);
    RUN_GROUP(group_loss_overflow);
    RUN_GROUP(group_grad_overflow);
    RUN_GROUP(group_update_overflow);
    RUN_GROUP(group_forward_overflow);
    RUN_GROUP(group_extreme_activations);
    RUN_GROUP(group_stable_losses);
    RUN_GROUP(group_save_refuses);
    RUN_GROUP(group_canonical_negzero);
    return check_finish();
}
