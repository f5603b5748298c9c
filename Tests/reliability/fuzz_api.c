/*
 * fuzz_api.c -- libFuzzer harness: a random sequence of C API calls against one net.
 *
 * The input picks a spec (one of SPECS, covering every activation, loss and
 * optimizer), max_batch, whether the host supplies the arena, and then a
 * sequence of calls: forward, backward, backward_grad, step, step_rows,
 * zero_grad, accumulated_rows, set_lr, get_lr, set_threads, params, grads (and
 * writes into them), spec_json, save, load_size, load, the size getters,
 * arena_size, create, destroy, status_name and last_error. Each argument is
 * drawn from its interesting values: the live net, NULL, a destroyed net (whose
 * host arena is still mapped) or a block that was never a net; batch 0, 1,
 * max_batch, max_batch + 1, 2^24, SIZE_MAX; NULL or a buffer of exactly the size
 * the contract says the call reads or writes (so ASan sees any access beyond
 * it), filled with ordinary values, NaN, +-Inf, 1e30, FLT_MAX or subnormals.
 *
 * A small model of the net (rows of the last forward, T, whether the
 * parameters may have been driven non-finite, the saved parameters) predicts
 * each call's status. Properties checked on every call:
 *   - the status is one the contract documents for that situation: exactly
 *     SWANN_OK when every argument is valid and the data ordinary, the right
 *     error when one argument is wrong (any of them when several are);
 *   - a failure sets a one-line message; a success leaves the message alone;
 *   - failed calls change nothing: T (accumulated_rows) is as the model says,
 *     a step refused with SWANN_E_NUMERIC leaves parameters and gradients
 *     bit-for-bit as they were;
 *   - values returned are right: sizes, counts, T, the canonical spec, the
 *     learning rate finite; a saved file loads back to the same parameters.
 * After the sequence, a valid sequence still works: the parameters are put
 * back, gradients zeroed, and three forward/backward/step rounds succeed with
 * a finite loss; for the stateless specs the net then equals, bit for bit, a
 * fresh net that took the same three steps. Memory errors, UB and leaks are
 * the sanitizers' to report.
 */
#include "fuzz_common.h"

#include <float.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

enum { L_MSE, L_CE, L_BCE, L_NONE };

static const struct fspec {
    const char *json;
    int loss;
    int stateless; /* plain SGD, constant schedule: the net is its parameters */
} SPECS[] = {
    {"{\"input\": 4, \"layers\": [{\"units\": 5, \"activation\": \"tanh\"}, {\"units\": 3, \"activation\": \"softmax\"}],"
     " \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1}, \"seed\": 1}", L_CE, 1},
    {"{\"input\": 3, \"layers\": [{\"units\": 4, \"activation\": \"relu\"}, {\"units\": 2, \"activation\": \"sigmoid\"}],"
     " \"loss\": \"binary_cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.05, \"weight_decay\": 0.01},"
     " \"seed\": 2}", L_BCE, 1},
    {"{\"input\": 5, \"layers\": [{\"units\": 6, \"activation\": \"gelu\"}, {\"units\": 4, \"activation\": \"elu\","
     " \"alpha\": 0.5}, {\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"mse\", \"optimizer\": {\"type\":"
     " \"adam\", \"lr\": 0.01, \"amsgrad\": true, \"clip_norm\": 1.0}, \"seed\": 3}", L_MSE, 0},
    {"{\"input\": 4, \"layers\": [{\"units\": 4, \"activation\": \"softplus\"}, {\"units\": 3, \"activation\": \"sigmoid\"}],"
     " \"loss\": \"mse\", \"optimizer\": {\"type\": \"rmsprop\", \"lr\": 0.01, \"momentum\": 0.5, \"centered\": true},"
     " \"seed\": 4}", L_MSE, 0},
    {"{\"input\": 3, \"layers\": [{\"units\": 5, \"activation\": \"leaky_relu\", \"alpha\": 0.1}, {\"units\": 3,"
     " \"activation\": \"softmax\"}], \"loss\": \"binary_cross_entropy\", \"optimizer\": {\"type\": \"adamw\", \"lr\": 0.01},"
     " \"seed\": 5}", L_BCE, 0},
    {"{\"input\": 4, \"layers\": [{\"units\": 3, \"activation\": \"softmax\"}], \"loss\": \"mse\", \"optimizer\":"
     " {\"type\": \"rprop\", \"lr\": 0.01, \"schedule\": {\"type\": \"cosine\", \"t_max\": 50, \"warmup_steps\": 5}},"
     " \"seed\": 6}", L_MSE, 0},
    {"{\"input\": 3, \"layers\": [{\"units\": 4, \"activation\": \"tanh\"}, {\"units\": 2, \"activation\": \"identity\"}],"
     " \"loss\": \"none\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9, \"nesterov\": true},"
     " \"seed\": 7}", L_NONE, 0},
    {"{\"input\": 4, \"layers\": [{\"units\": 6, \"activation\": \"sigmoid\"}, {\"units\": 3, \"activation\": \"sigmoid\"}],"
     " \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"schedule\": {\"type\": \"step\","
     " \"step_size\": 3, \"gamma\": 0.5}}, \"threads\": 2, \"seed\": 8}", L_CE, 0},
};
#define NSPECS (sizeof SPECS / sizeof SPECS[0])

static char DIR_[256], PATH_MODEL[300], PATH_GARBAGE[300], PATH_MISSING[300], PATH_SUBDIR[300];
static int spec_ok[NSPECS];  /* the library accepts the spec (threads may be missing) */
static char *canon[NSPECS];   /* its canonical text */

