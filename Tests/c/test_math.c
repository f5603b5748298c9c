/*
 * test_math.c -- the lecture's math, checked against an independent double
 * precision reference (ref.h): forward, gradients (analytic reference and
 * finite differences through the library itself), grad_x, the accumulation
 * rule over T, the optimizer updates, backward_grad, and refused updates.
 */
#include "check.h"
#include "ref.h"

#define MAXB 8

static swann_net *create_net(const ref_net *n, const char *tail, size_t maxb)
{
    char spec[2048];
    ref_spec(n, tail, spec, sizeof spec);
    swann_net *net = NULL;
    swann_status st = swann_create(spec, maxb, NULL, 0, &net);
    if (st != SWANN_OK) {
        CHECKF(0, "create net", "spec %s: %s (%s)", spec, check_name_(st), check_last_error_());
        return NULL;
    }
    if (swann_param_count(net) != ref_param_count(n)) {
        CHECKF(0, "param_count matches the reference layout", "%zu vs %zu", swann_param_count(net),
               ref_param_count(n));
        swann_destroy(net);
        return NULL;
    }
    return net;
}

/* random params written through the view; copies kept in double */
static void set_params(swann_net *net, double *P, size_t n, uint64_t seed, double scale)
{
    float *p;
    size_t c;
    swann_params(net, &p, &c);
    for (size_t i = 0; i < n && i < c; i++) {
        p[i] = (float)rng_uniform(&seed, -scale, scale);
        P[i] = p[i];
    }
}

static void make_targets(const ref_net *n, double *d, float *df, int batch, uint64_t seed)
{
    int D = n->sz[n->nl];
    for (int r = 0; r < batch; r++) {
        double *row = d + r * D;
        switch (n->loss) {
        case L_CE: {
            if (r % 2 == 0) { /* one-hot */
                int c = (int)(rng_next(&seed) % (uint64_t)D);
                for (int i = 0; i < D; i++) row[i] = i == c;
            } else { /* soft labels */
                double s = 0;
                for (int i = 0; i < D; i++) s += row[i] = rng_uniform(&seed, 0.05, 1);
                for (int i = 0; i < D; i++) row[i] /= s;
            }
            break;
        }
        case L_BCE:
            for (int i = 0; i < D; i++) row[i] = (i + r) % 3 == 0 ? rng_uniform(&seed, 0, 1) : (double)((i + r) % 2);
            break;
        default:
            for (int i = 0; i < D; i++) row[i] = rng_uniform(&seed, -1, 1);
        }
        for (int i = 0; i < D; i++) {
            df[r * D + i] = (float)row[i];
            row[i] = df[r * D + i];
        }
    }
}

/* ---- forward against the reference --------------------------------------- */

static void forward_case(const char *name, ref_net *n, double pscale, double xscale, uint64_t seed)
{
    swann_net *net = create_net(n, NULL, MAXB);
    if (!net) return;
    size_t np = ref_param_count(n);
    double P[2048];
    set_params(net, P, np, seed, pscale);
    int B = 5, I = n->sz[0], O = n->sz[n->nl];
    float x[MAXB * REF_MAXU], y[MAXB * REF_MAXU];
    double xd[MAXB * REF_MAXU], yr[MAXB * REF_MAXU];
    for (int i = 0; i < B * I; i++) xd[i] = x[i] = (float)rng_uniform(&seed, -xscale, xscale);
    for (int r = 0; r < B; r++) {
        ref_trace t;
        ref_forward(n, P, xd + r * I, &t);
        for (int o = 0; o < O; o++) yr[r * O + o] = t.y[n->nl][o];
    }
    char what[256];
    snprintf(what, sizeof what, "forward status: %s", name);
    CHECK_ST(swann_forward(net, x, (size_t)B, y), SWANN_OK, what);
    snprintf(what, sizeof what, "forward output = f_N(W_N ... f_1(W_1 x + b_1) ... + b_N): %s", name);
    cmp_vec(y, yr, (size_t)(B * O), 1e-4, 1e-3, 1e-6, what, __FILE__, __LINE__);
    swann_destroy(net);
}

/* each scalar activation on a grid of z in [-8, 8]: one layer, input 1, W_j = z_j, b = 0, x = 1 */
static void activation_grid(int a, int alpha_given, double alpha)
{
    enum { U = 129 };
    ref_net n = {.nl = 1, .sz = {1, U}, .act = {a}, .alpha = {alpha}, .alpha_given = {alpha_given}, .loss = L_MSE};
    swann_net *net = create_net(&n, NULL, 1);
    if (!net) return;
    float *p;
    size_t c;
    swann_params(net, &p, &c);
    double want[U], dwant[U];
    for (int j = 0; j < U; j++) {
        p[j] = (float)(-8.0 + 16.0 * j / (U - 1));
        p[U + j] = 0;
        want[j] = ref_f(a, p[j], ref_alpha(&n, 0));
        dwant[j] = ref_df(a, p[j], ref_alpha(&n, 0));
    }
    float x = 1.0f, y[U], d[U], dx = 0;
    char what[200];
    snprintf(what, sizeof what, "%s%s on a grid of z in [-8, 8] (x = 1, W = z, b = 0)", ACT_NAME[a],
             alpha_given ? " (explicit alpha)" : " (default alpha where it has one)");
    CHECK_ST(swann_forward(net, &x, 1, y), SWANN_OK, what);
    /* float evaluation is good to ~1e-7 absolute; tanh-vs-erf gelu differ by up to 4.7e-4 */
    cmp_vec(y, want, U, 1e-5, 0, 1.0, what, __FILE__, __LINE__);
    /* derivative: dy = 1 on every output; grad_b_j = f'(z_j) */
    for (int j = 0; j < U; j++) d[j] = y[j] - 1.0f; /* mse: dY = Y - d = 1 */
    if (swann_backward(net, d, NULL, &dx) == SWANN_OK) {
        float *g;
        swann_grads(net, &g, &c);
        snprintf(what, sizeof what, "%s derivative f'(z) on the grid (grad_b with dY = 1)", ACT_NAME[a]);
        cmp_vec(g + U, dwant, U, 1e-5, 0, 1.0, what, __FILE__, __LINE__);
    } else {
        CHECK(0, "backward on the activation grid");
    }
    swann_destroy(net);
}

