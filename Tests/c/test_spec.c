/*
 * test_spec.c -- the network spec: malformed specs are SWANN_E_SPEC, valid
 * specs for every activation, loss, optimizer and init are accepted, and
 * initialisation (seed, zeros, he, xavier, zero biases) follows the contract.
 */
#include "check.h"

/* Both swann_arena_size and swann_create must refuse the spec with `want`. */
static void expect_refused(const char *spec, unsigned mask, const char *why)
{
    char what[512];
    size_t bytes = 12345;
    snprintf(what, sizeof what, "arena_size refuses spec: %s", why);
    CHECK_STM(swann_arena_size(spec, 4, &bytes), mask, what);
    swann_net *out = (swann_net *)(uintptr_t)0x1;
    snprintf(what, sizeof what, "create refuses spec: %s", why);
    swann_status st = swann_create(spec, 4, NULL, 0, &out);
    CHECK_STM(st, mask, what);
    if (st != SWANN_OK) {
        const char *e = swann_last_error();
        snprintf(what, sizeof what, "... sets *out NULL and a message: %s", why);
        CHECKF(out == NULL && e && e[0], what, "out %p, last_error \"%s\"", (void *)out, e ? e : "(NULL)");
    } else {
        swann_destroy(out);
    }
}

static void expect_spec_error(const char *spec, const char *why)
{
    expect_refused(spec, SM(SWANN_E_SPEC), why);
}

static swann_net *expect_valid(const char *spec, const char *why)
{
    char what[512];
    size_t bytes = 0;
    snprintf(what, sizeof what, "arena_size accepts spec: %s", why);
    CHECK_ST(swann_arena_size(spec, 4, &bytes), SWANN_OK, what);
    swann_net *out = NULL;
    snprintf(what, sizeof what, "create accepts spec: %s", why);
    CHECK_ST(swann_create(spec, 4, NULL, 0, &out), SWANN_OK, what);
    if (out) { /* the canonical spec round-trips */
        static char c1[1 << 16], c2[1 << 16];
        size_t n1 = 0, n2 = 0;
        swann_net *r = NULL;
        int ok = swann_spec_json(out, c1, sizeof c1, &n1) == SWANN_OK && swann_create(c1, 4, NULL, 0, &r) == SWANN_OK &&
                 swann_spec_json(r, c2, sizeof c2, &n2) == SWANN_OK && strcmp(c1, c2) == 0;
        float *p1, *p2;
        size_t k1, k2;
        ok = ok && swann_params(out, &p1, &k1) == SWANN_OK && swann_params(r, &p2, &k2) == SWANN_OK && k1 == k2 &&
             memcmp(p1, p2, k1 * sizeof(float)) == 0;
        snprintf(what, sizeof what, "canonical spec_json re-creates the same net (same params, same text): %s", why);
        CHECKF(ok, what, "canonical: %s", c1);
        swann_destroy(r);
    }
    return out;
}

/* builds {"input":3,"layers":[{"units":4,"activation":"tanh"},{"units":2,"activation":"identity"}],"loss":"mse"}
 * with pieces replaced */
static char buf[1 << 16];
static const char *spec3(const char *input, const char *layer1, const char *layer2, const char *tail)
{
    snprintf(buf, sizeof buf, "{\"input\": %s, \"layers\": [%s, %s]%s}", input, layer1, layer2, tail);
    return buf;
}
#define L1 "{\"units\": 4, \"activation\": \"tanh\"}"
#define L2 "{\"units\": 2, \"activation\": \"identity\"}"
#define LOSS ", \"loss\": \"mse\""

static void group_malformed_json(void)
{
    expect_spec_error("", "empty string");
    expect_spec_error("   ", "whitespace only");
    expect_spec_error("{", "unterminated object");
    expect_spec_error("not json", "plain text");
    expect_spec_error("[]", "array instead of object");
    expect_spec_error("42", "number instead of object");
    expect_spec_error("null", "null instead of object");
    expect_spec_error("\"spec\"", "string instead of object");
    expect_spec_error("{\"input\": 3, \"layers\": [{\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"mse\"",
                      "missing closing brace");
    expect_spec_error("{\"input\": 3, \"layers\": [{\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"mse\",}",
                      "trailing comma");
    expect_spec_error("{\"input\": 3, \"layers\": [{\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"mse\"} {",
                      "trailing garbage after the object");
    expect_spec_error("{'input': 3, 'layers': [{'units': 2, 'activation': 'identity'}], 'loss': 'mse'}",
                      "single-quoted strings");
    expect_spec_error("{\"input\": 3, \"layers\": [{\"units\": 2, \"activation\": \"identity\"}], \"loss\": mse}",
                      "bare word value");
    /* deep nesting must not overflow the parser's stack */
    static char deep[200016];
    size_t n = 0;
    n += (size_t)sprintf(deep, "{\"input\": ");
    for (int i = 0; i < 100000; i++) deep[n++] = '[';
    for (int i = 0; i < 100000; i++) deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = 0;
    expect_spec_error(deep, "100000 nested arrays");
    /* a long bogus activation name */
    static char longname[1 << 17];
    n = (size_t)sprintf(longname, "{\"input\": 3, \"layers\": [{\"units\": 2, \"activation\": \"");
    for (int i = 0; i < 100000; i++) longname[n++] = 'x';
    sprintf(longname + n, "\"}], \"loss\": \"mse\"}");
    expect_spec_error(longname, "100000-character activation name");
}

