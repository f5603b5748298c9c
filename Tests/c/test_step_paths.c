/*
 * test_step_paths.c -- a step gives the same result whether or not the host holds
 * the parameter and gradient buffers' addresses.
 *
 * The contract (include/swann.h, and the design's c-api.md, kept outside this
 * repository in ../shared/design): swann_step "updates the parameters ..., then
 * zeroes gradients and T"; swann_params / swann_grads "expose the flat parameter
 * and gradient buffers ... so a host can read, write or all-reduce them in place";
 * a step refused with SWANN_E_NUMERIC "leaves parameters, optimizer state,
 * gradients and T unchanged".
 *
 * Every case drives two nets made from the same spec through the same calls: net A
 * never asks for a buffer's address until the end, net B asks for both right after
 * create. Their parameters must stay bit for bit equal after every call, and A's
 * gradient, once asked for, must equal B's (all zero right after a step or a
 * zero_grad). Covered: several optimizers (plain SGD, momentum, weight decay,
 * clip_norm, Adam), one and two threads, gradients accumulated over several
 * backward calls, zero_grad, data-parallel steps without a backward, and gradients
 * large enough that the update must be checked value by value (finite, or refused).
 */
#include "check.h"

#define IN 32
#define OUT 10
#define B 16

static float X[4][B * IN], D[4][B * OUT];

static void fill(void)
{
    unsigned s = 12345;
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < B * IN; i++) {
            s = s * 1103515245u + 12345u;
            X[k][i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
        }
        for (int i = 0; i < B; i++) {
            s = s * 1103515245u + 12345u;
            D[k][i * OUT + (s >> 16) % OUT] = 1.0f;
        }
    }
}

static void spec_for(char *out, size_t cap, const char *opt, int threads)
{
    /* 83,850 parameters: above the size at which a step runs on the worker pool */
    snprintf(out, cap,
             "{\"input\": %d, \"layers\": [{\"units\": 512, \"activation\": \"relu\"},"
             " {\"units\": 128, \"activation\": \"relu\"}, {\"units\": %d, \"activation\": \"softmax\"}],"
             " \"loss\": \"cross_entropy\", \"optimizer\": %s, \"seed\": 7, \"threads\": %d}",
             IN, OUT, opt, threads);
}

struct pair {
    swann_net *a, *b;
    float *pb, *gb; /* B's buffers */
    size_t n;
};

static int make_pair(struct pair *p, const char *spec)
{
    memset(p, 0, sizeof *p);
    if (swann_create(spec, B, NULL, 0, &p->a) != SWANN_OK || swann_create(spec, B, NULL, 0, &p->b) != SWANN_OK) {
        CHECKF(0, "create the pair of nets", "%s: %s", spec, check_last_error_());
        return 0;
    }
    size_t n2 = 0;
    CHECK_ST(swann_params(p->b, &p->pb, &p->n), SWANN_OK, "params of net B");
    CHECK_ST(swann_grads(p->b, &p->gb, &n2), SWANN_OK, "grads of net B");
    return p->pb && p->gb && n2 == p->n;
}

static void free_pair(struct pair *p)
{
    swann_destroy(p->a);
    swann_destroy(p->b);
}

/* Net A's parameters cannot be read during a case without handing out their
 * address (which would put A on B's paths), so the nets' outputs are compared after
 * every step, and the parameters bit for bit only at the end (final_compare). */
static int same_outputs(struct pair *p, const float *x)
{
    float ya[B * OUT], yb[B * OUT];
    if (swann_forward(p->a, x, B, ya) != SWANN_OK || swann_forward(p->b, x, B, yb) != SWANN_OK) return 0;
    return memcmp(ya, yb, sizeof ya) == 0;
}

static int both(swann_status sa, swann_status sb, swann_status want, const char *what)
{
    CHECKF(sa == want && sb == want, what, "net A %s, net B %s, wanted %s (%s)", swann_status_name(sa),
           swann_status_name(sb), swann_status_name(want), check_last_error_());
    return sa == want && sb == want;
}