static void group_forward(void)
{
    for (int a = 0; a < A_SOFTMAX; a++) activation_grid(a, 0, 0);
    activation_grid(A_LRELU, 1, 0.25);
    activation_grid(A_ELU, 1, 0.4);

    for (int a = 0; a < A_COUNT; a++) {
        ref_net n = {.nl = 2, .sz = {4, 6, 3}, .act = {a, a}, .loss = L_MSE};
        char name[128];
        snprintf(name, sizeof name, "4-6(%s)-3(%s)", ACT_NAME[a], ACT_NAME[a]);
        forward_case(name, &n, 1.0, 2.0, 100 + (uint64_t)a);
        snprintf(name, sizeof name, "4-6(%s)-3(identity), large pre-activations (|z| up to ~60)", ACT_NAME[a]);
        ref_net m = {.nl = 2, .sz = {4, 6, 3}, .act = {a, A_ID}, .loss = L_MSE};
        forward_case(name, &m, 5.0, 3.0, 200 + (uint64_t)a);
    }
    ref_net lr = {.nl = 2, .sz = {4, 6, 3}, .act = {A_LRELU, A_LRELU}, .alpha = {0.2, 0.3}, .alpha_given = {1, 1}};
    forward_case("leaky_relu alpha 0.2 / 0.3", &lr, 1.0, 2.0, 300);
    ref_net el = {.nl = 2, .sz = {4, 6, 3}, .act = {A_ELU, A_ELU}, .alpha = {0.5, 2.0}, .alpha_given = {1, 1}};
    forward_case("elu alpha 0.5 / 2.0", &el, 1.0, 2.0, 301);
    ref_net deep = {.nl = 4, .sz = {5, 7, 6, 4, 3}, .act = {A_RELU, A_TANH, A_GELU, A_SOFTMAX}};
    forward_case("4 layers relu/tanh/gelu/softmax", &deep, 1.0, 2.0, 302);

    /* softmax of huge logits is still a distribution */
    ref_net sm = {.nl = 1, .sz = {2, 4}, .act = {A_SOFTMAX}, .loss = L_CE};
    swann_net *net = create_net(&sm, NULL, 4);
    if (net) {
        float *p;
        size_t c;
        swann_params(net, &p, &c);
        memset(p, 0, c * sizeof(float));
        p[8] = 1000.0f; /* b = [1000, 0, -1000, 0] */
        p[10] = -1000.0f;
        float x[2] = {0.5f, -0.5f}, y[4];
        CHECK_ST(swann_forward(net, x, 1, y), SWANN_OK, "softmax forward with logits +-1000");
        CHECKF(y[0] == 1.0f && y[1] == 0.0f && y[2] == 0.0f && y[3] == 0.0f,
               "softmax of [1000,0,-1000,0] is [1,0,0,0] (no overflow, no NaN)", "%g %g %g %g", (double)y[0],
               (double)y[1], (double)y[2], (double)y[3]);
        swann_destroy(net);
    }
}

/* ---- gradients against the reference -------------------------------------- */

static void grad_case(const char *name, ref_net *n, uint64_t seed, int B)
{
    swann_net *net = create_net(n, NULL, MAXB);
    if (!net) return;
    size_t np = ref_param_count(n);
    static double P[4096], G[4096];
    set_params(net, P, np, seed, 0.8);
    int I = n->sz[0], O = n->sz[n->nl];
    float x[MAXB * REF_MAXU], d[MAXB * REF_MAXU], dx[MAXB * REF_MAXU], y[MAXB * REF_MAXU];
    double xd[MAXB * REF_MAXU], dd[MAXB * REF_MAXU], dxr[MAXB * REF_MAXU];
    for (int i = 0; i < B * I; i++) xd[i] = x[i] = (float)rng_uniform(&seed, -1.5, 1.5);
    if (n->loss == L_NONE) {
        for (int i = 0; i < B * O; i++) dd[i] = d[i] = (float)rng_uniform(&seed, -1, 1);
    } else {
        make_targets(n, dd, d, B, seed + 7);
    }
    memset(G, 0, np * sizeof(double));
    double lsum = 0;
    for (int r = 0; r < B; r++) lsum += ref_row(n, P, xd + r * I, dd + r * O, G, dxr + r * I);

    char what[300];
    swann_status st = swann_forward(net, x, (size_t)B, y);
    float loss = NAN;
    if (n->loss == L_NONE)
        st = st ? st : swann_backward_grad(net, d, dx);
    else
        st = st ? st : swann_backward(net, d, &loss, dx);
    snprintf(what, sizeof what, "forward+backward OK: %s", name);
    CHECK_ST(st, SWANN_OK, what);
    if (st != SWANN_OK) {
        swann_destroy(net);
        return;
    }
    float *g;
    size_t gc;
    swann_grads(net, &g, &gc);
    snprintf(what, sizeof what, "grads = sum over rows of grad Div (vs reference backward): %s", name);
    CMP_VEC(g, G, np, 2e-4, what);
    snprintf(what, sizeof what, "dx = grad_x Div per row (vs reference): %s", name);
    CMP_VEC(dx, dxr, (size_t)(B * I), 2e-4, what);
    if (n->loss != L_NONE) {
        double want = lsum / B;
        snprintf(what, sizeof what, "loss = mean Div over rows: %s", name);
        CHECKF(close_rel(loss, want, 1e-5, 1e-7), what, "got %.9g want %.9g", (double)loss, want);
    }
    swann_destroy(net);
}