static void group_missing_unknown(void)
{
    expect_spec_error("{\"layers\": [" L2 "]" LOSS "}", "missing input");
    expect_spec_error("{\"input\": 3" LOSS "}", "missing layers");
    expect_spec_error("{\"input\": 3, \"layers\": [" L1 ", " L2 "]}", "missing loss");
    expect_spec_error("{}", "empty object");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"extra\": 1"), "unknown top-level key \"extra\"");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"Seed\": 1"), "top-level key with wrong case \"Seed\"");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"optimiser\": {\"type\": \"sgd\"}"),
                      "misspelled top-level key \"optimiser\"");
    expect_spec_error("{\"inputs\": 3, \"layers\": [" L1 ", " L2 "]" LOSS "}", "misspelled \"inputs\"");
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": \"tanh\", \"bias\": false}", L2, LOSS),
                      "unknown layer key \"bias\"");
    expect_spec_error(spec3("3", "{\"unit\": 4, \"activation\": \"tanh\"}", L2, LOSS), "misspelled layer key \"unit\"");
    expect_spec_error(spec3("3", "{\"units\": 4, \"activaton\": \"tanh\"}", L2, LOSS),
                      "misspelled layer key \"activaton\"");
    expect_spec_error(spec3("3", "{\"units\": 4}", L2, LOSS), "layer without activation");
    expect_spec_error(spec3("3", "{\"activation\": \"tanh\"}", L2, LOSS), "layer without units");
    expect_spec_error(spec3("3", "{}", L2, LOSS), "empty layer object");
    expect_spec_error(spec3("3", "4", L2, LOSS), "layer is a number");
    expect_spec_error(spec3("3", "[4, \"tanh\"]", L2, LOSS), "layer is an array");
    expect_spec_error("{\"input\": 3, \"layers\": []" LOSS "}", "empty layers array");
    expect_spec_error("{\"input\": 3, \"layers\": {}" LOSS "}", "layers is an object");
    expect_spec_error("{\"input\": 3, \"layers\": 5" LOSS "}", "layers is a number");
    expect_spec_error("{\"input\": 3, \"layers\": null" LOSS "}", "layers is null");

    /* unknown names */
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": \"swish\"}", L2, LOSS), "unknown activation \"swish\"");
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": \"Relu\"}", L2, LOSS), "activation with wrong case \"Relu\"");
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": \"\"}", L2, LOSS), "empty activation name");
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": \"relu \"}", L2, LOSS), "activation \"relu \" (trailing space)");
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": 3}", L2, LOSS), "activation is a number");
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": null}", L2, LOSS), "activation is null");
    expect_spec_error(spec3("3", L1, L2, ", \"loss\": \"mae\""), "unknown loss \"mae\"");
    expect_spec_error(spec3("3", L1, L2, ", \"loss\": \"MSE\""), "loss with wrong case \"MSE\"");
    expect_spec_error(spec3("3", L1, L2, ", \"loss\": 1"), "loss is a number");
    expect_spec_error(spec3("3", L1, L2, ", \"loss\": null"), "loss is null");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"optimizer\": {\"type\": \"sgdd\"}"), "unknown optimizer \"sgdd\"");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"optimizer\": {\"type\": \"lbfgs\"}"), "unknown optimizer \"lbfgs\"");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"momentun\": 0.9}"),
                      "unknown optimizer key \"momentun\"");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"optimizer\": {\"type\": \"sgd\", \"learning_rate\": 0.1}"),
                      "unknown optimizer key \"learning_rate\"");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"optimizer\": 5"), "optimizer is a number");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"init\": \"glorot\""), "unknown init \"glorot\"");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"init\": \"He\""), "init with wrong case \"He\"");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"init\": 1"), "init is a number");
}