/* ---- data ---------------------------------------------------------------- */

enum { D_SMALL, D_NAN, D_INF, D_NINF, D_HUGE, D_MAX, D_DENORM };

static uint64_t rng_state;
static uint32_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}
static float unit(void) { return (float)(rnd() >> 8) / 16777216.0f * 2.0f - 1.0f; }

static int pick_kind(fz_reader *r)
{
    static const int k[16] = {D_SMALL, D_SMALL, D_SMALL, D_SMALL, D_SMALL, D_SMALL, D_SMALL, D_SMALL,
                              D_SMALL, D_SMALL, D_NAN, D_INF, D_NINF, D_HUGE, D_MAX, D_DENORM};
    return k[fz_pick(r, 16)];
}
static int kind_nonfinite(int k) { return k == D_NAN || k == D_INF || k == D_NINF; }
static int kind_extreme(int k) { return k == D_HUGE || k == D_MAX; }

/* `rows` x `cols` floats, exactly (malloc, so ASan flags any access beyond).
 * role 0: an input; role 1: a target for `loss`; role 2: a gradient. */
static float *make_data(size_t rows, size_t cols, int kind, int role, int loss)
{
    size_t n = rows * cols;
    float *p = malloc(n ? n * sizeof(float) : 1);
    if (!p) abort();
    for (size_t r = 0; r < rows; r++) {
        size_t hot = cols ? rnd() % cols : 0;
        for (size_t j = 0; j < cols; j++) {
            float v = unit();
            if (role == 1 && loss == L_CE) v = j == hot ? 1.0f : 0.0f;
            if (role == 1 && loss == L_BCE) v = (rnd() & 1) ? 1.0f : 0.0f;
            p[r * cols + j] = v;
        }
    }
    if (n && kind != D_SMALL) {
        size_t at = rnd() % n;
        switch (kind) {
        case D_NAN: p[at] = NAN; break;
        case D_INF: p[at] = INFINITY; break;
        case D_NINF: p[at] = -INFINITY; break;
        case D_HUGE: for (size_t i = 0; i < n; i++) p[i] = (rnd() & 1) ? 1e30f : -1e30f; break;
        case D_MAX: p[at] = FLT_MAX; break;
        case D_DENORM: for (size_t i = 0; i < n; i++) p[i] = 1e-40f * (float)(1 + (rnd() & 3)); break;
        }
    }
    return p;
}

/* ---- the net and the model of its state ----------------------------------- */

static struct {
    const struct fspec *spec;
    size_t si, mb, in, out, params;
    swann_net *net;
    void *arena;            /* host arena, or NULL */
    size_t arena_bytes;
    void *dead;             /* host arena of a destroyed net */
    void *junk;             /* a block that never held a net */
    float *init_params;     /* the parameters right after create */
    float *pview;           /* swann_params' pointer */
    float *gview;
    size_t fwd;             /* rows of the last successful forward, 0: none */
    size_t T;               /* rows accumulated */
    int fwd_extreme;        /* the last forward had 1e30 or FLT_MAX input, or extreme parameters */
    int taint;              /* parameters or gradients may be extreme or non-finite */
    int ever_taint;         /* optimizer state may be too (stateful optimizers) */
    double lr;
    double base_lr;         /* the last rate set_lr accepted; < 0: none yet (the spec's) */
    int saved;              /* a model file of this net exists */
    int saved_clean;        /* ... and its values were all ordinary */
    float *saved_params;
    char saved_spec[4096];  /* spec_json of the net when it was saved (its "lr" is the rate set then) */
    char cur_spec[4096];    /* what spec_json must give now: canon with set_lr's "lr" */
} S;

/* S.cur_spec for a base rate (< 0: the spec's own): a probe net of the same spec
 * (created once per input) given the same set_lr. set_lr changes only "lr". */
static swann_net *PROBE;

static void expect_spec(double base_lr)
{
    size_t need;
    if (base_lr < 0) {
        snprintf(S.cur_spec, sizeof S.cur_spec, "%s", canon[S.si]);
        return;
    }
    if (!PROBE || swann_set_lr(PROBE, base_lr) != SWANN_OK ||
        swann_spec_json(PROBE, S.cur_spec, sizeof S.cur_spec, &need) != SWANN_OK) {
        fprintf(stderr, "expect_spec: probe net failed: %s\n", swann_last_error());
        abort();
    }
}

static swann_net *pick_net(fz_reader *r, int *valid)
{
    unsigned c = fz_pick(r, 16);
    *valid = 0;
    if (c == 13) return NULL;
    if (c == 14) return (swann_net *)S.dead;
    if (c == 15) return (swann_net *)S.junk;
    *valid = 1;
    return S.net;
}

static size_t pick_batch(fz_reader *r, int *valid)
{
    unsigned c = fz_pick(r, 12);
    size_t b;
    switch (c) {
    case 0: b = 0; break;
    case 1: b = S.mb + 1; break;
    case 2: b = SIZE_MAX; break;
    case 3: b = (size_t)1 << 24; break;
    case 4: b = 1; break;
    case 5: b = S.mb; break;
    default: b = 1 + fz_pick(r, (unsigned)S.mb); break;
    }
    *valid = b >= 1 && b <= S.mb;
    return b;
}

/* rows a buffer for `batch` rows really gets: the claimed rows, capped (an
 * invalid batch must be refused before the buffer is read). */
static size_t rows_for(size_t batch) { return batch <= S.mb + 1 ? batch : S.mb + 1; }