static void group_grads(void)
{
    char name[160];
    for (int a = 0; a < A_COUNT; a++) {
        ref_net n = {.nl = 2, .sz = {3, 5, 4}, .act = {a, a}, .loss = L_MSE};
        snprintf(name, sizeof name, "3-5(%s)-4(%s), mse", ACT_NAME[a], ACT_NAME[a]);
        grad_case(name, &n, 1000 + (uint64_t)a, 3);
        ref_net m = {.nl = 2, .sz = {3, 5, 4}, .act = {a, A_ID}, .loss = L_MSE};
        snprintf(name, sizeof name, "3-5(%s)-4(identity), mse", ACT_NAME[a]);
        grad_case(name, &m, 1100 + (uint64_t)a, 4);
    }
    ref_net ce = {.nl = 2, .sz = {3, 5, 4}, .act = {A_TANH, A_SOFTMAX}, .loss = L_CE};
    grad_case("3-5(tanh)-4(softmax), cross_entropy, one-hot and soft labels", &ce, 2000, 4);
    ref_net ce2 = {.nl = 2, .sz = {3, 5, 4}, .act = {A_RELU, A_SOFTMAX}, .loss = L_CE};
    grad_case("3-5(relu)-4(softmax), cross_entropy", &ce2, 2001, 5);
    ref_net bce = {.nl = 2, .sz = {3, 5, 4}, .act = {A_RELU, A_SIG}, .loss = L_BCE};
    grad_case("3-5(relu)-4(sigmoid), binary_cross_entropy", &bce, 2002, 4);
    ref_net bce2 = {.nl = 2, .sz = {3, 5, 2}, .act = {A_TANH, A_SIG}, .loss = L_BCE};
    grad_case("3-5(tanh)-2(sigmoid), binary_cross_entropy", &bce2, 2003, 6);
    ref_net sce = {.nl = 2, .sz = {3, 5, 4}, .act = {A_TANH, A_SIG}, .loss = L_CE};
    grad_case("3-5(tanh)-4(sigmoid), cross_entropy (-sum d log Y without softmax)", &sce, 2004, 4);
    ref_net none = {.nl = 2, .sz = {3, 5, 4}, .act = {A_TANH, A_ID}, .loss = L_NONE};
    grad_case("3-5(tanh)-4(identity), loss none, backward_grad with random dy", &none, 2005, 4);
    ref_net nsm = {.nl = 2, .sz = {3, 5, 4}, .act = {A_ELU, A_SOFTMAX}, .loss = L_NONE};
    grad_case("3-5(elu)-4(softmax), loss none, backward_grad through the softmax Jacobian", &nsm, 2006, 4);
    ref_net deep = {.nl = 4, .sz = {4, 6, 5, 5, 3}, .act = {A_RELU, A_TANH, A_SOFTMAX, A_GELU}, .loss = L_MSE};
    grad_case("4 layers relu/tanh/softmax/gelu, mse", &deep, 2007, 5);
    ref_net lr = {.nl = 2, .sz = {3, 5, 4}, .act = {A_LRELU, A_ELU}, .alpha = {0.3, 0.6}, .alpha_given = {1, 1},
                  .loss = L_MSE};
    grad_case("leaky_relu alpha 0.3 / elu alpha 0.6, mse", &lr, 2008, 4);
    ref_net one = {.nl = 1, .sz = {3, 2}, .act = {A_SIG}, .loss = L_MSE};
    grad_case("single layer 3-2 sigmoid, mse, batch 1", &one, 2009, 1);
    ref_net full = {.nl = 2, .sz = {3, 5, 4}, .act = {A_TANH, A_ID}, .loss = L_MSE};
    grad_case("3-5(tanh)-4(identity), mse, batch = max_batch", &full, 2010, MAXB);
}

/* ---- larger and odd sizes (kernel blocking remainders), bigger batches ------ */

static void size_case(int in, int hid, int out, int B, int maxb, int act, int oact, int lossk, uint64_t seed)
{
    ref_net n = {.nl = 2, .sz = {in, hid, out}, .act = {act, oact}, .loss = lossk};
    char name[200], what[300];
    snprintf(name, sizeof name, "%d-%d(%s)-%d(%s) %s, batch %d of max %d", in, hid, ACT_NAME[act], out, ACT_NAME[oact],
             LOSS_NAME[lossk], B, maxb);
    swann_net *net = create_net(&n, NULL, (size_t)maxb);
    if (!net) return;
    size_t np = ref_param_count(&n);
    double *P = calloc(np, sizeof *P), *G = calloc(np, sizeof *G);
    float *x = calloc((size_t)B * in, sizeof(float)), *d = calloc((size_t)B * out, sizeof(float));
    float *y = calloc((size_t)B * out, sizeof(float)), *dx = calloc((size_t)B * in, sizeof(float));
    double *xd = calloc((size_t)B * in, sizeof(double)), *dd = calloc((size_t)B * out, sizeof(double));
    double *yr = calloc((size_t)B * out, sizeof(double)), *dxr = calloc((size_t)B * in, sizeof(double));
    if (!P || !G || !x || !d || !y || !dx || !xd || !dd || !yr || !dxr) {
        CHECK(0, "test allocation");
        goto out;
    }
    float *p;
    size_t c;
    swann_params(net, &p, &c);
    size_t o = 0;
    for (int k = 0; k < 2; k++) {
        int fi = n.sz[k], fo = n.sz[k + 1];
        double a = sqrt(3.0 / fi);
        for (int i = 0; i < fi * fo + fo; i++, o++) P[o] = p[o] = (float)rng_uniform(&seed, -a, a);
    }
    for (int i = 0; i < B * in; i++) xd[i] = x[i] = (float)rng_uniform(&seed, -1.5, 1.5);
    make_targets(&n, dd, d, B, seed + 3);
    double lsum = 0;
    for (int r = 0; r < B; r++) {
        ref_trace t;
        ref_forward(&n, P, xd + (size_t)r * in, &t);
        for (int j = 0; j < out; j++) yr[(size_t)r * out + j] = t.y[2][j];
        lsum += ref_row(&n, P, xd + (size_t)r * in, dd + (size_t)r * out, G, dxr + (size_t)r * in);
    }
    float loss = NAN;
    swann_status st = swann_forward(net, x, (size_t)B, y);
    st = st ? st : swann_backward(net, d, &loss, dx);
    snprintf(what, sizeof what, "forward+backward OK: %s", name);
    CHECK_ST(st, SWANN_OK, what);
    if (st == SWANN_OK) {
        float *g;
        swann_grads(net, &g, &c);
        snprintf(what, sizeof what, "forward output vs reference: %s", name);
        cmp_vec(y, yr, (size_t)B * out, 1e-3, 1e-2, 1e-7, what, __FILE__, __LINE__);
        snprintf(what, sizeof what, "grads vs reference: %s", name);
        cmp_vec(g, G, np, 1e-3, 1e-2, 1e-7, what, __FILE__, __LINE__);
        snprintf(what, sizeof what, "dx vs reference: %s", name);
        cmp_vec(dx, dxr, (size_t)B * in, 1e-3, 1e-2, 1e-7, what, __FILE__, __LINE__);
        snprintf(what, sizeof what, "loss vs reference: %s", name);
        CHECKF(close_rel(loss, lsum / B, 1e-4, 1e-7), what, "got %.9g want %.9g", (double)loss, lsum / B);
    }
out:
    free(P), free(G), free(x), free(d), free(y), free(dx), free(xd), free(dd), free(yr), free(dxr);
    swann_destroy(net);
}