static void group_bad_numbers(void)
{
    static const struct {
        const char *v, *why;
    } bad_units[] = {{"0", "0"},
                     {"-1", "-1"},
                     {"-4", "-4"},
                     {"1.5", "1.5"},
                     {"4.0000001", "4.0000001"},
                     {"1e30", "1e30"},
                     {"4611686018427387904", "2^62"},
                     {"9223372036854775807", "2^63-1"},
                     {"18446744073709551615", "2^64-1"},
                     {"1e400", "1e400 (overflows a double)"},
                     {"\"4\"", "the string \"4\""},
                     {"true", "true"},
                     {"null", "null"},
                     {"[4]", "an array"},
                     {"{}", "an object"}};
    char layer[256], what[256];
    for (size_t i = 0; i < sizeof bad_units / sizeof bad_units[0]; i++) {
        snprintf(layer, sizeof layer, "{\"units\": %s, \"activation\": \"tanh\"}", bad_units[i].v);
        snprintf(what, sizeof what, "hidden units %s", bad_units[i].why);
        expect_spec_error(spec3("3", layer, L2, LOSS), what);
        snprintf(what, sizeof what, "input %s", bad_units[i].why);
        expect_spec_error(spec3(bad_units[i].v, L1, L2, LOSS), what);
    }
    /* sizes whose products overflow size_t: refused, never wrapped around */
    expect_refused(spec3("4294967296", "{\"units\": 4294967296, \"activation\": \"tanh\"}", L2, LOSS),
                   SM(SWANN_E_SPEC) | SM(SWANN_E_ARG),
                   "input 2^32 x units 2^32 (2^64 weights)");
    expect_refused(spec3("3", "{\"units\": 2305843009213693952, \"activation\": \"tanh\"}", L2, LOSS),
                   SM(SWANN_E_SPEC) | SM(SWANN_E_ARG), "units 2^61");

    /* alpha */
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": \"relu\", \"alpha\": 0.1}", L2, LOSS), "alpha on a relu layer");
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": \"sigmoid\", \"alpha\": 0.1}", L2, LOSS),
                      "alpha on a sigmoid layer");
    expect_spec_error(spec3("3", L1, "{\"units\": 2, \"activation\": \"softmax\", \"alpha\": 1}", LOSS),
                      "alpha on a softmax layer");
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": \"leaky_relu\", \"alpha\": \"0.1\"}", L2, LOSS),
                      "alpha given as a string");
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": \"leaky_relu\", \"alpha\": NaN}", L2, LOSS),
                      "alpha NaN");
    expect_spec_error(spec3("3", "{\"units\": 4, \"activation\": \"elu\", \"alpha\": 1e400}", L2, LOSS),
                      "alpha 1e400 (infinite)");

    /* optimizer numbers */
    static const struct {
        const char *opt, *why;
    } bad_opt[] = {
        {"{\"type\": \"sgd\", \"lr\": -0.1}", "lr negative"},
        {"{\"type\": \"sgd\", \"lr\": \"0.1\"}", "lr as a string"},
        {"{\"type\": \"sgd\", \"lr\": \"NaN\"}", "lr as the string \"NaN\""},
        {"{\"type\": \"sgd\", \"lr\": NaN}", "lr NaN literal"},
        {"{\"type\": \"sgd\", \"lr\": Infinity}", "lr Infinity literal"},
        {"{\"type\": \"sgd\", \"lr\": 1e400}", "lr 1e400 (infinite)"},
        {"{\"type\": \"sgd\", \"lr\": null}", "lr null"},
        {"{\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": -0.5}", "momentum negative"},
        {"{\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": \"0.9\"}", "momentum as a string"},
        {"{\"type\": \"sgd\", \"lr\": 0.1, \"weight_decay\": -1}", "weight_decay negative"},
        {"{\"type\": \"sgd\", \"lr\": 0.1, \"nesterov\": \"yes\"}", "nesterov as a string"},
        {"{\"type\": \"adam\", \"lr\": -0.001}", "adam lr negative"},
        {"{\"type\": 7}", "optimizer type is a number"},
        {"{\"type\": \"SGD\"}", "optimizer type with wrong case"},
    };
    for (size_t i = 0; i < sizeof bad_opt / sizeof bad_opt[0]; i++) {
        char tail[512];
        snprintf(tail, sizeof tail, LOSS ", \"optimizer\": %s", bad_opt[i].opt);
        expect_spec_error(spec3("3", L1, L2, tail), bad_opt[i].why);
    }
    /* seed */
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"seed\": 1.5"), "seed 1.5");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"seed\": \"42\""), "seed as a string");
    expect_spec_error(spec3("3", L1, L2, LOSS ", \"seed\": null"), "seed null");
}

/* ---- valid specs ---------------------------------------------------------- */

