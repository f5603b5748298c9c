/*
 * test_bias_sums.c -- grad_b of every activation, bit for bit: grad_z = grad_y f'(z)
 * with the float operations of Activations.backward, summed over the rows in row
 * order, as the backward pass promises (the same bits for any thread count, batch
 * and CPU level). A sum in another order, a missed row or another formula for f'
 * changes some column's bits.
 *
 * One layer, input 1, W_j a power of two: z = x W_j + b_j has one rounding whatever
 * the product's path, so the test knows z exactly, and y from swann_forward.
 */
#include "check.h"
#include "ref.h"

enum { U = 19, B = 37 }; /* two 8-lane chunks and a tail; rows of magnitudes 2^-3..2^3 */

static float sigmoid_f(float x)
{
    if (x >= 0) return 1 / (1 + expf(-x));
    float e = expf(x);
    return e / (1 + e);
}

/* Activations.geluDerivative, operation by operation (C evaluates left to right as Swift). */
static float gelu_df(float x)
{
    const float c = 0.7978845608028654f, a = 0.044715f;
    if (fabsf(x) > 10) return x > 0 ? 1 : 0;
    float t = tanhf(c * (x + a * x * x * x));
    return 0.5f * (1 + t) + 0.5f * x * (1 - t * t) * c * (1 + 3 * a * x * x);
}

/* grad_z of one row from grad_y, as Activations.backward computes it */
static void row_grad_z(int act, float alpha, const float *z, const float *y, const float *dy, float *dz)
{
    if (act == A_SOFTMAX) {
        float dot = 0;
        for (int j = 0; j < U; j++) dot += dy[j] * y[j];
        for (int j = 0; j < U; j++) dz[j] = y[j] * (dy[j] - dot);
        return;
    }
    for (int j = 0; j < U; j++) {
        float d = dy[j];
        switch (act) {
        case A_ID: dz[j] = d; break;
        case A_SIG: dz[j] = d * (y[j] * (1 - y[j])); break;
        case A_TANH: dz[j] = d * (1 - y[j] * y[j]); break;
        case A_RELU: dz[j] = z[j] > 0 ? d : 0; break;
        case A_LRELU: dz[j] = d * (z[j] > 0 ? 1 : alpha); break;
        case A_ELU: dz[j] = d * (z[j] > 0 ? 1 : y[j] + alpha); break;
        case A_SOFTPLUS: dz[j] = d * sigmoid_f(z[j]); break;
        default: dz[j] = d * gelu_df(z[j]); break; /* A_GELU */
        }
    }
}

static int same_bits(const float *a, const float *b, int n, int *at)
{
    for (int i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            *at = i;
            return 0;
        }
    return 1;
}

static void bias_case(int act, uint64_t seed)
{
    ref_net n = {.nl = 1, .sz = {1, U}, .act = {act}, .loss = L_MSE};
    char spec[1024];
    ref_spec(&n, NULL, spec, sizeof spec);
    swann_net *net = NULL;
    if (swann_create(spec, B, NULL, 0, &net) != SWANN_OK) {
        CHECKF(0, "create", "%s: %s", spec, swann_last_error());
        return;
    }
    float alpha = (float)ref_alpha(&n, 0);
    float *p, *g;
    size_t c;
    swann_params(net, &p, &c);
    static const float W[6] = {0.5f, 1, 2, -0.5f, -1, -2};
    for (int j = 0; j < U; j++) {
        p[j] = W[j % 6];
        p[U + j] = (float)rng_uniform(&seed, -1, 1);
    }
    float x[B], z[B * U], y[B * U], dy[B * U], dz[U], want[U];
    for (int r = 0; r < B; r++) {
        x[r] = (float)rng_uniform(&seed, -6, 6); /* |z| up to 13: gelu's |z| > 10 branch too */
        for (int j = 0; j < U; j++) z[r * U + j] = x[r] * p[j] + p[U + j];
    }
    char what[256];
    snprintf(what, sizeof what, "%s: forward of %d rows", ACT_NAME[act], B);
    CHECK_ST(swann_forward(net, x, B, y), SWANN_OK, what);
    for (int j = 0; j < U; j++) want[j] = 0;
    /* 1: written over the zero buffer; 2: added (bounds prove it finite); 3: rows near
       float's range, added after the walk that proves it (the exact sums) */
    static const char *HOW[3] = {"written over zero", "added to the first", "added after the checked walk (near float's range)"};
    for (int call = 0; call < 3; call++) {
        for (int r = 0; r < B; r++) {
            float scale = ldexpf(1, call == 2 ? 116 + r % 3 : r % 7 - 3);
            for (int j = 0; j < U; j++) dy[r * U + j] = (float)rng_uniform(&seed, -1, 1) * scale;
        }
        snprintf(what, sizeof what, "%s: backward_grad %d OK", ACT_NAME[act], call + 1);
        CHECK_ST(swann_backward_grad(net, dy, NULL), SWANN_OK, what);
        for (int r = 0; r < B; r++) {
            row_grad_z(act, alpha, z + r * U, y + r * U, dy + r * U, dz);
            for (int j = 0; j < U; j++) want[j] += dz[j];
        }
        swann_grads(net, &g, &c);
        int at = 0, same = same_bits(g + U, want, U, &at);
        snprintf(what, sizeof what, "%s: grad_b = sum over rows in order of grad_y f'(z), bit for bit (%s)",
                 ACT_NAME[act], HOW[call]);
        CHECKF(same, what, "column %d: %.9g vs %.9g", at, (double)g[U + at],
               (double)want[at]);
    }
    swann_destroy(net);
}

static void group_bias_sums(void)
{
    for (int a = 0; a < A_COUNT; a++) bias_case(a, 7000 + (uint64_t)a);
}

int main(void)
{
    check_init("test_bias_sums");
    RUN_GROUP(group_bias_sums);
    return check_finish();
}