static void group_sizes(void)
{
    size_case(1, 1, 1, 1, 1, A_TANH, A_ID, L_MSE, 1);
    size_case(17, 33, 9, 7, 16, A_TANH, A_ID, L_MSE, 2);
    size_case(64, 128, 32, 32, 32, A_RELU, A_ID, L_MSE, 3);
    size_case(130, 67, 5, 13, 64, A_GELU, A_SOFTMAX, L_CE, 4);
    size_case(31, 150, 10, 64, 64, A_RELU, A_SOFTMAX, L_CE, 5);
    size_case(9, 15, 31, 33, 40, A_ELU, A_SIG, L_BCE, 6);
    size_case(100, 100, 100, 3, 100, A_SIG, A_TANH, L_MSE, 7);
    size_case(8, 16, 4, 1, 256, A_LRELU, A_ID, L_MSE, 8);
    /* operands whose rows span a megabyte or more: dx's product reads W (320 x 1030) and
     * dW's reads x (256 x 1030) through the row-by-row packing, 64 whole panels and 6 columns */
    size_case(1030, 320, 10, 256, 256, A_RELU, A_SOFTMAX, L_CE, 9);
}

/* ---- finite differences through the library itself ------------------------- */

/* sum over rows of Div computed in double from the library's output */
static double lib_sum_div(swann_net *net, const ref_net *n, const float *x, const double *d, int B)
{
    float y[MAXB * REF_MAXU];
    if (swann_forward(net, x, (size_t)B, y) != SWANN_OK) return NAN;
    int D = n->sz[n->nl];
    double s = 0;
    for (int r = 0; r < B; r++)
        for (int i = 0; i < D; i++) {
            double Y = y[r * D + i], t = d[r * D + i];
            if (n->loss == L_MSE) s += 0.5 * (Y - t) * (Y - t);
            else if (n->loss == L_BCE) s -= t * log(Y) + (1 - t) * log(1 - Y);
            else s -= t * log(Y);
        }
    return s;
}

static void fd_case(const char *name, ref_net *n, uint64_t seed)
{
    swann_net *net = create_net(n, NULL, MAXB);
    if (!net) return;
    size_t np = ref_param_count(n);
    double P[1024];
    set_params(net, P, np, seed, 0.8);
    const int B = 3;
    int I = n->sz[0], O = n->sz[n->nl];
    float x[MAXB * REF_MAXU], d[MAXB * REF_MAXU], dx[MAXB * REF_MAXU];
    double dd[MAXB * REF_MAXU];
    for (int i = 0; i < B * I; i++) x[i] = (float)rng_uniform(&seed, -1.5, 1.5);
    make_targets(n, dd, d, B, seed + 1);

    float loss = NAN;
    swann_forward(net, x, B, NULL);
    swann_status st = swann_backward(net, d, &loss, dx);
    char what[256];
    snprintf(what, sizeof what, "backward OK: %s", name);
    CHECK_ST(st, SWANN_OK, what);
    float *p, *g;
    size_t c;
    swann_params(net, &p, &c);
    swann_grads(net, &g, &c);
    float g0[1024];
    memcpy(g0, g, np * sizeof(float));
    double f0 = lib_sum_div(net, n, x, dd, B);
    snprintf(what, sizeof what, "reported loss = mean Div of the library's own outputs: %s", name);
    CHECKF(close_rel(loss, f0 / B, 2e-6, 1e-7), what, "loss %.9g, mean Div %.9g", (double)loss, f0 / B);

    /* central differences on every parameter */
    double fd[1024];
    for (size_t i = 0; i < np; i++) {
        float orig = p[i];
        const double h = 2e-3;
        p[i] = (float)(orig + h);
        double hp = (double)p[i] - orig;
        double fp = lib_sum_div(net, n, x, dd, B);
        p[i] = (float)(orig - h);
        double hm = orig - (double)p[i];
        double fm = lib_sum_div(net, n, x, dd, B);
        p[i] = orig;
        fd[i] = (fp - fm) / (hp + hm);
    }
    snprintf(what, sizeof what,
             "grads match central finite differences of the library's forward (perturbed via the params view): %s",
             name);
    cmp_vec(g0, fd, np, 2e-2, 2e-2, 1e-4, what, __FILE__, __LINE__);
    /* dx against finite differences in the input */
    double fdx[MAXB * REF_MAXU];
    for (int i = 0; i < B * I; i++) {
        float orig = x[i];
        x[i] = (float)(orig + 2e-3);
        double hp = (double)x[i] - orig;
        double fp = lib_sum_div(net, n, x, dd, B);
        x[i] = (float)(orig - 2e-3);
        double hm = orig - (double)x[i];
        double fm = lib_sum_div(net, n, x, dd, B);
        x[i] = orig;
        fdx[i] = (fp - fm) / (hp + hm);
    }
    snprintf(what, sizeof what, "dx matches central finite differences in the input: %s", name);
    cmp_vec(dx, fdx, (size_t)(B * I), 2e-2, 2e-2, 1e-4, what, __FILE__, __LINE__);
    (void)O;
    swann_destroy(net);
}

static void group_fd(void)
{
    char name[128];
    for (int a = 0; a < A_COUNT; a++) {
        ref_net n = {.nl = 2, .sz = {3, 4, 3}, .act = {a, A_SIG}, .loss = L_MSE};
        snprintf(name, sizeof name, "3-4(%s)-3(sigmoid) mse", ACT_NAME[a]);
        fd_case(name, &n, 3000 + (uint64_t)a);
    }
    ref_net ce = {.nl = 2, .sz = {3, 4, 3}, .act = {A_TANH, A_SOFTMAX}, .loss = L_CE};
    fd_case("3-4(tanh)-3(softmax) cross_entropy", &ce, 3100);
    ref_net bce = {.nl = 2, .sz = {3, 4, 3}, .act = {A_GELU, A_SIG}, .loss = L_BCE};
    fd_case("3-4(gelu)-3(sigmoid) binary_cross_entropy", &bce, 3101);
}

/* ---- stable softmax + cross-entropy --------------------------------------- */

static void group_stable_ce(void)
{
    ref_net n = {.nl = 1, .sz = {2, 4}, .act = {A_SOFTMAX}, .loss = L_CE};
    swann_net *net = create_net(&n, NULL, 4);
    if (!net) return;
    float *p, *g;
    size_t c;
    swann_params(net, &p, &c);
    memset(p, 0, c * sizeof(float));
    p[8] = 100.0f; /* z = b = [100, 0, 0, -20] for any x */
    p[11] = -20.0f;
    float x[2] = {0.3f, -0.7f}, d[4] = {0, 0, 0, 1}, loss = NAN;
    CHECK_ST(swann_forward(net, x, 1, NULL), SWANN_OK, "forward with logits [100,0,0,-20]");
    CHECK_ST(swann_backward(net, d, &loss, NULL), SWANN_OK,
             "backward: target on a class of probability e^-120 (underflows float) is still OK");
    double want = 100.0 + log1p(2 * exp(-100.0) + exp(-120.0)) + 20.0;
    CHECKF(close_rel(loss, want, 1e-5, 0), "softmax+cross_entropy loss computed stably via log-sum-exp (~120)",
           "got %.9g want %.9g", (double)loss, want);
    swann_grads(net, &g, &c);
    /* grad_b = Y - d = [1, ~0, ~0, -1]; grad_W = (Y - d) x^T */
    double gw[12] = {0};
    for (int o = 0; o < 4; o++)
        for (int i = 0; i < 2; i++) gw[o * 2 + i] = (o == 0 ? 1.0 : o == 3 ? -1.0 : 0.0) * x[i];
    gw[8] = 1;
    gw[11] = -1;
    gw[9] = gw[10] = exp(-100.0);
    CMP_VEC(g, gw, 12, 1e-5, "softmax+cross_entropy gradients finite and = (Y - d) at extreme logits");
    CHECK_ST(swann_step(net), SWANN_OK, "step after the extreme-logit backward OK");
    swann_destroy(net);
}