static void check_T(const char *after)
{
    size_t t = 12345;
    char before[600];
    snprintf(before, sizeof before, "%s", swann_last_error());
    swann_status st = swann_accumulated_rows(S.net, &t);
    fz_expect("accumulated_rows", st, SM(SWANN_OK), before);
    if (t != S.T) fz_fail("after %s: accumulated_rows is %zu, the model says %zu", after, t, S.T);
}

static void snapshot_last_error(char *buf, size_t cap) { snprintf(buf, cap, "%s", swann_last_error()); }

/* ---- the calls -------------------------------------------------------------- */

static void op_forward(fz_reader *r)
{
    int nv, bv;
    swann_net *n = pick_net(r, &nv);
    size_t b = pick_batch(r, &bv);
    int xnull = fz_pick(r, 10) == 0, ynull = fz_pick(r, 3) == 0;
    int kind = pick_kind(r);
    size_t rows = rows_for(b);
    float *x = xnull ? NULL : make_data(rows, S.in, kind, 0, S.spec->loss);
    float *y = ynull ? NULL : malloc(rows * S.out * sizeof(float) + (rows == 0));
    char before[600];
    snapshot_last_error(before, sizeof before);
    if (fz_trace > 0) fprintf(stderr, "  (forward: net %d, batch %zu, x %s kind %d, y %s)\n", nv, b, xnull ? "NULL" : "data", kind, ynull ? "NULL" : "buf");
    swann_status st = swann_forward(n, x, b, y);
    unsigned allowed = 0;
    if (!nv || xnull) allowed |= SM(SWANN_E_ARG);
    if (!bv) allowed |= SM(SWANN_E_SHAPE);
    if (!allowed) {
        if (kind_nonfinite(kind)) allowed = SM(SWANN_E_NUMERIC);
        else if (kind_extreme(kind) || S.taint) allowed = SM(SWANN_OK) | SM(SWANN_E_NUMERIC);
        else allowed = SM(SWANN_OK);
    }
    fz_expect("forward", st, allowed, before);
    if (st == SWANN_OK) {
        S.fwd = b;
        S.fwd_extreme = kind_extreme(kind) || S.taint;  /* its activations may be extreme */
        if (y && !S.taint && !S.fwd_extreme && !fz_all_finite(y, b * S.out))
            fz_fail("forward of ordinary data gave a non-finite output");
    }
    free(x);
    free(y);
}

static void op_backward(fz_reader *r, int with_grad)
{
    int nv;
    swann_net *n = pick_net(r, &nv);
    int tnull = fz_pick(r, 10) == 0, lnull = fz_pick(r, 2) == 0, dxnull = fz_pick(r, 2) == 0;
    int kind = pick_kind(r);
    size_t rows = S.fwd ? S.fwd : 1;
    float *t = tnull ? NULL : make_data(rows, S.out, kind, with_grad ? 2 : 1, S.spec->loss);
    float *dx = dxnull ? NULL : malloc(rows * S.in * sizeof(float));
    float loss = -1;
    if (fz_trace > 0) fprintf(stderr, "  (%s: kind %d, taint %d, fwd_extreme %d)\n", with_grad ? "backward_grad" : "backward", kind, S.taint, S.fwd_extreme);
    char before[600];
    snapshot_last_error(before, sizeof before);
    swann_status st = with_grad ? swann_backward_grad(n, t, dx) : swann_backward(n, t, lnull ? NULL : &loss, dx);
    unsigned allowed = 0;
    if (!nv || tnull) allowed |= SM(SWANN_E_ARG);
    if (S.fwd == 0 || (!with_grad && S.spec->loss == L_NONE)) allowed |= SM(SWANN_E_STATE);
    if (!allowed) {
        if (kind_nonfinite(kind)) allowed = SM(SWANN_E_NUMERIC);
        else if (kind_extreme(kind) || S.taint || S.fwd_extreme) allowed = SM(SWANN_OK) | SM(SWANN_E_NUMERIC);
        else allowed = SM(SWANN_OK);
        /* 1e30 or FLT_MAX targets: outside binary_cross_entropy's [0, 1], or -1e30 below cross_entropy's 0 */
        if (!with_grad && (S.spec->loss == L_CE || S.spec->loss == L_BCE) && kind_extreme(kind)) allowed |= SM(SWANN_E_ARG);
    }
    const char *call = with_grad ? "backward_grad" : "backward";
    fz_expect(call, st, allowed, before);
    if (st == SWANN_OK) {
        S.T += S.fwd;
        if (kind_extreme(kind) || S.fwd_extreme) S.taint = S.ever_taint = 1;
        if (!with_grad && !lnull && !S.taint && !(isfinite(loss) && loss >= 0))
            fz_fail("backward of ordinary data gave the loss %g", (double)loss);
        if (dx && !S.taint && !fz_all_finite(dx, S.fwd * S.in))
            fz_fail("%s of ordinary data gave a non-finite dx", call);
    }
    check_T(call);
    free(t);
    free(dx);
}