static void group_valid(void)
{
    static const char *acts[] = {"identity", "sigmoid", "tanh",   "relu",   "leaky_relu",
                                 "elu",      "softplus", "gelu",  "softmax"};
    char l1[256], l2[256], why[256];
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        snprintf(l1, sizeof l1, "{\"units\": 4, \"activation\": \"%s\"}", acts[i]);
        snprintf(why, sizeof why, "hidden activation %s", acts[i]);
        swann_net *n = expect_valid(spec3("3", l1, L2, LOSS), why);
        if (n) {
            CHECK(swann_input_size(n) == 3 && swann_output_size(n) == 2 && swann_param_count(n) == 4 * 3 + 4 + 2 * 4 + 2,
                  "sizes follow the spec");
            float x[3] = {0.1f, -0.2f, 0.3f}, y[2];
            CHECK_ST(swann_forward(n, x, 1, y), SWANN_OK, "forward OK");
            CHECK(isfinite(y[0]) && isfinite(y[1]), "forward output finite");
        }
        swann_destroy(n);
        snprintf(l2, sizeof l2, "{\"units\": 2, \"activation\": \"%s\"}", acts[i]);
        snprintf(why, sizeof why, "output activation %s", acts[i]);
        n = expect_valid(spec3("3", L1, l2, LOSS), why);
        swann_destroy(n);
    }
    swann_destroy(expect_valid(spec3("3", "{\"units\": 4, \"activation\": \"leaky_relu\", \"alpha\": 0.2}", L2, LOSS),
                               "leaky_relu with alpha 0.2"));
    swann_destroy(expect_valid(spec3("3", "{\"units\": 4, \"activation\": \"elu\", \"alpha\": 0.5}", L2, LOSS),
                               "elu with alpha 0.5"));

    static const struct {
        const char *out, *loss;
    } losses[] = {{"identity", "mse"},
                  {"softmax", "cross_entropy"},
                  {"sigmoid", "binary_cross_entropy"},
                  {"identity", "none"},
                  {"sigmoid", "mse"},
                  {"sigmoid", "cross_entropy"}};
    for (size_t i = 0; i < sizeof losses / sizeof losses[0]; i++) {
        char tail[128];
        snprintf(l2, sizeof l2, "{\"units\": 2, \"activation\": \"%s\"}", losses[i].out);
        snprintf(tail, sizeof tail, ", \"loss\": \"%s\"", losses[i].loss);
        snprintf(why, sizeof why, "%s output with loss %s", losses[i].out, losses[i].loss);
        swann_destroy(expect_valid(spec3("3", L1, l2, tail), why));
    }
    static const char *opts[] = {
        "{\"type\": \"sgd\"}",
        "{\"type\": \"sgd\", \"lr\": 0.05}",
        "{\"type\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9}",
        "{\"type\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9, \"nesterov\": true}",
        "{\"type\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9, \"nesterov\": false, \"weight_decay\": 0.0001}",
        "{\"type\": \"adam\"}",
        "{\"type\": \"adam\", \"lr\": 0.001}",
        "{\"type\": \"adamw\", \"lr\": 0.001}",
        "{\"type\": \"adamw\", \"lr\": 0.001, \"weight_decay\": 0.01}",
        "{\"type\": \"rmsprop\", \"lr\": 0.01}",
        "{\"type\": \"rprop\", \"lr\": 0.01}",
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        char tail[512];
        snprintf(tail, sizeof tail, LOSS ", \"optimizer\": %s", opts[i]);
        snprintf(why, sizeof why, "optimizer %s", opts[i]);
        swann_net *n = expect_valid(spec3("3", L1, L2, tail), why);
        if (n) {
            /* one training step works with it */
            float x[6] = {0.1f, -0.2f, 0.3f, 0.5f, 0.4f, -0.6f}, t[4] = {1, 0, 0, 1};
            swann_status a = swann_forward(n, x, 2, NULL);
            swann_status b = swann_backward(n, t, NULL, NULL);
            swann_status c = swann_step(n);
            snprintf(why, sizeof why, "a training step runs with optimizer %s", opts[i]);
            CHECKF(a == SWANN_OK && b == SWANN_OK && c == SWANN_OK, why, "%s %s %s", check_name_(a),
                   check_name_(b), check_name_(c));
        }
        swann_destroy(n);
    }
    static const char *inits[] = {"xavier", "he", "zeros"};
    for (size_t i = 0; i < 3; i++) {
        char tail[128];
        snprintf(tail, sizeof tail, LOSS ", \"init\": \"%s\", \"seed\": 3", inits[i]);
        snprintf(why, sizeof why, "init %s", inits[i]);
        swann_destroy(expect_valid(spec3("3", L1, L2, tail), why));
    }
    /* key order and whitespace do not matter */
    swann_destroy(expect_valid("\n{ \"loss\" : \"mse\" ,\t\"layers\":[{\"activation\":\"relu\",\"units\":1}],\"input\":1 }\n",
                               "reordered keys, odd whitespace, a single layer"));
    /* a deep stack of layers */
    {
        static char big[8192];
        size_t n = (size_t)sprintf(big, "{\"input\": 2, \"layers\": [");
        for (int i = 0; i < 40; i++)
            n += (size_t)sprintf(big + n, "%s{\"units\": 3, \"activation\": \"tanh\"}", i ? ", " : "");
        sprintf(big + n, "], \"loss\": \"mse\"}");
        swann_net *d = expect_valid(big, "40 layers");
        if (d) CHECK(swann_param_count(d) == (3 * 2 + 3) + 39 * (3 * 3 + 3), "40-layer param_count");
        swann_destroy(d);
    }
}