/* The end of every case: A's parameters and gradient equal B's bit for bit. */
static void final_compare(struct pair *p, const char *label, int grads_zero)
{
    char what[256];
    float *pa = NULL, *ga = NULL;
    size_t na = 0, ng = 0;
    CHECK_ST(swann_params(p->a, &pa, &na), SWANN_OK, "params of net A");
    CHECK_ST(swann_grads(p->a, &ga, &ng), SWANN_OK, "grads of net A");
    if (!pa || !ga || na != p->n || ng != p->n) return;
    snprintf(what, sizeof what, "%s: parameters bit for bit equal", label);
    CHECK(memcmp(pa, p->pb, p->n * sizeof(float)) == 0, what);
    snprintf(what, sizeof what, "%s: gradients bit for bit equal", label);
    CHECK(memcmp(ga, p->gb, p->n * sizeof(float)) == 0, what);
    if (grads_zero) {
        size_t nonzero = 0;
        for (size_t i = 0; i < p->n; i++) nonzero += ga[i] != 0;
        snprintf(what, sizeof what, "%s: gradient all zero after the step (as read through swann_grads)", label);
        CHECKF(nonzero == 0, what, "%zu nonzero values", nonzero);
    }
}

/* Training: steps of one forward and `backs` backward calls, then a step. */
static void case_training(const char *opt, int threads, int backs)
{
    char spec[1024], label[512];
    spec_for(spec, sizeof spec, opt, threads);
    snprintf(label, sizeof label, "%s, threads %d, %d backward per step", opt, threads, backs);
    struct pair p;
    if (!make_pair(&p, spec)) return;
    int ok = 1, same = 1;
    for (int s = 0; s < 12 && ok; s++) {
        const float *x = X[s % 4], *d = D[s % 4];
        ok = swann_forward(p.a, x, B, NULL) == SWANN_OK && swann_forward(p.b, x, B, NULL) == SWANN_OK;
        for (int k = 0; ok && k < backs; k++)
            ok = swann_backward(p.a, d, NULL, NULL) == SWANN_OK && swann_backward(p.b, d, NULL, NULL) == SWANN_OK;
        ok = ok && swann_step(p.a) == SWANN_OK && swann_step(p.b) == SWANN_OK;
        same = same && same_outputs(&p, X[(s + 1) % 4]);
    }
    char what[600];
    snprintf(what, sizeof what, "%s: 12 steps succeed on both nets", label);
    CHECKF(ok, what, "%s", check_last_error_());
    snprintf(what, sizeof what, "%s: outputs equal after every step", label);
    CHECK(same, what);
    final_compare(&p, label, 1);
    free_pair(&p);
}

/* zero_grad, then backward: the new sums start from zero on both nets; then a
 * data-parallel step (swann_step_rows) with no backward since the last step. */
static void case_zero_grad_and_rows(int threads)
{
    char spec[1024], label[128], what[256];
    spec_for(spec, sizeof spec, "{\"type\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9}", threads);
    snprintf(label, sizeof label, "zero_grad and step_rows, threads %d", threads);
    struct pair p;
    if (!make_pair(&p, spec)) return;
    swann_net *n2[2] = {p.a, p.b};
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        swann_net *n = n2[i];
        ok = ok && swann_forward(n, X[0], B, NULL) == SWANN_OK && swann_backward(n, D[0], NULL, NULL) == SWANN_OK;
        ok = ok && swann_zero_grad(n) == SWANN_OK;                      /* discard */
        ok = ok && swann_forward(n, X[1], B, NULL) == SWANN_OK && swann_backward(n, D[1], NULL, NULL) == SWANN_OK;
        ok = ok && swann_step(n) == SWANN_OK;
        ok = ok && swann_step_rows(n, 64) == SWANN_OK;                  /* zero gradient, momentum moves */
        ok = ok && swann_zero_grad(n) == SWANN_OK && swann_step_rows(n, 8) == SWANN_OK;
        ok = ok && swann_backward(n, D[1], NULL, NULL) == SWANN_OK;     /* rows of the last forward again */
        ok = ok && swann_step(n) == SWANN_OK;
    }
    snprintf(what, sizeof what, "%s: every call succeeds on both nets", label);
    CHECKF(ok, what, "%s", check_last_error_());
    final_compare(&p, label, 1);

    /* a gradient the host then reads: after one backward it is the same on both */
    swann_forward(p.a, X[2], B, NULL);
    swann_forward(p.b, X[2], B, NULL);
    swann_backward(p.a, D[2], NULL, NULL);
    swann_backward(p.b, D[2], NULL, NULL);
    snprintf(what, sizeof what, "%s, then backward", label);
    final_compare(&p, what, 0);
    free_pair(&p);
}

/* Gradients so large that lr * max|g| / T exceeds 2^100: the step must check the
 * update value by value. Finite: both nets step alike. Overflowing: both refuse
 * and keep parameters and gradients. */