static void op_step(fz_reader *r, int with_rows)
{
    int nv;
    swann_net *n = pick_net(r, &nv);
    size_t rows = 0;
    int rows_valid = 1;
    if (with_rows) {
        switch (fz_pick(r, 6)) {
        case 0: rows = 0; rows_valid = 0; break;
        case 1: rows = SIZE_MAX; rows_valid = -1; break;
        case 2: rows = ((size_t)1 << 62) + 1; rows_valid = -1; break;
        case 3: rows = 1; break;
        default: rows = S.T ? S.T : 1; break;
        }
    }
    size_t T0 = S.T;
    float *p0 = malloc(S.params * sizeof(float)), *g0 = malloc(S.params * sizeof(float));
    memcpy(p0, S.pview, S.params * sizeof(float));
    memcpy(g0, S.gview, S.params * sizeof(float));
    char before[600];
    snapshot_last_error(before, sizeof before);
    swann_status st = with_rows ? swann_step_rows(n, rows) : swann_step(n);
    unsigned allowed = 0;
    if (!nv || rows_valid == 0) allowed |= SM(SWANN_E_ARG);
    if (!with_rows && S.T == 0) allowed |= SM(SWANN_E_STATE);
    if (!allowed) {
        /* the contract: a gradient that is not finite is refused (look at them:
         * the host may have written NaN, or summed rows may have overflowed) */
        if (!fz_all_finite(g0, S.params)) allowed = SM(SWANN_E_NUMERIC);
        else if (S.taint) allowed = SM(SWANN_OK) | SM(SWANN_E_NUMERIC);
        else allowed = SM(SWANN_OK);
        /* rows beyond any real count: refused, or taken (a tiny update) */
        if (rows_valid < 0) allowed |= SM(SWANN_E_ARG);
    }
    const char *call = with_rows ? "step_rows" : "step";
    fz_expect(call, st, allowed, before);
    if (st == SWANN_OK) {
        S.T = 0;
        /* a large rate, or a sum divided by fewer rows than it has, may diverge */
        if (S.lr > 0.1 || (with_rows && rows < T0)) S.taint = S.ever_taint = 1;
        if (!S.taint && !fz_all_finite(S.pview, S.params))
            fz_fail("%s of ordinary gradients gave non-finite parameters", call);
    } else {
        if (memcmp(p0, S.pview, S.params * sizeof(float)) != 0)
            fz_fail("%s returned %s but changed the parameters", call, fz_name(st));
        if (memcmp(g0, S.gview, S.params * sizeof(float)) != 0)
            fz_fail("%s returned %s but changed the gradients", call, fz_name(st));
    }
    check_T(call);
    free(p0);
    free(g0);
}

static void op_zero_grad(fz_reader *r)
{
    int nv;
    swann_net *n = pick_net(r, &nv);
    char before[600];
    snapshot_last_error(before, sizeof before);
    swann_status st = swann_zero_grad(n);
    fz_expect("zero_grad", st, nv ? SM(SWANN_OK) : SM(SWANN_E_ARG), before);
    if (st == SWANN_OK) {
        S.T = 0;
        for (size_t i = 0; i < S.params; i++)
            if (S.gview[i] != 0) fz_fail("zero_grad left gradient %zu at %g", i, (double)S.gview[i]);
    }
    check_T("zero_grad");
}

static void op_rows(fz_reader *r)
{
    int nv;
    swann_net *n = pick_net(r, &nv);
    int pnull = fz_pick(r, 4) == 0;
    size_t t = 777;
    char before[600];
    snapshot_last_error(before, sizeof before);
    swann_status st = swann_accumulated_rows(n, pnull ? NULL : &t);
    fz_expect("accumulated_rows", st, (nv && !pnull) ? SM(SWANN_OK) : SM(SWANN_E_ARG), before);
    if (st == SWANN_OK && t != S.T) fz_fail("accumulated_rows %zu, the model says %zu", t, S.T);
}

static void op_lr(fz_reader *r)
{
    static const double LRS[] = {0.0, 1e-3, 0.01, 0.1, 1.0, 1e6, 1e6 * (1 + 1e-15), -1e-9, NAN, INFINITY, 4.9e-324};
    int nv;
    swann_net *n = pick_net(r, &nv);
    unsigned c = fz_pick(r, sizeof LRS / sizeof LRS[0]);
    double lr = LRS[c];
    char before[600];
    snapshot_last_error(before, sizeof before);
    if (fz_pick(r, 2)) {
        swann_status st = swann_set_lr(n, lr);
        int lv = isfinite(lr) && lr >= 0 && lr <= 1e6;
        fz_expect("set_lr", st, (nv && lv) ? SM(SWANN_OK) : SM(SWANN_E_ARG), before);
        if (st == SWANN_OK) {
            S.lr = S.base_lr = lr;
            expect_spec(lr);
        }
    } else {
        int pnull = fz_pick(r, 4) == 0;
        double got = -1;
        swann_status st = swann_get_lr(n, pnull ? NULL : &got);
        fz_expect("get_lr", st, (nv && !pnull) ? SM(SWANN_OK) : SM(SWANN_E_ARG), before);
        if (st == SWANN_OK && !(isfinite(got) && got >= 0)) fz_fail("get_lr gave %g", got);
    }
}

static void op_threads(fz_reader *r)
{
    int nv;
    swann_net *n = pick_net(r, &nv);
    static const size_t T[] = {0, 1, 2, 3, 64, SIZE_MAX};
    size_t t = T[fz_pick(r, 6)];
    size_t most = strstr(S.spec->json, "\"threads\": 2") ? 2 : 1;
    char before[600];
    snapshot_last_error(before, sizeof before);
    swann_status st = swann_set_threads(n, t);
    fz_expect("set_threads", st, (nv && t >= 1 && t <= most) ? SM(SWANN_OK) : SM(SWANN_E_ARG), before);
}