/* ---- initialisation ------------------------------------------------------ */

static int get_params(swann_net *n, float **p, size_t *c)
{
    return n && swann_params(n, p, c) == SWANN_OK;
}

static void group_seed(void)
{
    const char *s42 = spec3("8", "{\"units\": 16, \"activation\": \"tanh\"}", "{\"units\": 4, \"activation\": \"relu\"}",
                            LOSS ", \"seed\": 42");
    char spec42[1024];
    snprintf(spec42, sizeof spec42, "%s", s42);
    swann_net *a = expect_valid(spec42, "seed 42");
    swann_net *b = expect_valid(spec42, "seed 42 again");
    float *pa, *pb;
    size_t na, nb;
    if (get_params(a, &pa, &na) && get_params(b, &pb, &nb)) {
        CHECK(na == nb && memcmp(pa, pb, na * sizeof(float)) == 0, "same spec and seed: bit-identical params");
        /* different max_batch / host arena do not change the init */
        size_t need = 0;
        swann_arena_size(spec42, 32, &need);
        void *blk = test_aligned_block(need);
        swann_net *h = NULL;
        CHECK_ST(swann_create(spec42, 32, blk, need, &h), SWANN_OK, "create seed 42 in a host arena, max_batch 32");
        float *ph;
        size_t nh;
        if (get_params(h, &ph, &nh))
            CHECK(nh == na && memcmp(pa, ph, na * sizeof(float)) == 0,
                  "init is independent of max_batch and of who allocates the arena");
        swann_destroy(h);
        test_free_block(blk, need);
    }
    const char *s43 = spec3("8", "{\"units\": 16, \"activation\": \"tanh\"}", "{\"units\": 4, \"activation\": \"relu\"}",
                            LOSS ", \"seed\": 43");
    swann_net *c = expect_valid(s43, "seed 43");
    float *pc;
    size_t nc;
    if (get_params(a, &pa, &na) && get_params(c, &pc, &nc)) {
        CHECK(memcmp(pa, pc, na * sizeof(float)) != 0, "different seeds give different params");
        size_t same = 0;
        for (size_t i = 0; i < na; i++)
            if (pa[i] == pc[i] && pa[i] != 0.0f) same++;
        CHECKF(same < na / 20, "different seeds give (almost) no equal non-zero weights", "%zu of %zu equal", same, na);
    }
    /* seed defaults to 0 */
    const char *s0 = spec3("8", "{\"units\": 16, \"activation\": \"tanh\"}", "{\"units\": 4, \"activation\": \"relu\"}",
                           LOSS ", \"seed\": 0");
    char spec0[1024];
    snprintf(spec0, sizeof spec0, "%s", s0);
    swann_net *z = expect_valid(spec0, "seed 0");
    swann_net *d = expect_valid(spec3("8", "{\"units\": 16, \"activation\": \"tanh\"}",
                                      "{\"units\": 4, \"activation\": \"relu\"}", LOSS),
                                "no seed");
    float *pz, *pd;
    size_t nz, nd;
    if (get_params(z, &pz, &nz) && get_params(d, &pd, &nd))
        CHECK(nz == nd && memcmp(pz, pd, nz * sizeof(float)) == 0, "missing seed is the same as seed 0");
    /* a 64-bit seed is not truncated to 32 bits (when accepted) */
    const char *sbig = spec3("8", "{\"units\": 16, \"activation\": \"tanh\"}", "{\"units\": 4, \"activation\": \"relu\"}",
                             LOSS ", \"seed\": 4294967338"); /* 2^32 + 42 */
    swann_net *g = NULL;
    swann_status st = swann_create(sbig, 4, NULL, 0, &g);
    CHECK_ST2(st, SWANN_OK, SWANN_E_SPEC, "seed 2^32+42 accepted or refused as out of range");
    float *pg;
    size_t ng;
    if (st == SWANN_OK && get_params(g, &pg, &ng) && get_params(a, &pa, &na))
        CHECK(memcmp(pa, pg, na * sizeof(float)) != 0, "seed 2^32+42 differs from seed 42 (no truncation)");
    swann_destroy(a);
    swann_destroy(b);
    swann_destroy(c);
    swann_destroy(z);
    swann_destroy(d);
    swann_destroy(g);
}