/* ---- accumulation over T ---------------------------------------------------- */

static const ref_net ACC_NET = {.nl = 2, .sz = {4, 6, 3}, .act = {A_TANH, A_ID}, .loss = L_MSE};

static void data_for(float *x, float *d, int B, uint64_t seed)
{
    for (int i = 0; i < B * 4; i++) x[i] = (float)rng_uniform(&seed, -1, 1);
    for (int i = 0; i < B * 3; i++) d[i] = (float)rng_uniform(&seed, -1, 1);
}

static int params_close(swann_net *a, swann_net *b, double rel, double *worst)
{
    float *pa, *pb;
    size_t na, nb;
    swann_params(a, &pa, &na);
    swann_params(b, &pb, &nb);
    if (na != nb) return 0;
    *worst = 0;
    int ok = 1;
    for (size_t i = 0; i < na; i++) {
        double e = fabs((double)pa[i] - pb[i]) / fmax(fabs(pa[i]), 1e-2);
        if (e > *worst) *worst = e;
        if (e > rel || !isfinite(pa[i]) || !isfinite(pb[i])) ok = 0;
    }
    return ok;
}

static void accumulate_case(const char *opt, int split, int steps)
{
    char tail[256], what[300];
    snprintf(tail, sizeof tail, "\"optimizer\": %s, \"seed\": 5", opt);
    swann_net *a = create_net(&ACC_NET, tail, MAXB), *b = create_net(&ACC_NET, tail, MAXB);
    if (!a || !b) {
        swann_destroy(a);
        swann_destroy(b);
        return;
    }
    const int B = 5;
    float x[MAXB * 4], d[MAXB * 3];
    int ok = 1;
    for (int s = 0; s < steps; s++) {
        data_for(x, d, B, 77 + (uint64_t)s);
        ok &= swann_forward(a, x, (size_t)split, NULL) == SWANN_OK;
        ok &= swann_backward(a, d, NULL, NULL) == SWANN_OK;
        ok &= swann_forward(a, x + split * 4, (size_t)(B - split), NULL) == SWANN_OK;
        ok &= swann_backward(a, d + split * 3, NULL, NULL) == SWANN_OK;
        ok &= swann_forward(b, x, B, NULL) == SWANN_OK;
        ok &= swann_backward(b, d, NULL, NULL) == SWANN_OK;
        if (s == 0) {
            float *ga, *gb;
            size_t n;
            swann_grads(a, &ga, &n);
            swann_grads(b, &gb, &n);
            double gbd[256];
            for (size_t i = 0; i < n; i++) gbd[i] = gb[i];
            snprintf(what, sizeof what, "grads of rows %d+%d accumulated = grads of all %d rows at once", split,
                     B - split, B);
            CMP_VEC(ga, gbd, n, 1e-5, what);
        }
        ok &= swann_step(a) == SWANN_OK;
        ok &= swann_step(b) == SWANN_OK;
    }
    snprintf(what, sizeof what, "all calls OK (%s, split %d+%d)", opt, split, B - split);
    CHECK(ok, what);
    double worst = 0;
    snprintf(what, sizeof what,
             "%d x (forward/backward on %d rows + on %d rows, step) = %d x (forward/backward on %d rows, step) [%s]",
             steps, split, B - split, steps, B, opt);
    CHECKF(params_close(a, b, 1e-6, &worst), what, "worst relative difference %.3g", worst);
    swann_destroy(a);
    swann_destroy(b);
}

static void group_accumulate(void)
{
    accumulate_case("{\"type\": \"sgd\", \"lr\": 0.1}", 2, 1);
    accumulate_case("{\"type\": \"sgd\", \"lr\": 0.1}", 1, 3); /* T counts rows, not calls */
    accumulate_case("{\"type\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9}", 3, 4);
    accumulate_case("{\"type\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9, \"nesterov\": true}", 4, 3);

    /* two backward calls on the same forward: grads doubled, T doubled */
    const char *tail = "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1}, \"seed\": 9";
    swann_net *a = create_net(&ACC_NET, tail, MAXB), *b = create_net(&ACC_NET, tail, MAXB);
    if (a && b) {
        float x[MAXB * 4], d[MAXB * 3], l1 = NAN, l2 = NAN;
        data_for(x, d, 5, 99);
        swann_forward(a, x, 5, NULL);
        swann_forward(b, x, 5, NULL);
        CHECK_ST(swann_backward(a, d, &l1, NULL), SWANN_OK, "first backward OK");
        float *ga, *gb;
        size_t n;
        swann_grads(a, &ga, &n);
        double once[256];
        for (size_t i = 0; i < n; i++) once[i] = 2.0 * ga[i];
        CHECK_ST(swann_backward(a, d, &l2, NULL), SWANN_OK, "second backward on the same forward OK");
        CHECKF(l1 == l2, "second backward reports the same loss", "%.9g vs %.9g", (double)l1, (double)l2);
        CMP_VEC(ga, once, n, 1e-6, "grads after two backward calls on the same forward are 2x one call");
        int exact = 1;
        for (size_t i = 0; i < n; i++)
            if ((double)ga[i] != once[i]) exact = 0;
        printf("# note: doubling is %s\n", exact ? "bit-exact" : "not bit-exact (within tolerance)");
        swann_backward(b, d, NULL, NULL);
        swann_grads(b, &gb, &n);
        (void)gb;
        CHECK_ST(swann_step(a), SWANN_OK, "step after two backward OK");
        CHECK_ST(swann_step(b), SWANN_OK, "step after one backward OK");
        double worst = 0;
        CHECKF(params_close(a, b, 1e-6, &worst), "step after 2 backward calls (T doubled) = step after 1",
               "worst relative difference %.3g", worst);
    }
    swann_destroy(a);
    swann_destroy(b);
}