static void case_large_gradients(int threads)
{
    char spec[1024], label[128], what[256];
    spec_for(spec, sizeof spec, "{\"type\": \"sgd\", \"lr\": 1.0}", threads);
    snprintf(label, sizeof label, "large gradients, threads %d", threads);
    struct pair p;
    if (!make_pair(&p, spec)) return;
    static float dy[B * OUT];
    for (int i = 0; i < B * OUT; i++) dy[i] = (i % 3 ? 1.0f : -1.0f) * 1e34f;
    both(swann_forward(p.a, X[0], B, NULL), swann_forward(p.b, X[0], B, NULL), SWANN_OK, "forward");
    both(swann_backward_grad(p.a, dy, NULL), swann_backward_grad(p.b, dy, NULL), SWANN_OK, "backward_grad 1e34");
    snprintf(what, sizeof what, "%s: a finite update of about 1e34 steps on both nets", label);
    both(swann_step(p.a), swann_step(p.b), SWANN_OK, what);
    snprintf(what, sizeof what, "%s, finite update", label);
    final_compare(&p, what, 1);
    free_pair(&p);

    /* lr 1e6, fresh nets: the same finite gradient now overflows the parameters */
    spec_for(spec, sizeof spec, "{\"type\": \"sgd\", \"lr\": 1e6}", threads);
    if (!make_pair(&p, spec)) return;
    both(swann_forward(p.a, X[1], B, NULL), swann_forward(p.b, X[1], B, NULL), SWANN_OK, "forward");
    both(swann_backward_grad(p.a, dy, NULL), swann_backward_grad(p.b, dy, NULL), SWANN_OK, "backward_grad 1e34");
    float before[B * OUT], after[B * OUT];
    swann_forward(p.b, X[1], B, before);
    snprintf(what, sizeof what, "%s: an overflowing update is refused by net A", label);
    CHECK_ST(swann_step(p.a), SWANN_E_NUMERIC, what);
    snprintf(what, sizeof what, "%s: net A refused it for the update, not for the gradient", label);
    CHECKF(strstr(swann_last_error(), "update") != NULL, what, "%s", swann_last_error());
    snprintf(what, sizeof what, "%s: an overflowing update is refused by net B", label);
    CHECK_ST(swann_step(p.b), SWANN_E_NUMERIC, what);
    swann_forward(p.b, X[1], B, after);
    snprintf(what, sizeof what, "%s: the refused step left net B's outputs unchanged", label);
    CHECK(memcmp(before, after, sizeof before) == 0, what);
    size_t rows_a = 0, rows_b = 0;
    swann_accumulated_rows(p.a, &rows_a);
    swann_accumulated_rows(p.b, &rows_b);
    snprintf(what, sizeof what, "%s: T kept by the refused step", label);
    CHECKF(rows_a == B && rows_b == B, what, "A %zu, B %zu", rows_a, rows_b);
    snprintf(what, sizeof what, "%s, refused update", label);
    final_compare(&p, what, 0);
    free_pair(&p);
}

/* Plain SGD proves its update finite from a bound on the gradient, which net A's own
 * backward gives it (net B's gradient is shared: its step measures the gradient). One
 * layer, so that one way of bounding decides: 64 units read by 16 rows (the sums
 * bounded from |grad_z| and |x|), 8 units (the gradient's largest value, measured by
 * the backward's check), and two backward calls (the second call's sums bounded and
 * added to the first's). Each either overflows (lr 1e6 on sums near 1e35: refused,
 * everything kept), or is finite though no bound proves it (checked value by value,
 * taken), or is proven finite (taken unchecked); always alike on both nets. */