struct stats {
    double mean, sd, kurt, maxabs;
};

static struct stats stats_of(const float *w, size_t n)
{
    struct stats s = {0, 0, 0, 0};
    double m = 0;
    for (size_t i = 0; i < n; i++) m += w[i];
    m /= (double)n;
    double m2 = 0, m4 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = w[i] - m;
        m2 += d * d;
        m4 += d * d * d * d;
        if (fabs(w[i]) > s.maxabs) s.maxabs = fabs(w[i]);
    }
    m2 /= (double)n;
    m4 /= (double)n;
    s.mean = m;
    s.sd = sqrt(m2);
    s.kurt = m2 > 0 ? m4 / (m2 * m2) : 0;
    return s;
}

/* layer 1: in -> out with activation act; layer 2 a small output layer */
static void verify_init(const char *init, const char *act, size_t in, size_t out, const char *dist)
{
    char spec[512], why[1024];
    snprintf(spec, sizeof spec,
             "{\"input\": %zu, \"layers\": [{\"units\": %zu, \"activation\": \"%s\"},"
             " {\"units\": 3, \"activation\": \"identity\"}], \"loss\": \"mse\"%s%s%s, \"seed\": 11}",
             in, out, act, init ? ", \"init\": \"" : "", init ? init : "", init ? "\"" : "");
    snprintf(why, sizeof why, "init %s, %s layer %zu->%zu", init ? init : "(default)", act, in, out);
    swann_net *n = expect_valid(spec, why);
    float *p;
    size_t c;
    if (!get_params(n, &p, &c)) {
        swann_destroy(n);
        return;
    }
    size_t nw = in * out;
    struct stats s = stats_of(p, nw);
    const float *b1 = p + nw, *w2 = p + nw + out, *b2 = w2 + 3 * out;
    int bz = 1;
    for (size_t i = 0; i < out; i++)
        if (b1[i] != 0.0f) bz = 0;
    for (size_t i = 0; i < 3; i++)
        if (b2[i] != 0.0f) bz = 0;
    snprintf(why, sizeof why, "%s: biases start at zero", spec);
    CHECK(bz, why);
    if (strcmp(dist, "he") == 0) {
        double want = sqrt(2.0 / (double)in);
        snprintf(why, sizeof why, "he init (%s, %zu->%zu): std = sqrt(2/fan_in) = %.4f within 2%%",
                 init ? "explicit" : "default for this activation", in, out, want);
        CHECKF(fabs(s.sd - want) <= 0.02 * want, why, "std %.5f", s.sd);
        snprintf(why, sizeof why, "he init %zu->%zu: mean ~ 0", in, out);
        CHECKF(fabs(s.mean) <= 5.0 * want / sqrt((double)nw), why, "mean %.6f", s.mean);
        snprintf(why, sizeof why, "he init %zu->%zu: normal (kurtosis 3 +- 0.15)", in, out);
        CHECKF(fabs(s.kurt - 3.0) <= 0.15, why, "kurtosis %.4f", s.kurt);
    } else if (strcmp(dist, "xavier") == 0) {
        double bound = sqrt(6.0 / (double)(in + out));
        snprintf(why, sizeof why, "xavier init (%s, %zu->%zu): all |w| <= sqrt(6/(fan_in+fan_out)) = %.4f",
                 init ? "explicit" : "default for this activation", in, out, bound);
        CHECKF(s.maxabs <= bound * (1 + 1e-6), why, "max |w| %.6f", s.maxabs);
        snprintf(why, sizeof why, "xavier init %zu->%zu: max |w| close to the bound (uniform fills it)", in, out);
        CHECKF(s.maxabs >= bound * 0.99, why, "max |w| %.6f bound %.6f", s.maxabs, bound);
        snprintf(why, sizeof why, "xavier init %zu->%zu: std = bound/sqrt(3) within 2%%", in, out);
        CHECKF(fabs(s.sd - bound / sqrt(3.0)) <= 0.02 * bound / sqrt(3.0), why, "std %.5f want %.5f", s.sd,
               bound / sqrt(3.0));
        snprintf(why, sizeof why, "xavier init %zu->%zu: uniform (kurtosis 1.8 +- 0.1)", in, out);
        CHECKF(fabs(s.kurt - 1.8) <= 0.1, why, "kurtosis %.4f", s.kurt);
        snprintf(why, sizeof why, "xavier init %zu->%zu: mean ~ 0", in, out);
        CHECKF(fabs(s.mean) <= 5.0 * bound / sqrt(3.0 * (double)nw), why, "mean %.6f", s.mean);
    } else { /* zeros */
        int z = 1;
        for (size_t i = 0; i < c; i++)
            if (p[i] != 0.0f) z = 0;
        snprintf(why, sizeof why, "init zeros: every parameter is 0 (%zu->%zu)", in, out);
        CHECK(z, why);
    }
    /* the second layer follows the same rule with its own fan-in/out */
    struct stats s2 = stats_of(w2, 3 * out);
    if (strcmp(dist, "xavier") == 0 && init) {
        double bound2 = sqrt(6.0 / (double)(out + 3));
        snprintf(why, sizeof why, "xavier: layer 2 (%zu->3) within its own bound %.4f", out, bound2);
        CHECKF(s2.maxabs <= bound2 * (1 + 1e-6), why, "max %.5f", s2.maxabs);
    }
    swann_destroy(n);
}