/* forward keeps what backward needs: the host may reuse its buffers */
static void group_keeps_rows(void)
{
    const char *tail = "\"seed\": 12";
    swann_net *a = create_net(&ACC_NET, tail, MAXB), *b = create_net(&ACC_NET, tail, MAXB);
    if (a && b) {
        float x[MAXB * 4], d[MAXB * 3], y[MAXB * 3], xb[MAXB * 4];
        data_for(x, d, 5, 123);
        memcpy(xb, x, sizeof x);
        CHECK_ST(swann_forward(a, x, 5, y), SWANN_OK, "forward OK");
        for (int i = 0; i < 5 * 4; i++) x[i] = 100.0f + (float)i; /* host reuses x and y */
        for (int i = 0; i < 5 * 3; i++) y[i] = -7.0f;
        CHECK_ST(swann_backward(a, d, NULL, NULL), SWANN_OK, "backward after the host overwrote x and y OK");
        swann_forward(b, xb, 5, NULL);
        swann_backward(b, d, NULL, NULL);
        float *ga, *gb;
        size_t n;
        swann_grads(a, &ga, &n);
        swann_grads(b, &gb, &n);
        CHECK(memcmp(ga, gb, n * sizeof(float)) == 0,
              "backward uses the rows kept by forward, not the host's (since overwritten) x and y buffers");
    }
    swann_destroy(a);
    swann_destroy(b);
}

/* ---- optimizer updates --------------------------------------------------- */

struct snap {
    float p[256], g[256];
    size_t n;
};

static int run_batch(swann_net *net, const float *x, const float *d, int B, struct snap *s)
{
    float *p, *g;
    size_t n;
    swann_params(net, &p, &n);
    memcpy(s->p, p, n * sizeof(float));
    if (swann_forward(net, x, (size_t)B, NULL) != SWANN_OK) return 0;
    if (swann_backward(net, d, NULL, NULL) != SWANN_OK) return 0;
    swann_grads(net, &g, &n);
    memcpy(s->g, g, n * sizeof(float));
    s->n = n;
    return swann_step(net) == SWANN_OK;
}

/* |got - want| within a few float ulps of the operands */
static void check_update(swann_net *net, const double *want, const struct snap *s, double ulps, const char *what,
                         int weights_only)
{
    float *p;
    size_t n;
    swann_params(net, &p, &n);
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        if (weights_only && !((i < 24) || (i >= 30 && i < 48))) continue; /* W_1: 0..23, W_2: 30..47 */
        double scale = fmax(fabs(s->p[i]), fabs(want[i] - s->p[i])) + 1e-30;
        double e = fabs((double)p[i] - want[i]) / (scale * FLT_EPSILON);
        if (!(e <= worst)) {
            worst = isnan(e) ? INFINITY : e;
            wi = i;
        }
    }
    CHECKF(worst <= ulps, what, "param %zu: got %.9g want %.9g (was %.9g, grad %.9g): %.1f ulps", wi,
           (double)p[wi], want[wi], (double)s->p[wi], (double)s->g[wi], worst);
}