static void op_views(fz_reader *r, int grads)
{
    int nv;
    swann_net *n = pick_net(r, &nv);
    int dnull = fz_pick(r, 6) == 0, cnull = fz_pick(r, 6) == 0;
    float *data = (float *)1;
    size_t count = 1;
    char before[600];
    snapshot_last_error(before, sizeof before);
    swann_status st = grads ? swann_grads(n, dnull ? NULL : &data, cnull ? NULL : &count)
                            : swann_params(n, dnull ? NULL : &data, cnull ? NULL : &count);
    const char *call = grads ? "grads" : "params";
    fz_expect(call, st, (nv && !dnull && !cnull) ? SM(SWANN_OK) : SM(SWANN_E_ARG), before);
    if (st != SWANN_OK) return;
    if (count != S.params || data != (grads ? S.gview : S.pview))
        fz_fail("%s gave (%p, %zu), expected (%p, %zu)", call, (void *)data, count,
                (void *)(grads ? S.gview : S.pview), S.params);
    /* the host may write the buffers */
    unsigned w = fz_pick(r, 8);
    size_t at = rnd() % S.params;
    if (fz_trace > 0) fprintf(stderr, "  (%s write %u at %zu)\n", call, w, at);
    if (w == 1) data[at] += 0.01f * unit();
    if (w == 2) { data[at] = NAN; S.taint = S.ever_taint = 1; }
    if (w == 3) { data[at] = 1e30f; S.taint = S.ever_taint = 1; }
    if (w == 4) { data[at] = -INFINITY; S.taint = S.ever_taint = 1; }
}

static void op_spec_json(fz_reader *r)
{
    int nv;
    swann_net *n = pick_net(r, &nv);
    size_t need = strlen(S.cur_spec) + 1;
    size_t cap;
    switch (fz_pick(r, 5)) {
    case 0: cap = 0; break;
    case 1: cap = need - 1; break;
    case 2: cap = need; break;
    case 3: cap = need + 7; break;
    default: cap = SIZE_MAX; break;  /* a cap larger than the buffer: only need bytes may be written */
    }
    int bnull = fz_pick(r, 6) == 0, nnull = fz_pick(r, 4) == 0;
    size_t real = cap == SIZE_MAX ? need : cap;
    char *buf = bnull ? NULL : malloc(real ? real : 1);
    if (buf) memset(buf, 0x5a, real ? real : 1);
    size_t needed = 0;
    char before[600];
    snapshot_last_error(before, sizeof before);
    swann_status st = swann_spec_json(n, buf, cap, nnull ? NULL : &needed);
    unsigned allowed = 0;
    if (!nv || cap < need || bnull) allowed = SM(SWANN_E_ARG);
    else allowed = SM(SWANN_OK) | (nnull ? SM(SWANN_E_ARG) : 0);
    fz_expect("spec_json", st, allowed, before);
    if (nv && !nnull && needed != need) fz_fail("spec_json: needed %zu, expected %zu", needed, need);
    if (st == SWANN_OK && strcmp(buf, S.cur_spec) != 0) fz_fail("spec_json changed: %s", buf);
    if (st != SWANN_OK && buf)
        for (size_t i = 0; i < (real ? real : 1); i++)
            if ((unsigned char)buf[i] != 0x5a) fz_fail("spec_json failed but wrote into buf at %zu", i);
    free(buf);
}

static const char *pick_path(fz_reader *r, int *kind)
{
    /* kind: 0 valid target / the saved model, 1 NULL, 2 "", 3 missing folder, 4 a folder, 5 garbage file */
    unsigned c = fz_pick(r, 10);
    *kind = c < 5 ? 0 : (int)c - 4;
    switch (*kind) {
    case 0: return PATH_MODEL;
    case 1: return NULL;
    case 2: return "";
    case 3: return PATH_MISSING;
    case 4: return PATH_SUBDIR;
    default: return PATH_GARBAGE;
    }
}

static void op_save(fz_reader *r)
{
    int nv, kind;
    swann_net *n = pick_net(r, &nv);
    const char *path = pick_path(r, &kind);
    if (kind == 5) path = PATH_MODEL;  /* never overwrite the garbage file */
    char before[600];
    snapshot_last_error(before, sizeof before);
    swann_status st = swann_save(n, path);
    unsigned allowed;
    if (!nv || kind == 1 || kind == 2) allowed = SM(SWANN_E_ARG);
    else if (kind == 3 || kind == 4) allowed = SM(SWANN_E_IO);
    else allowed = SM(SWANN_OK) | SM(SWANN_E_NOMEM) | SM(SWANN_E_IO);
    /* non-finite values are refused (the file would not load) */
    if (nv && S.ever_taint) allowed |= SM(SWANN_E_NUMERIC);
    fz_expect("save", st, allowed, before);
    if (st == SWANN_OK) {
        S.saved = 1;
        S.saved_clean = !S.ever_taint;
        memcpy(S.saved_params, S.pview, S.params * sizeof(float));
        size_t need = 0;
        if (swann_spec_json(n, S.saved_spec, sizeof S.saved_spec, &need) != SWANN_OK) fz_fail("spec_json after save");
    }
}

static size_t pick_mb(fz_reader *r, int *valid, int for_alloc)
{
    static const size_t M[] = {0, 1, 2, 5, ((size_t)1 << 24) + 1, SIZE_MAX, (size_t)1 << 24};
    size_t mb = M[fz_pick(r, for_alloc ? 6 : 7)];
    *valid = mb >= 1 && mb <= ((size_t)1 << 24);
    return mb;
}