static void group_init(void)
{
    verify_init("he", "tanh", 512, 512, "he");
    verify_init("he", "relu", 256, 512, "he"); /* fan_in 256, not 512 */
    verify_init("he", "relu", 512, 256, "he");
    verify_init("xavier", "relu", 512, 512, "xavier");
    verify_init("xavier", "tanh", 256, 768, "xavier");
    verify_init("zeros", "tanh", 64, 32, "zeros");
    /* defaults: he for relu / leaky_relu / elu, xavier otherwise */
    verify_init(NULL, "relu", 256, 512, "he");
    verify_init(NULL, "leaky_relu", 512, 256, "he");
    verify_init(NULL, "elu", 512, 512, "he");
    verify_init(NULL, "tanh", 512, 512, "xavier");
    verify_init(NULL, "sigmoid", 384, 512, "xavier");
    verify_init(NULL, "identity", 512, 512, "xavier");
    verify_init(NULL, "gelu", 512, 512, "xavier");
    /* zeros really trains nothing into symmetry-breaking, but forward still works */
    swann_net *n = expect_valid(spec3("3", L1, L2, LOSS ", \"init\": \"zeros\""), "init zeros small");
    if (n) {
        float x[3] = {1, 2, 3}, y[2] = {7, 7};
        swann_forward(n, x, 1, y);
        CHECK(y[0] == 0.0f && y[1] == 0.0f, "init zeros: output of tanh/identity net is exactly 0");
    }
    swann_destroy(n);
}

/* The optimizer's and the schedule's keys: an unknown key's message lists the kind's
 * keys (read from one table, OptimizerKeys.swift), and the canonical spec writes them
 * in that order. */
static void expect_message(const char *tail, const char *want, const char *why)
{
    swann_net *out = NULL;
    char what[512];
    swann_status st = swann_create(spec3("3", L1, L2, tail), 4, NULL, 0, &out);
    const char *e = swann_last_error();
    snprintf(what, sizeof what, "%s: SWANN_E_SPEC and the message \"%s\"", why, want);
    CHECKF(st == SWANN_E_SPEC && e && strstr(e, want), what, "status %d, last_error \"%s\"", (int)st, e ? e : "(NULL)");
    if (st == SWANN_OK) swann_destroy(out);
}