static void group_optim(void)
{
    const int B = 5;
    float x[MAXB * 4], d[MAXB * 3];
    double want[256];
    struct snap s1, s2;

    /* plain SGD: W -= lr/T * grad Err */
    swann_net *net = create_net(&ACC_NET, "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1}, \"seed\": 3", MAXB);
    if (net) {
        data_for(x, d, B, 1);
        CHECK(run_batch(net, x, d, B, &s1), "sgd: forward/backward/step OK");
        for (size_t i = 0; i < s1.n; i++) want[i] = s1.p[i] - (0.1 / B) * s1.g[i];
        check_update(net, want, &s1, 4, "plain SGD: p1 = p0 - (lr/T) * grad Err (T = 5 rows)", 0);
        /* T = 2 backward calls x 3 rows */
        data_for(x, d, 3, 2);
        float *p, *g;
        size_t n;
        swann_params(net, &p, &n);
        memcpy(s2.p, p, n * sizeof(float));
        swann_forward(net, x, 3, NULL);
        swann_backward(net, d, NULL, NULL);
        swann_backward(net, d, NULL, NULL);
        swann_grads(net, &g, &n);
        memcpy(s2.g, g, n * sizeof(float));
        CHECK_ST(swann_step(net), SWANN_OK, "step OK");
        for (size_t i = 0; i < n; i++) want[i] = s2.p[i] - (0.1 / 6) * s2.g[i];
        check_update(net, want, &s2, 4, "plain SGD after two backward calls: T = 6", 0);
        swann_destroy(net);
    }
    /* the host may write the gradient buffer (e.g. an all-reduce) before step */
    net = create_net(&ACC_NET, "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.2}, \"seed\": 3", MAXB);
    if (net) {
        data_for(x, d, 3, 21);
        float *p, *g;
        size_t n;
        swann_params(net, &p, &n);
        swann_grads(net, &g, &n);
        swann_forward(net, x, 3, NULL);
        swann_backward(net, d, NULL, NULL);
        memcpy(s1.p, p, n * sizeof(float));
        for (size_t i = 0; i < n; i++) g[i] = s1.g[i] = 0.01f * (float)((int)i - 20);
        s1.n = n;
        CHECK_ST(swann_step(net), SWANN_OK, "step after the host rewrote the gradients OK");
        for (size_t i = 0; i < n; i++) want[i] = s1.p[i] - (0.2 / 3) * s1.g[i];
        check_update(net, want, &s1, 4, "step applies the gradients as written by the host through the grads view", 0);
        swann_destroy(net);
    }
    /* default optimizer: sgd with lr 0.01 */
    net = create_net(&ACC_NET, "\"seed\": 3", MAXB);
    if (net) {
        data_for(x, d, B, 3);
        CHECK(run_batch(net, x, d, B, &s1), "default optimizer: forward/backward/step OK");
        for (size_t i = 0; i < s1.n; i++) want[i] = s1.p[i] - (0.01 / B) * s1.g[i];
        check_update(net, want, &s1, 4, "default optimizer is plain SGD with lr 0.01", 0);
        swann_destroy(net);
    }
    /* momentum: v = mu v + g/T, p -= lr v (PyTorch; same as v = mu v - lr g/T for fixed lr) */
    net = create_net(&ACC_NET, "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9}, \"seed\": 3",
                     MAXB);
    if (net) {
        data_for(x, d, B, 4);
        CHECK(run_batch(net, x, d, B, &s1), "momentum step 1 OK");
        for (size_t i = 0; i < s1.n; i++) want[i] = s1.p[i] - 0.1 * (s1.g[i] / B);
        check_update(net, want, &s1, 8, "SGD momentum, step 1: p -= lr * g/T", 0);
        data_for(x, d, 3, 5);
        CHECK(run_batch(net, x, d, 3, &s2), "momentum step 2 OK");
        for (size_t i = 0; i < s2.n; i++) want[i] = s2.p[i] - 0.1 * (0.9 * (s1.g[i] / B) + s2.g[i] / 3);
        check_update(net, want, &s2, 16, "SGD momentum, step 2: p -= lr * (mu * v1 + g2/T2)", 0);
        swann_destroy(net);
    }
    /* nesterov: v = mu v + g; p -= lr (g + mu v) */
    net = create_net(&ACC_NET,
                     "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9, \"nesterov\": true}, "
                     "\"seed\": 3",
                     MAXB);
    if (net) {
        data_for(x, d, B, 6);
        CHECK(run_batch(net, x, d, B, &s1), "nesterov step 1 OK");
        for (size_t i = 0; i < s1.n; i++) {
            double g = s1.g[i] / B, v = g;
            want[i] = s1.p[i] - 0.1 * (g + 0.9 * v);
        }
        check_update(net, want, &s1, 8, "SGD nesterov, step 1: p -= lr * (g + mu * g)", 0);
        data_for(x, d, B, 7);
        CHECK(run_batch(net, x, d, B, &s2), "nesterov step 2 OK");
        for (size_t i = 0; i < s2.n; i++) {
            double g1 = s1.g[i] / B, g2 = s2.g[i] / B, v = 0.9 * g1 + g2;
            want[i] = s2.p[i] - 0.1 * (g2 + 0.9 * v);
        }
        check_update(net, want, &s2, 16, "SGD nesterov, step 2: v = mu v + g; p -= lr (g + mu v)", 0);
        swann_destroy(net);
    }
    /* weight decay (L2 added to the gradient, as PyTorch SGD), checked on weights */
    net = create_net(&ACC_NET, "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"weight_decay\": 0.5}, \"seed\": 3",
                     MAXB);
    if (net) {
        data_for(x, d, B, 8);
        CHECK(run_batch(net, x, d, B, &s1), "weight_decay step OK");
        for (size_t i = 0; i < s1.n; i++) want[i] = s1.p[i] - 0.1 * (s1.g[i] / B + 0.5 * s1.p[i]);
        check_update(net, want, &s1, 8, "SGD weight_decay: W -= lr * (g/T + wd * W)", 1);
        swann_destroy(net);
    }
    /* first steps of the adaptive optimizers move every parameter by the same size, against its gradient */
    static const struct {
        const char *opt;
        double exact; /* expected |delta| or 0 when only "all equal" is checked */
        const char *why;
    } ad[] = {{"{\"type\": \"adam\", \"lr\": 0.01}", 0.01, "adam first step: |delta| = lr (bias-corrected)"},
              {"{\"type\": \"adamw\", \"lr\": 0.01, \"weight_decay\": 0}", 0.01, "adamw (wd 0) first step: |delta| = lr"},
              {"{\"type\": \"rprop\", \"lr\": 0.01}", 0.01, "rprop first step: |delta| = lr (initial step size)"},
              {"{\"type\": \"rmsprop\", \"lr\": 0.01}", 0, "rmsprop first step: all |delta| equal (= lr/sqrt(1-alpha))"}};
    for (size_t k = 0; k < sizeof ad / sizeof ad[0]; k++) {
        char tail[256];
        snprintf(tail, sizeof tail, "\"optimizer\": %s, \"seed\": 3", ad[k].opt);
        net = create_net(&ACC_NET, tail, MAXB);
        if (!net) continue;
        data_for(x, d, B, 9);
        char what[256];
        snprintf(what, sizeof what, "%s: forward/backward/step OK", ad[k].opt);
        CHECK(run_batch(net, x, d, B, &s1), what);
        float *p;
        size_t n;
        swann_params(net, &p, &n);
        double ref = ad[k].exact;
        int ok = 1, used = 0;
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) {
            double g = s1.g[i] / B;
            if (fabs(g) < 1e-3) continue; /* eps no longer negligible */
            double delta = (double)p[i] - s1.p[i];
            if (ref == 0) ref = fabs(delta);
            used++;
            if (!(delta * g < 0) || fabs(fabs(delta) - ref) > 2e-3 * ref) {
                if (ok) bad = i;
                ok = 0;
            }
        }
        CHECKF(ok && used > 10 && ref > 0, ad[k].why, "param %zu moved %.9g for grad/T %.9g (ref |delta| %.9g, %d used)",
               bad, (double)p[bad] - s1.p[bad], s1.g[bad] / B, ref, used);
        swann_destroy(net);
    }
}

/* ---- backward_grad, refused updates, zero_grad ---------------------------------- */

