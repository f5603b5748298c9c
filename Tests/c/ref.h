/*
 * ref.h -- an independent reference of the lecture's math in plain C doubles:
 * forward z_k = W_k y_{k-1} + b_k, y_k = f_k(z_k); the divergences; and the
 * backward recursion
 *     grad_z Div = grad_y Div J_y(z)
 *     grad_{y_{k-1}} Div = grad_z Div W_k
 *     grad_W Div = y_{k-1} grad_z Div,  grad_b Div = grad_z Div
 * Parameters use swann's flat layout: layer by layer, W (row-major [out,in]) then b.
 */
#ifndef SWANN_TEST_REF_H
#define SWANN_TEST_REF_H

#include "check.h"

enum { A_ID, A_SIG, A_TANH, A_RELU, A_LRELU, A_ELU, A_SOFTPLUS, A_GELU, A_SOFTMAX, A_COUNT };
enum { L_MSE, L_CE, L_BCE, L_NONE };

static const char *ACT_NAME[A_COUNT] = {"identity", "sigmoid", "tanh",  "relu",   "leaky_relu",
                                        "elu",      "softplus", "gelu", "softmax"};
static const char *LOSS_NAME[4] = {"mse", "cross_entropy", "binary_cross_entropy", "none"};

#define REF_MAXL 4
#define REF_MAXU 1040

typedef struct {
    int nl;                  /* number of layers */
    int sz[REF_MAXL + 1];    /* sz[0] input, sz[k] units of layer k */
    int act[REF_MAXL];
    double alpha[REF_MAXL];  /* used by leaky_relu / elu */
    int alpha_given[REF_MAXL];
    int loss;
} ref_net;

static inline size_t ref_param_count(const ref_net *n)
{
    size_t c = 0;
    for (int k = 0; k < n->nl; k++) c += (size_t)n->sz[k + 1] * (size_t)n->sz[k] + (size_t)n->sz[k + 1];
    return c;
}

/* alpha defaults of the contract */
static inline double ref_alpha(const ref_net *n, int k)
{
    if (n->alpha_given[k]) return n->alpha[k];
    return n->act[k] == A_ELU ? 1.0 : 0.01;
}

/* spec JSON for the net; `tail` is extra top-level members (e.g. optimizer) */
static inline void ref_spec(const ref_net *n, const char *tail, char *buf, size_t cap)
{
    size_t o = (size_t)snprintf(buf, cap, "{\"input\": %d, \"layers\": [", n->sz[0]);
    for (int k = 0; k < n->nl && o < cap; k++) {
        o += (size_t)snprintf(buf + o, cap - o, "%s{\"units\": %d, \"activation\": \"%s\"", k ? ", " : "",
                              n->sz[k + 1], ACT_NAME[n->act[k]]);
        if (n->alpha_given[k] && o < cap) o += (size_t)snprintf(buf + o, cap - o, ", \"alpha\": %.17g", n->alpha[k]);
        if (o < cap) o += (size_t)snprintf(buf + o, cap - o, "}");
    }
    if (o < cap)
        snprintf(buf + o, cap - o, "], \"loss\": \"%s\"%s%s}", LOSS_NAME[n->loss], tail && *tail ? ", " : "",
                 tail ? tail : "");
}

static inline double ref_f(int act, double z, double alpha)
{
    switch (act) {
    case A_ID: return z;
    case A_SIG: return 1.0 / (1.0 + exp(-z));
    case A_TANH: return tanh(z);
    case A_RELU: return z > 0 ? z : 0;
    case A_LRELU: return z > 0 ? z : alpha * z;
    case A_ELU: return z > 0 ? z : alpha * expm1(z);
    case A_SOFTPLUS: return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
    case A_GELU: {
        double c = sqrt(2.0 / M_PI);
        return 0.5 * z * (1.0 + tanh(c * (z + 0.044715 * z * z * z)));
    }
    }
    return NAN;
}