static void case_gradient_bounds(int threads)
{
    static const struct {
        int units;
        float x_scale, dy_scale[2];
        int backs;
        const char *lr;
        int refuse;
    } cases[] = {
        {64, 1e16f, {1e18f}, 1, "1e6", 1},
        {64, 1e12f, {1e18f}, 1, "1e6", 0},
        {64, 1.0f, {1.0f}, 1, "0.01", 0},
        {8, 1.0f, {1.0f}, 1, "0.01", 0},
        {64, 1e16f, {1.0f, 1e18f}, 2, "1e6", 1},
        {64, 1e12f, {1.0f, 1e18f}, 2, "1e6", 0},
        {64, 1.0f, {1.0f, 1.0f}, 2, "0.01", 0},
    };
    static float x[B * IN], dy[B * 64];
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char spec[1024], label[256], what[512];
        snprintf(spec, sizeof spec,
                 "{\"input\": %d, \"layers\": [{\"units\": %d, \"activation\": \"identity\"}],"
                 " \"loss\": \"none\", \"optimizer\": {\"type\": \"sgd\", \"lr\": %s}, \"seed\": 3,"
                 " \"threads\": %d}", IN, cases[c].units, cases[c].lr, threads);
        snprintf(label, sizeof label, "gradient bounds: %d units, x %g, dy %g then %g, lr %s, threads %d",
                 cases[c].units, cases[c].x_scale, cases[c].dy_scale[0], cases[c].dy_scale[1], cases[c].lr, threads);
        struct pair p;
        if (!make_pair(&p, spec)) return;
        for (int i = 0; i < B * IN; i++) x[i] = X[2][i] * cases[c].x_scale;
        snprintf(what, sizeof what, "%s: forward", label);
        both(swann_forward(p.a, x, B, NULL), swann_forward(p.b, x, B, NULL), SWANN_OK, what);
        for (int k = 0; k < cases[c].backs; k++) {
            for (int i = 0; i < B * cases[c].units; i++)
                dy[i] = (float)((i * 37) % 101 - 50) / 50.0f * cases[c].dy_scale[k];
            snprintf(what, sizeof what, "%s: backward_grad %d", label, k + 1);
            both(swann_backward_grad(p.a, dy, NULL), swann_backward_grad(p.b, dy, NULL), SWANN_OK, what);
        }
        int refuse = cases[c].refuse;
        snprintf(what, sizeof what, "%s: the step %s on both nets", label, refuse ? "refused" : "taken");
        both(swann_step(p.a), swann_step(p.b), refuse ? SWANN_E_NUMERIC : SWANN_OK, what);
        if (refuse) {
            size_t rows = 0;
            swann_accumulated_rows(p.a, &rows);
            snprintf(what, sizeof what, "%s: T kept by net A's refused step", label);
            CHECKF(rows == (size_t)(B * cases[c].backs), what, "%zu rows", rows);
        }
        final_compare(&p, label, !refuse);
        float *pa = NULL;
        size_t n = 0, bad = 0;
        swann_params(p.a, &pa, &n);
        for (size_t i = 0; pa && i < n; i++) bad += !(pa[i] - pa[i] == 0);
        snprintf(what, sizeof what, "%s: every parameter of net A finite", label);
        CHECKF(pa && bad == 0, what, "%zu of %zu not finite", bad, n);
        free_pair(&p);
    }
}

/* A host that writes a NaN into the parameters: the step that would carry it on
 * is refused (the parameters are no longer known finite once their address is out). */
static void case_host_nan_param(void)
{
    char spec[1024];
    spec_for(spec, sizeof spec, "{\"type\": \"sgd\", \"lr\": 0.1}", 1);
    swann_net *n = NULL;
    CHECK_ST(swann_create(spec, B, NULL, 0, &n), SWANN_OK, "create");
    if (!n) return;
    swann_forward(n, X[0], B, NULL);
    swann_backward(n, D[0], NULL, NULL);
    CHECK_ST(swann_step(n), SWANN_OK, "a first step before the host has the parameters' address");
    float *pp = NULL;
    size_t cnt = 0;
    CHECK_ST(swann_params(n, &pp, &cnt), SWANN_OK, "params");
    if (pp && cnt > 5) {
        float keep = pp[5];
        pp[5] = NAN;
        swann_backward(n, D[0], NULL, NULL);
        CHECK_ST(swann_step(n), SWANN_E_NUMERIC, "a NaN the host wrote into the parameters: step refused");
        CHECK(isnan(pp[5]), "the refused step changed nothing (the NaN is still there)");
        pp[5] = keep;
        CHECK_ST(swann_step(n), SWANN_OK, "the parameter mended: the same gradient steps");
    }
    swann_destroy(n);
}

int main(void)
{
    check_init("test_step_paths");
    fill();
    static const char *opts[] = {
        "{\"type\": \"sgd\", \"lr\": 0.05}",
        "{\"type\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9, \"nesterov\": true}",
        "{\"type\": \"sgd\", \"lr\": 0.05, \"weight_decay\": 0.01}",
        "{\"type\": \"sgd\", \"lr\": 0.5, \"clip_norm\": 0.1}",
        "{\"type\": \"adam\", \"lr\": 0.001}",
    };
    for (int t = 1; t <= 2; t++) {
        for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) case_training(opts[i], t, 1);
        case_training(opts[0], t, 3);
        case_zero_grad_and_rows(t);
        case_large_gradients(t);
        case_gradient_bounds(t);
    }
    case_host_nan_param();
    return check_finish();
}