static void op_load(fz_reader *r, int size_only)
{
    int kind, mv;
    const char *path = pick_path(r, &kind);
    size_t mb = pick_mb(r, &mv, !size_only);
    int onull = fz_pick(r, 8) == 0;
    char before[600];
    snapshot_last_error(before, sizeof before);
    unsigned path_err = 0;
    if (kind == 1) path_err = SM(SWANN_E_ARG);
    else if (kind == 2) path_err = SM(SWANN_E_ARG) | SM(SWANN_E_IO);  /* "": save says ARG, load IO */
    else if (kind == 3) path_err = SM(SWANN_E_IO);
    else if (kind == 4) path_err = SM(SWANN_E_IO) | SM(SWANN_E_FORMAT);
    else if (kind == 5) path_err = SM(SWANN_E_FORMAT) | SM(SWANN_E_IO);
    else if (!S.saved) path_err = SM(SWANN_E_IO);
    else if (!S.saved_clean) path_err = SM(SWANN_E_FORMAT) | SM(SWANN_OK);
    unsigned allowed = path_err | (mv ? 0 : SM(SWANN_E_ARG)) | (onull ? SM(SWANN_E_ARG) : 0);
    if (!allowed) allowed = SM(SWANN_OK);
    allowed |= SM(SWANN_E_NOMEM);
    if (size_only) {
        size_t bytes = 0;
        swann_status st = swann_load_size(path, mb, onull ? NULL : &bytes);
        fz_expect("load_size", st, allowed, before);
        if (st == SWANN_OK && bytes == 0) fz_fail("load_size gave 0 bytes");
        return;
    }
    /* arena: 0 library, 1 NULL with bytes, 2 misaligned, 3 too small, 4 exact */
    unsigned a = fz_pick(r, 5);
    void *arena = NULL;
    size_t ab = 0, need = 0;
    if (a >= 2) {
        if (swann_load_size(path, mb, &need) != SWANN_OK) need = 4096;
        snapshot_last_error(before, sizeof before);
        ab = a == 3 ? need - 1 : need;
        if (posix_memalign(&arena, 64, need + 64) != 0) abort();
        if (a == 2) arena = (char *)arena + 8;
    } else if (a == 1) {
        ab = 4096;
    }
    if (a == 1) allowed = (allowed & ~SM(SWANN_OK)) | SM(SWANN_E_ARG);
    if (a == 2 || a == 3) allowed = (allowed & ~SM(SWANN_OK)) | SM(SWANN_E_ARENA);
    swann_net *got = (swann_net *)&need;
    swann_status st = swann_load(path, mb, arena, ab, onull ? NULL : &got);
    fz_expect("load", st, allowed, before);
    if (!onull && st != SWANN_OK && got != NULL) fz_fail("load failed but *out is not NULL");
    if (st == SWANN_OK) {
        float *p;
        size_t cnt;
        if (swann_params(got, &p, &cnt) != SWANN_OK || cnt != S.params) fz_fail("loaded net: params");
        if (S.saved_clean && memcmp(p, S.saved_params, cnt * sizeof(float)) != 0)
            fz_fail("the loaded parameters differ from the saved ones");
        char spec[4096];
        size_t need2;
        if (swann_spec_json(got, spec, sizeof spec, &need2) != SWANN_OK || strcmp(spec, S.saved_spec) != 0)
            fz_fail("the loaded net's spec differs from the saved net's");
        swann_destroy(got);
    }
    if (a >= 2) free(a == 2 ? (char *)arena - 8 : arena);
}

static void op_getters(fz_reader *r)
{
    int nv;
    swann_net *n = pick_net(r, &nv);
    char before[600];
    snapshot_last_error(before, sizeof before);
    size_t in = swann_input_size(n), out = swann_output_size(n), pc = swann_param_count(n), mb = swann_max_batch(n);
    if (nv ? (in != S.in || out != S.out || pc != S.params || mb != S.mb) : (in | out | pc | mb) != 0)
        fz_fail("getters gave %zu %zu %zu %zu", in, out, pc, mb);
    if (strcmp(before, swann_last_error()) != 0) fz_fail("a getter changed the last-error text");
}

static void op_create(fz_reader *r, int size_only)
{
    /* spec: 0 this one, 1 NULL, 2 garbage, 3 truncated */
    unsigned sc = fz_pick(r, 4);
    char trunc[1024];
    const char *spec = canon[S.si];
    if (sc == 1) spec = NULL;
    if (sc == 2) spec = "{\"input\": 3, \"layers\": [], \"loss\": \"mse\"}";
    if (sc == 3) {
        size_t len = strlen(canon[S.si]);
        size_t cut = 1 + fz_pick(r, (unsigned)(len - 1));
        memcpy(trunc, canon[S.si], cut);
        trunc[cut] = 0;
        spec = trunc;
    }
    int mv;
    size_t mb = pick_mb(r, &mv, !size_only);
    char before[600];
    snapshot_last_error(before, sizeof before);
    unsigned allowed = (sc == 1 ? SM(SWANN_E_ARG) : 0) | (sc >= 2 ? SM(SWANN_E_SPEC) : 0) | (mv ? 0 : SM(SWANN_E_ARG));
    if (size_only) {
        int bnull = fz_pick(r, 5) == 0;
        size_t bytes = 0;
        if (bnull) allowed |= SM(SWANN_E_ARG);
        if (!allowed) allowed = SM(SWANN_OK);
        swann_status st = swann_arena_size(spec, mb, bnull ? NULL : &bytes);
        fz_expect("arena_size", st, allowed, before);
        if (st == SWANN_OK && mb == S.mb && bytes != S.arena_bytes && S.arena_bytes)
            fz_fail("arena_size changed: %zu vs %zu", bytes, S.arena_bytes);
        return;
    }
    int onull = fz_pick(r, 8) == 0;
    unsigned a = fz_pick(r, 5);
    size_t need = 0;
    void *arena = NULL;
    size_t ab = 0;
    if (a >= 2) {
        if (swann_arena_size(spec, mb, &need) != SWANN_OK) need = 4096;
        snapshot_last_error(before, sizeof before);
        if (need > ((size_t)64 << 20)) need = 4096;  /* a host arena that is too small */
        ab = a == 3 ? need - 1 : need;
        if (posix_memalign(&arena, 64, need + 64) != 0) abort();
        if (a == 2) arena = (char *)arena + 8;
    } else if (a == 1) {
        ab = 64;
    }
    if (onull) allowed |= SM(SWANN_E_ARG);
    if (a == 1) allowed |= SM(SWANN_E_ARG);
    if (a == 2 || a == 3) allowed |= SM(SWANN_E_ARENA);
    if (!allowed) allowed = SM(SWANN_OK);
    allowed |= SM(SWANN_E_NOMEM);
    swann_net *got = (swann_net *)&need;
    swann_status st = swann_create(spec, mb, arena, ab, onull ? NULL : &got);
    fz_expect("create", st, allowed, before);
    if (!onull && st != SWANN_OK && got != NULL) fz_fail("create failed but *out is not NULL");
    if (st == SWANN_OK) {
        float *p;
        size_t cnt;
        if (swann_params(got, &p, &cnt) != SWANN_OK || cnt != S.params ||
            memcmp(p, S.init_params, cnt * sizeof(float)) != 0)
            fz_fail("a second create of the same spec has other parameters");
        swann_destroy(got);
    }
    if (a >= 2) free(a == 2 ? (char *)arena - 8 : arena);
}