static void group_backward_grad(void)
{
    ref_net mse = {.nl = 2, .sz = {4, 6, 3}, .act = {A_SIG, A_TANH}, .loss = L_MSE};
    ref_net none = mse;
    none.loss = L_NONE;
    swann_net *a = create_net(&mse, NULL, MAXB), *b = create_net(&none, NULL, MAXB);
    if (!a || !b) {
        swann_destroy(a);
        swann_destroy(b);
        return;
    }
    float *pa, *pb, *ga, *gb;
    size_t n;
    swann_params(a, &pa, &n);
    swann_params(b, &pb, &n);
    uint64_t seed = 42;
    for (size_t i = 0; i < n; i++) pa[i] = pb[i] = (float)rng_uniform(&seed, -1, 1);
    const int B = 4;
    float x[MAXB * 4], d[MAXB * 3], ya[MAXB * 3], yb[MAXB * 3], dy[MAXB * 3], dxa[MAXB * 4], dxb[MAXB * 4];
    data_for(x, d, B, 11);
    swann_forward(a, x, B, ya);
    swann_forward(b, x, B, yb);
    CHECK(memcmp(ya, yb, sizeof(float) * B * 3) == 0, "loss none and mse nets with equal params: same forward");
    for (int i = 0; i < B * 3; i++) dy[i] = ya[i] - d[i];
    CHECK_ST(swann_backward(a, d, NULL, dxa), SWANN_OK, "backward (mse) OK");
    CHECK_ST(swann_backward_grad(b, dy, dxb), SWANN_OK, "backward_grad with dy = Y - d OK");
    swann_grads(a, &ga, &n);
    swann_grads(b, &gb, &n);
    double gad[256], dxad[MAXB * 4];
    for (size_t i = 0; i < n; i++) gad[i] = ga[i];
    for (int i = 0; i < B * 4; i++) dxad[i] = dxa[i];
    CMP_VEC(gb, gad, n, 1e-6, "backward_grad(dy = Y - d) gives the grads of backward with mse");
    CMP_VEC(dxb, dxad, (size_t)B * 4, 1e-6, "backward_grad(dy = Y - d) gives the dx of backward with mse");
    CHECK_ST(swann_step(a), SWANN_OK, "step (mse) OK");
    CHECK_ST(swann_step(b), SWANN_OK, "step (backward_grad) OK");
    double worst;
    CHECKF(params_close(a, b, 1e-6, &worst), "... and the same update", "worst %.3g", worst);

    /* non-finite dy: refused at backward_grad (nothing accumulated) or at step
     * (nothing changed); never applied */
    const float badv[] = {NAN, INFINITY, -INFINITY};
    const char *bn[] = {"NaN", "+Inf", "-Inf"};
    for (int k = 0; k < 3; k++) {
        char what[200];
        swann_zero_grad(b);
        swann_forward(b, x, B, NULL);
        /* first a valid backward so there is something accumulated */
        CHECK_ST(swann_backward_grad(b, dy, NULL), SWANN_OK, "valid backward_grad OK");
        float p0[256], g0[256];
        swann_params(b, &pb, &n);
        swann_grads(b, &gb, &n);
        memcpy(p0, pb, n * sizeof(float));
        memcpy(g0, gb, n * sizeof(float));
        float bad[MAXB * 3];
        memcpy(bad, dy, sizeof bad);
        bad[5] = badv[k];
        swann_status st = swann_backward_grad(b, bad, NULL);
        snprintf(what, sizeof what, "backward_grad with %s in dy: OK or SWANN_E_NUMERIC", bn[k]);
        CHECK_ST2(st, SWANN_OK, SWANN_E_NUMERIC, what);
        if (st == SWANN_E_NUMERIC) {
            snprintf(what, sizeof what, "%s dy refused at backward_grad: accumulated grads unchanged (all or nothing)",
                     bn[k]);
            CHECK(memcmp(g0, gb, n * sizeof(float)) == 0, what);
            snprintf(what, sizeof what, "%s dy refused: the earlier valid rows still step", bn[k]);
            CHECK_ST(swann_step(b), SWANN_OK, what);
            for (size_t i = 0; i < n; i++) p0[i] = (float)(p0[i] - (0.01 / B) * g0[i]);
            double w = 0;
            for (size_t i = 0; i < n; i++) w = fmax(w, fabs((double)pb[i] - p0[i]) / fmax(fabs(p0[i]), 1e-3));
            snprintf(what, sizeof what, "%s dy refused: the step used T = %d (only the valid rows)", bn[k], B);
            CHECKF(w < 1e-5, what, "worst relative %.3g", w);
        } else {
            snprintf(what, sizeof what, "%s dy accepted: step is SWANN_E_NUMERIC", bn[k]);
            CHECK_ST(swann_step(b), SWANN_E_NUMERIC, what);
            snprintf(what, sizeof what, "%s dy: refused step leaves params bit-identical", bn[k]);
            CHECK(memcmp(p0, pb, n * sizeof(float)) == 0, what);
            snprintf(what, sizeof what, "%s dy: refused step keeps gradients and T (refused again)", bn[k]);
            CHECK_ST(swann_step(b), SWANN_E_NUMERIC, what);
            CHECK(memcmp(p0, pb, n * sizeof(float)) == 0, "params still unchanged");
            CHECK_ST(swann_zero_grad(b), SWANN_OK, "zero_grad discards them");
            CHECK_ST(swann_step(b), SWANN_E_STATE, "then step is SWANN_E_STATE");
        }
        /* the net still trains */
        swann_forward(b, x, B, NULL);
        st = swann_backward_grad(b, dy, NULL);
        swann_status s2 = swann_step(b);
        snprintf(what, sizeof what, "after %s dy the net still trains", bn[k]);
        CHECKF(st == SWANN_OK && s2 == SWANN_OK, what, "%s %s", check_name_(st), check_name_(s2));
    }

    /* a gradient that overflows: huge but finite dy */
    {
        swann_zero_grad(b);
        swann_forward(b, x, B, NULL);
        float huge[MAXB * 3];
        for (int i = 0; i < B * 3; i++) huge[i] = 3e38f;
        float p0[256];
        swann_params(b, &pb, &n);
        memcpy(p0, pb, n * sizeof(float));
        swann_status st = swann_backward_grad(b, huge, NULL);
        CHECK_ST2(st, SWANN_OK, SWANN_E_NUMERIC, "backward_grad with dy = 3e38 (gradients overflow)");
        if (st == SWANN_OK) {
            swann_grads(b, &gb, &n);
            int fin = 1;
            for (size_t i = 0; i < n; i++)
                if (!isfinite(gb[i])) fin = 0;
            if (!fin) {
                CHECK_ST(swann_step(b), SWANN_E_NUMERIC, "step with overflowed (Inf) gradients is SWANN_E_NUMERIC");
            } else {
                CHECK_ST2(swann_step(b), SWANN_OK, SWANN_E_NUMERIC, "step with huge finite gradients");
            }
            int finp = 1;
            for (size_t i = 0; i < n; i++)
                if (!isfinite(pb[i])) finp = 0;
            CHECK(finp, "parameters never become non-finite");
        }
        swann_zero_grad(b);
    }

    /* zero_grad then step */
    swann_forward(b, x, B, NULL);
    swann_backward_grad(b, dy, NULL);
    CHECK_ST(swann_zero_grad(b), SWANN_OK, "zero_grad OK");
    swann_grads(b, &gb, &n);
    int z = 1;
    for (size_t i = 0; i < n; i++)
        if (gb[i] != 0.0f) z = 0;
    CHECK(z, "zero_grad zeroes every gradient");
    CHECK_ST(swann_step(b), SWANN_E_STATE, "zero_grad makes step SWANN_E_STATE (T = 0)");
    swann_destroy(a);
    swann_destroy(b);
}

int main(void)
{
    check_init("test_math");
    RUN_GROUP(group_forward);
    RUN_GROUP(group_grads);
    RUN_GROUP(group_sizes);
    RUN_GROUP(group_fd);
    RUN_GROUP(group_stable_ce);
    RUN_GROUP(group_accumulate);
    RUN_GROUP(group_keeps_rows);
    RUN_GROUP(group_optim);
    RUN_GROUP(group_backward_grad);
    return check_finish();
}