static void group_optimizer_keys(void)
{
    expect_message(LOSS ", \"optimizer\": {\"type\": \"sgd\", \"beta1\": 0.9}",
                   "spec: optimizer.\"beta1\" is not a key of sgd (lr, momentum, dampening, nesterov, weight_decay, "
                   "clip_norm, schedule)", "sgd with beta1");
    expect_message(LOSS ", \"optimizer\": {\"type\": \"adamw\", \"momentum\": 0.9}",
                   "spec: optimizer.\"momentum\" is not a key of adam/adamw (lr, beta1, beta2, eps, weight_decay, "
                   "amsgrad, clip_norm, schedule)", "adamw with momentum");
    expect_message(LOSS ", \"optimizer\": {\"type\": \"rmsprop\", \"nesterov\": true}",
                   "spec: optimizer.\"nesterov\" is not a key of rmsprop (lr, alpha, eps, weight_decay, momentum, "
                   "centered, clip_norm, schedule)", "rmsprop with nesterov");
    expect_message(LOSS ", \"optimizer\": {\"type\": \"rprop\", \"eps\": 1e-8}",
                   "spec: optimizer.\"eps\" is not a key of rprop (lr, eta_minus, eta_plus, step_min, step_max, "
                   "clip_norm, schedule)", "rprop with eps");
    expect_message(LOSS ", \"optimizer\": {\"type\": \"sgd\", \"schedule\": {\"type\": \"constant\", \"gamma\": 0.5}}",
                   "spec: optimizer.schedule.\"gamma\" is not a key of the constant schedule (type, warmup_steps, "
                   "warmup_start_factor)", "constant schedule with gamma");
    expect_message(LOSS ", \"optimizer\": {\"type\": \"sgd\", \"schedule\": {\"type\": \"step\", \"t_max\": 5}}",
                   "spec: optimizer.schedule.\"t_max\" is not a key of the step schedule (type, step_size, gamma, "
                   "warmup_steps, warmup_start_factor)", "step schedule with t_max");
    expect_message(LOSS ", \"optimizer\": {\"type\": \"sgd\", \"schedule\": {\"type\": \"cosine\", \"gamma\": 0.5}}",
                   "spec: optimizer.schedule.\"gamma\" is not a key of the cosine schedule (type, t_max, eta_min, "
                   "warmup_steps, warmup_start_factor)", "cosine schedule with gamma");
    /* each key's range, through the one reader */
    expect_message(LOSS ", \"optimizer\": {\"type\": \"rprop\", \"eta_plus\": 1}",
                   "spec: optimizer.\"eta_plus\" is 1, must be in (1, 1e+03]", "rprop eta_plus at its open end");
    expect_message(LOSS ", \"optimizer\": {\"type\": \"adam\", \"beta2\": 1}",
                   "spec: optimizer.\"beta2\" is 1, must be in [0, 1)", "adam beta2 at its open end");
    expect_message(LOSS ", \"optimizer\": {\"type\": \"sgd\", \"schedule\": {\"type\": \"step\", \"step_size\": 0}}",
                   "spec: optimizer.schedule.\"step_size\" is 0, must be in 1...1099511627776", "step_size 0");
    expect_message(LOSS ", \"optimizer\": {\"type\": \"sgd\", \"nesterov\": 1}",
                   "spec: optimizer.\"nesterov\" must be true or false", "nesterov a number");
    expect_message(LOSS ", \"optimizer\": {\"type\": \"sgd\", \"schedule\": {\"type\": \"cosine\", \"t_max\": 1.5}}",
                   "spec: optimizer.schedule.\"t_max\" must be an integer", "t_max not an integer");

    /* every key set: the canonical text has each, in the table's order, with its value */
    swann_net *n = expect_valid(spec3("3", L1, L2, LOSS ", \"optimizer\": {\"type\": \"rmsprop\", \"centered\": true, "
                                      "\"momentum\": 0.5, \"weight_decay\": 0.25, \"eps\": 0.125, \"alpha\": 0.75, "
                                      "\"lr\": 0.5, \"clip_norm\": 2, \"schedule\": {\"warmup_start_factor\": 0.5, "
                                      "\"warmup_steps\": 3, \"gamma\": 0.5, \"step_size\": 7, \"type\": \"step\"}}"),
                                "rmsprop, every key, a step schedule with warm-up");
    static char c[1 << 12];
    size_t len = 0;
    CHECK(n && swann_spec_json(n, c, sizeof c, &len) == SWANN_OK, "spec_json of the rmsprop net");
    CHECKF(strstr(c, "\"optimizer\":{\"type\":\"rmsprop\",\"lr\":0.5,\"alpha\":0.75,\"eps\":0.125,\"weight_decay\":0.25,"
                     "\"momentum\":0.5,\"centered\":true,\"clip_norm\":2,\"schedule\":{\"type\":\"step\",\"step_size\":7,"
                     "\"gamma\":0.5,\"warmup_steps\":3,\"warmup_start_factor\":0.5}}") != NULL,
           "canonical optimizer: every rmsprop key and the schedule's, in order", "canonical: %s", c);
    swann_destroy(n);
    n = expect_valid(spec3("3", L1, L2, LOSS ", \"optimizer\": {\"type\": \"sgd\", \"nesterov\": true, \"momentum\": 0.5, "
                           "\"schedule\": {\"type\": \"cosine\", \"eta_min\": 0.25, \"t_max\": 9}}"),
                     "sgd nesterov, a cosine schedule without warm-up");
    CHECK(n && swann_spec_json(n, c, sizeof c, &len) == SWANN_OK, "spec_json of the sgd net");
    CHECKF(strstr(c, "\"optimizer\":{\"type\":\"sgd\",\"lr\":0.01,\"momentum\":0.5,\"dampening\":0,\"nesterov\":true,"
                     "\"weight_decay\":0,\"schedule\":{\"type\":\"cosine\",\"t_max\":9,\"eta_min\":0.25}}") != NULL,
           "canonical optimizer: sgd's keys, no clip_norm, no warm-up keys", "canonical: %s", c);
    swann_destroy(n);
}

int main(void)
{
    check_init("test_spec");
    RUN_GROUP(group_malformed_json);
    RUN_GROUP(group_missing_unknown);
    RUN_GROUP(group_bad_numbers);
    RUN_GROUP(group_valid);
    RUN_GROUP(group_seed);
    RUN_GROUP(group_init);
    RUN_GROUP(group_optimizer_keys);
    return check_finish();
}