static void op_misc(fz_reader *r)
{
    unsigned c = fz_pick(r, 4);
    if (c == 0) swann_destroy(NULL);
    if (c == 1) swann_destroy((swann_net *)S.dead);  /* a destroyed net in a live block: no-op */
    if (c == 2) {
        int s = (int)fz_u32(r);
        const char *name = swann_status_name((swann_status)s);
        if (!name) fz_fail("status_name(%d) is NULL", s);
        if (s >= 0 && s < 10 ? strcmp(name, fz_name(s)) != 0 : strcmp(name, "SWANN_E_UNKNOWN") != 0)
            fz_fail("status_name(%d) is %s", s, name);
    }
    if (c == 3 && (!swann_version() || !swann_last_error())) fz_fail("version or last_error is NULL");
}

/* Puts the parameters back, clears the gradients and the rate. */
static void restore(void)
{
    if (fz_trace > 0) fprintf(stderr, "  (restore)\n");
    memcpy(S.pview, S.init_params, S.params * sizeof(float));
    if (swann_zero_grad(S.net) != SWANN_OK) fz_fail("restore: zero_grad");
    S.T = 0;
    if (swann_set_lr(S.net, 0.05) != SWANN_OK) fz_fail("restore: set_lr");
    S.lr = S.base_lr = 0.05;
    expect_spec(0.05);
    S.taint = S.ever_taint && !S.spec->stateless;
}

/* Three rounds of forward, backward, step with ordinary data. */
static void train3(swann_net *n, int strict, uint64_t seed)
{
    uint64_t keep = rng_state;
    rng_state = seed;
    for (int round = 0; round < 3; round++) {
        float *x = make_data(S.mb, S.in, D_SMALL, 0, S.spec->loss);
        float *t = make_data(S.mb, S.out, D_SMALL, S.spec->loss == L_NONE ? 2 : 1, S.spec->loss);
        float loss = 0;
        swann_status st = swann_forward(n, x, S.mb, NULL);
        if (st != SWANN_OK) fz_fail("after the sequence: forward gave %s", fz_name(st));
        st = S.spec->loss == L_NONE ? swann_backward_grad(n, t, NULL) : swann_backward(n, t, &loss, NULL);
        if (strict && (st != SWANN_OK || !isfinite(loss)))
            fz_fail("after the sequence: backward gave %s, loss %g", fz_name(st), (double)loss);
        st = swann_step(n);
        if (strict ? st != SWANN_OK : (st != SWANN_OK && st != SWANN_E_NUMERIC && st != SWANN_E_STATE))
            fz_fail("after the sequence: step gave %s", fz_name(st));
        free(x);
        free(t);
    }
    rng_state = keep;
}

static void finish(void)
{
    /* the net still reports itself: the spec it was created with, but for the
     * "lr" set_lr wrote */
    char spec[4096];
    size_t need;
    if (swann_spec_json(S.net, spec, sizeof spec, &need) != SWANN_OK || strcmp(spec, S.cur_spec) != 0)
        fz_fail("after the sequence the spec differs");
    if (swann_input_size(S.net) != S.in || swann_param_count(S.net) != S.params) fz_fail("sizes changed");
    if (swann_set_threads(S.net, 1) != SWANN_OK) fz_fail("set_threads(1) refused");
    restore();
    train3(S.net, !S.taint, 99);
    if (S.spec->stateless && !S.taint) {
        /* a fresh net given the same three rounds ends bit-identical */
        swann_net *fresh = NULL;
        if (swann_create(canon[S.si], S.mb, NULL, 0, &fresh) != SWANN_OK) fz_fail("fresh create");
        if (swann_set_lr(fresh, 0.05) != SWANN_OK) fz_fail("fresh set_lr");
        train3(fresh, 1, 99);
        float *p;
        size_t cnt;
        swann_params(fresh, &p, &cnt);
        if (memcmp(p, S.pview, cnt * sizeof(float)) != 0)
            fz_fail("after the sequence and a restore, training differs from a fresh net's");
        swann_destroy(fresh);
    }
    swann_destroy(S.net);
    if (S.arena) {
        /* the host's block takes a new net */
        swann_net *again = NULL;
        if (swann_create(canon[S.si], S.mb, S.arena, S.arena_bytes, &again) != SWANN_OK)
            fz_fail("the host arena does not take a new net after destroy");
        swann_destroy(again);
    }
}