static inline double ref_df(int act, double z, double alpha)
{
    switch (act) {
    case A_ID: return 1;
    case A_SIG: {
        double s = 1.0 / (1.0 + exp(-z));
        return s * (1 - s);
    }
    case A_TANH: {
        double t = tanh(z);
        return 1 - t * t;
    }
    case A_RELU: return z > 0 ? 1 : 0;
    case A_LRELU: return z > 0 ? 1 : alpha;
    case A_ELU: return z > 0 ? 1 : alpha * exp(z);
    case A_SOFTPLUS: return 1.0 / (1.0 + exp(-z));
    case A_GELU: {
        double c = sqrt(2.0 / M_PI);
        double t = tanh(c * (z + 0.044715 * z * z * z));
        return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * c * (1 + 3 * 0.044715 * z * z);
    }
    }
    return NAN;
}

static inline void ref_softmax(const double *z, int n, double *y, double *lse)
{
    double m = z[0];
    for (int i = 1; i < n; i++) m = fmax(m, z[i]);
    double s = 0;
    for (int i = 0; i < n; i++) s += exp(z[i] - m);
    for (int i = 0; i < n; i++) y[i] = exp(z[i] - m) / s;
    if (lse) *lse = m + log(s);
}

typedef struct {
    double z[REF_MAXL + 1][REF_MAXU];
    double y[REF_MAXL + 1][REF_MAXU];
    double lse; /* log-sum-exp of the last z when the output is softmax */
} ref_trace;

static inline void ref_forward(const ref_net *n, const double *P, const double *x, ref_trace *t)
{
    for (int i = 0; i < n->sz[0]; i++) t->y[0][i] = x[i];
    const double *p = P;
    for (int k = 0; k < n->nl; k++) {
        int in = n->sz[k], out = n->sz[k + 1];
        const double *W = p, *b = p + (size_t)in * out;
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int i = 0; i < in; i++) s += W[o * in + i] * t->y[k][i];
            t->z[k + 1][o] = s;
        }
        if (n->act[k] == A_SOFTMAX)
            ref_softmax(t->z[k + 1], out, t->y[k + 1], &t->lse);
        else
            for (int o = 0; o < out; o++) t->y[k + 1][o] = ref_f(n->act[k], t->z[k + 1][o], ref_alpha(n, k));
        p += (size_t)in * out + out;
    }
}

/* Div(Y, d) of one row (cross-entropy after softmax uses log-softmax of z) */
static inline double ref_div(const ref_net *n, const ref_trace *t, const double *d)
{
    int N = n->nl, D = n->sz[N];
    const double *Y = t->y[N];
    double s = 0;
    for (int i = 0; i < D; i++) {
        switch (n->loss) {
        case L_MSE: s += 0.5 * (Y[i] - d[i]) * (Y[i] - d[i]); break;
        case L_CE:
            if (n->act[N - 1] == A_SOFTMAX)
                s -= d[i] * (t->z[N][i] - t->lse);
            else
                s -= d[i] * log(Y[i]);
            break;
        case L_BCE: s -= d[i] * log(Y[i]) + (1 - d[i]) * log(1 - Y[i]); break;
        default: break;
        }
    }
    return s;
}

/* One row: forward, Div, backward. Adds grad_P Div into gP, writes grad_x Div
 * into dx (if not NULL), returns Div (0 for loss none: d is then dY). */