/* ---- libFuzzer entry points ------------------------------------------------- */

static void make_dir(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(DIR_, sizeof DIR_, "%s/swann-fuzz-api-%ld", base, (long)getpid());
    mkdir(DIR_, 0700);
    snprintf(PATH_MODEL, sizeof PATH_MODEL, "%s/model.safetensors", DIR_);
    snprintf(PATH_GARBAGE, sizeof PATH_GARBAGE, "%s/garbage.safetensors", DIR_);
    snprintf(PATH_MISSING, sizeof PATH_MISSING, "%s/no-such-folder/model.safetensors", DIR_);
    snprintf(PATH_SUBDIR, sizeof PATH_SUBDIR, "%s/folder", DIR_);
    mkdir(PATH_SUBDIR, 0700);
    FILE *f = fopen(PATH_GARBAGE, "wb");
    if (f) {
        static const unsigned char g[] = {0x10, 0, 0, 0, 0, 0, 0, 0, '{', '"', 'a', '"', ':', '1', '}', ' ',
                                          ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', 1, 2, 3};
        fwrite(g, 1, sizeof g, f);
        fclose(f);
    }
}

static void cleanup_dir(void)
{
    char p[400];
    unlink(PATH_MODEL);
    unlink(PATH_GARBAGE);
    rmdir(PATH_SUBDIR);
    snprintf(p, sizeof p, "%s", DIR_);
    rmdir(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_trace = getenv("FUZZ_TRACE") != NULL;
    make_dir();
    atexit(cleanup_dir);
    for (size_t i = 0; i < NSPECS; i++) {
        swann_net *n = NULL;
        spec_ok[i] = swann_create(SPECS[i].json, 2, NULL, 0, &n) == SWANN_OK;
        if (!spec_ok[i]) {
            fprintf(stderr, "fuzz_api: spec %zu not accepted (%s), skipped\n", i, swann_last_error());
            continue;
        }
        size_t need = 0;
        swann_spec_json(n, NULL, 0, &need);
        canon[i] = malloc(need);
        swann_spec_json(n, canon[i], need, &need);
        swann_destroy(n);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size, 0};
    memset(&S, 0, sizeof S);
    S.si = fz_pick(&r, NSPECS);
    if (!spec_ok[S.si]) S.si = 0;
    S.spec = &SPECS[S.si];
    S.mb = 1 + fz_pick(&r, 6);
    int host = fz_pick(&r, 3) == 0;
    rng_state = fz_u32(&r);
    unlink(PATH_MODEL);

    if (swann_arena_size(canon[S.si], S.mb, &S.arena_bytes) != SWANN_OK) fz_fail("arena_size of a good spec");
    if (host && posix_memalign(&S.arena, 64, S.arena_bytes) != 0) abort();
    swann_status st = swann_create(canon[S.si], S.mb, S.arena, host ? S.arena_bytes : 0, &S.net);
    if (st != SWANN_OK) fz_fail("create of a good spec gave %s", fz_name(st));
    size_t dead_bytes;
    swann_arena_size(SPECS[0].json, 2, &dead_bytes);
    if (posix_memalign(&S.dead, 64, dead_bytes) != 0) abort();
    swann_net *d = NULL;
    if (swann_create(SPECS[0].json, 2, S.dead, dead_bytes, &d) != SWANN_OK) fz_fail("create (dead)");
    swann_destroy(d);
    if (posix_memalign(&S.junk, 64, 4096) != 0) abort();
    memset(S.junk, 0, 4096);

    S.in = swann_input_size(S.net);
    S.out = swann_output_size(S.net);
    size_t cnt;
    swann_params(S.net, &S.pview, &S.params);
    swann_grads(S.net, &S.gview, &cnt);
    S.init_params = malloc(S.params * sizeof(float));
    S.saved_params = malloc(S.params * sizeof(float));
    memcpy(S.init_params, S.pview, S.params * sizeof(float));
    double lr;
    swann_get_lr(S.net, &lr);
    S.lr = lr;
    S.base_lr = -1;
    if (swann_create(canon[S.si], 1, NULL, 0, &PROBE) != SWANN_OK) fz_fail("probe create");
    expect_spec(-1);
    if (getenv("FUZZ_TRACE")) fprintf(stderr, "spec %zu max_batch %zu host arena %d\n", S.si, S.mb, host);

    for (int ops = 0; r.i < r.n && ops < 256; ops++) {
        switch (fz_pick(&r, 20)) {
        case 0: case 1: case 2: op_forward(&r); break;
        case 3: case 4: op_backward(&r, 0); break;
        case 5: op_backward(&r, 1); break;
        case 6: case 7: op_step(&r, 0); break;
        case 8: op_step(&r, 1); break;
        case 9: op_zero_grad(&r); break;
        case 10: op_rows(&r); break;
        case 11: op_lr(&r); break;
        case 12: op_views(&r, fz_pick(&r, 2)); break;
        case 13: op_spec_json(&r); break;
        case 14: op_save(&r); break;
        case 15: op_load(&r, fz_pick(&r, 2)); break;
        case 16: op_getters(&r); break;
        case 17: op_create(&r, fz_pick(&r, 2)); break;
        case 18: op_threads(&r); break;
        default:
            if (fz_pick(&r, 2)) op_misc(&r);
            else restore();
            break;
        }
    }
    finish();
    free(S.arena);
    free(S.dead);
    free(S.junk);
    free(S.init_params);
    free(S.saved_params);
    swann_destroy(PROBE);
    PROBE = NULL;
    return 0;
}