static inline double ref_row(const ref_net *n, const double *P, const double *x, const double *d, double *gP,
                             double *dx)
{
    ref_trace t;
    ref_forward(n, P, x, &t);
    int N = n->nl;
    int D = n->sz[N];
    double dy[REF_MAXU], dz[REF_MAXU];
    const double *Y = t.y[N];
    double div = n->loss == L_NONE ? 0 : ref_div(n, &t, d);
    int dz_done = 0;
    switch (n->loss) {
    case L_MSE:
        for (int i = 0; i < D; i++) dy[i] = Y[i] - d[i];
        break;
    case L_CE:
        if (n->act[N - 1] == A_SOFTMAX) { /* grad_z directly: Y * sum(d) - d */
            double sd = 0;
            for (int i = 0; i < D; i++) sd += d[i];
            for (int i = 0; i < D; i++) dz[i] = Y[i] * sd - d[i];
            dz_done = 1;
        } else {
            for (int i = 0; i < D; i++) dy[i] = -d[i] / Y[i];
        }
        break;
    case L_BCE:
        for (int i = 0; i < D; i++) dy[i] = (Y[i] - d[i]) / (Y[i] * (1 - Y[i]));
        break;
    default:
        for (int i = 0; i < D; i++) dy[i] = d[i];
    }
    /* offsets of each layer's params */
    size_t off[REF_MAXL + 1];
    off[0] = 0;
    for (int k = 0; k < N; k++) off[k + 1] = off[k] + (size_t)n->sz[k + 1] * n->sz[k] + n->sz[k + 1];
    for (int k = N - 1; k >= 0; k--) {
        int in = n->sz[k], out = n->sz[k + 1];
        const double *z = t.z[k + 1], *y = t.y[k + 1];
        if (!dz_done) {
            if (n->act[k] == A_SOFTMAX) { /* full Jacobian: dz_j = y_j (dy_j - sum_i dy_i y_i) */
                double s = 0;
                for (int i = 0; i < out; i++) s += dy[i] * y[i];
                for (int j = 0; j < out; j++) dz[j] = y[j] * (dy[j] - s);
            } else {
                for (int j = 0; j < out; j++) dz[j] = dy[j] * ref_df(n->act[k], z[j], ref_alpha(n, k));
            }
        }
        dz_done = 0;
        const double *W = P + off[k];
        if (gP) {
            double *gW = gP + off[k], *gb = gW + (size_t)in * out;
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) gW[o * in + i] += dz[o] * t.y[k][i];
                gb[o] += dz[o];
            }
        }
        double nd[REF_MAXU];
        for (int i = 0; i < in; i++) {
            double s = 0;
            for (int o = 0; o < out; o++) s += dz[o] * W[o * in + i];
            nd[i] = s;
        }
        for (int i = 0; i < in; i++) dy[i] = nd[i];
    }
    if (dx)
        for (int i = 0; i < n->sz[0]; i++) dx[i] = dy[i];
    return div;
}

/* Compare a float vector with a double reference. Each element may differ by
 * rel * max(|want_i|, floor_frac * max_j |want_j|, abs_floor). */
static inline void cmp_vec(const float *got, const double *want, size_t n, double rel, double floor_frac,
                           double abs_floor, const char *what, const char *file, int line)
{
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(want[i]));
    double worst = 0;
    size_t wi = 0;
    int nonfinite = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) {
            nonfinite = 1;
            wi = i;
            break;
        }
        double scale = fmax(fmax(fabs(want[i]), floor_frac * mx), abs_floor);
        double e = fabs((double)got[i] - want[i]) / scale;
        if (!(e <= worst)) {
            worst = isnan(e) ? INFINITY : e;
            wi = i;
        }
    }
#ifdef CMP_VERBOSE
    printf("# margin %.3g of %.3g: %s\n", worst, rel, what);
#endif
    check_report(!nonfinite && worst <= rel, file, line, what,
                 "worst element %zu of %zu: got %.9g want %.9g (relative error %.3g > %.3g)%s", wi, n,
                 n ? (double)got[wi] : 0.0, n ? want[wi] : 0.0, worst, rel, nonfinite ? " NON-FINITE" : "");
}
#define CMP_VEC(got, want, n, rel, what) cmp_vec(got, want, n, rel, 1e-3, 1e-7, what, __FILE__, __LINE__)

#endif
