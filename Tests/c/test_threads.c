/*
 * test_threads.c -- nets with worker threads ("threads" in the spec,
 * swann_set_threads): the same results as one thread, bit for bit, because
 * every element of a product is computed the same way whatever thread runs it;
 * no heap use per step (checked by test_noalloc's shim when preloaded, here by
 * behaviour only); bad thread counts refused.
 */
#include "check.h"

static const char *spec_with(int threads, char *buf, size_t cap)
{
    snprintf(buf, cap, "{\"input\": 300, \"layers\": [{\"units\": 520, \"activation\": \"relu\"},"
             " {\"units\": 130, \"activation\": \"tanh\"}, {\"units\": 10, \"activation\": \"softmax\"}],"
             " \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.001},"
             " \"seed\": 5, \"threads\": %d}", threads);
    return buf;
}

static void same_results_any_thread_count(void)
{
    enum { B = 100, IN = 300, OUT = 10 };
    static float x[B * IN], d[B * OUT], dx1[B * IN], dx2[B * IN], y1[B * OUT], y2[B * OUT];
    uint64_t rng = 11;
    for (int i = 0; i < B * IN; i++) x[i] = (float)rng_uniform(&rng, -1, 1);
    memset(d, 0, sizeof d);
    for (int r = 0; r < B; r++) d[r * OUT + (r * 7) % OUT] = 1;
    char s1[512], s2[512];
    swann_net *one = NULL, *two = NULL;
    CHECK_ST(swann_create(spec_with(1, s1, sizeof s1), B, NULL, 0, &one), SWANN_OK, "create, 1 thread");
    CHECK_ST(swann_create(spec_with(3, s2, sizeof s2), B, NULL, 0, &two), SWANN_OK, "create, 3 threads");
    if (!one || !two) return;
    int ok = 1;
    float l1 = 0, l2 = 0;
    for (int step = 0; step < 5; step++) {
        int b = step == 2 ? 37 : B;  /* an uneven batch too */
        ok &= swann_forward(one, x, b, y1) == SWANN_OK && swann_forward(two, x, b, y2) == SWANN_OK;
        ok &= memcmp(y1, y2, (size_t)b * OUT * sizeof(float)) == 0;
        ok &= swann_backward(one, d, &l1, dx1) == SWANN_OK && swann_backward(two, d, &l2, dx2) == SWANN_OK;
        ok &= l1 == l2 && memcmp(dx1, dx2, (size_t)b * IN * sizeof(float)) == 0;
        ok &= swann_step(one) == SWANN_OK && swann_step(two) == SWANN_OK;
        if (step == 3) ok &= swann_set_threads(two, 2) == SWANN_OK;
    }
    CHECK(ok, "outputs, losses and dx identical with 1 and 3 threads over 5 steps");
    float *p1, *p2;
    size_t n1, n2;
    swann_params(one, &p1, &n1);
    swann_params(two, &p2, &n2);
    CHECK(n1 == n2 && memcmp(p1, p2, n1 * sizeof(float)) == 0, "parameters identical with 1 and 3 threads");
    char json[1024];
    size_t need;
    CHECK_ST(swann_spec_json(two, json, sizeof json, &need), SWANN_OK, "spec_json of a threaded net");
    CHECK(strstr(json, "\"threads\":3") != NULL, "the canonical spec keeps \"threads\"");
    swann_destroy(one);
    swann_destroy(two);
}

/* A net large enough that swann_step runs on the pool (225k parameters, several
 * chunks): with clip_norm (a global norm summed across chunks) and momentum, the
 * parameters stay identical to one thread's; a refused step on the pool changes
 * nothing, optimizer state included (later steps still match a net that never
 * saw the refused step). */
static const char *step_spec(int threads, const char *opt, char *buf, size_t cap)
{
    snprintf(buf, cap, "{\"input\": 300, \"layers\": [{\"units\": 520, \"activation\": \"relu\"},"
             " {\"units\": 130, \"activation\": \"tanh\"}, {\"units\": 10, \"activation\": \"softmax\"}],"
             " \"loss\": \"cross_entropy\", \"optimizer\": %s, \"seed\": 7, \"threads\": %d}", opt, threads);
    return buf;
}

static void parallel_step_any_thread_count(void)
{
    enum { B = 64, IN = 300, OUT = 10, NETS = 3 };
    static const char *opts[] = {
        "{\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9, \"nesterov\": true, \"clip_norm\": 0.05}",
        "{\"type\": \"adamw\", \"lr\": 0.01, \"amsgrad\": true, \"clip_norm\": 0.1}",
        "{\"type\": \"sgd\", \"lr\": 0.5, \"momentum\": 0.9, \"weight_decay\": 10}",
    };
    static float x[B * IN], d[B * OUT], keep_p[200000 + 100000], keep_g[200000 + 100000];
    uint64_t rng = 23;
    for (int i = 0; i < B * IN; i++) x[i] = (float)rng_uniform(&rng, -1, 1);
    memset(d, 0, sizeof d);
    for (int r = 0; r < B; r++) d[r * OUT + (r * 3) % OUT] = 1;
    for (int o = 0; o < 3; o++) {
        /* net[0]: 1 thread, net[1]: 2 threads, net[2]: 2 threads, sees a refused step */
        swann_net *net[NETS] = {0};
        char s[640];
        int made = 1;
        for (int k = 0; k < NETS; k++)
            made &= swann_create(step_spec(k == 0 ? 1 : 2, opts[o], s, sizeof s), B, NULL, 0, &net[k]) == SWANN_OK;
        CHECK(made, "create three nets with a large parameter count");
        if (!made) { for (int k = 0; k < NETS; k++) swann_destroy(net[k]); continue; }
        float *p[NETS], *g[NETS];
        size_t n = 0;
        for (int k = 0; k < NETS; k++) { swann_params(net[k], &p[k], &n); swann_grads(net[k], &g[k], &n); }
        int ok = n > 65536 && n <= sizeof keep_p / sizeof keep_p[0];
        for (int step = 0; step < 6 && ok; step++) {
            for (int k = 0; k < NETS; k++) {
                if (!net[k]) continue;
                ok &= swann_forward(net[k], x + (step % 2) * 7, B - step, NULL) == SWANN_OK;
                ok &= swann_backward(net[k], d, NULL, NULL) == SWANN_OK;
            }
            if (step == 3) {
                /* one huge parameter in the last chunk: its update (or weight decay's)
                 * would overflow; the whole step is refused, on the pool */
                memcpy(keep_p, p[2], n * sizeof(float));
                memcpy(keep_g, g[2], n * sizeof(float));
                float was = p[2][n - 3];
                p[2][n - 3] = 3e38f;
                keep_p[n - 3] = 3e38f;
                swann_status st = swann_step(net[2]);
                if (o == 2) {
                    ok &= st == SWANN_E_NUMERIC;
                    ok &= memcmp(keep_p, p[2], n * sizeof(float)) == 0 && memcmp(keep_g, g[2], n * sizeof(float)) == 0;
                    p[2][n - 3] = was;
                    CHECK(ok, "a refused step on the pool leaves parameters and gradients unchanged");
                } else {
                    /* clipping and Adam keep it finite: this one is taken; undo for the compare */
                    ok &= st == SWANN_OK;
                    swann_destroy(net[2]);
                    net[2] = NULL;
                }
            }
            for (int k = 0; k < NETS; k++)
                if (net[k]) ok &= swann_step(net[k]) == SWANN_OK;
            ok &= memcmp(p[0], p[1], n * sizeof(float)) == 0;
            if (net[2]) ok &= memcmp(p[0], p[2], n * sizeof(float)) == 0;
        }
        char what[200];
        snprintf(what, sizeof what, "large net, parameters identical with 1 and 2 threads over 6 steps: %.40s", opts[o]);
        CHECK(ok, what);
        for (int k = 0; k < NETS; k++) swann_destroy(net[k]);
    }
}

static void bad_thread_counts(void)
{
    char s[512];
    swann_net *net = NULL;
    CHECK_ST(swann_create(spec_with(0, s, sizeof s), 4, NULL, 0, &net), SWANN_E_SPEC, "\"threads\": 0 refused");
    CHECK_ST(swann_create(spec_with(65, s, sizeof s), 4, NULL, 0, &net), SWANN_E_SPEC, "\"threads\": 65 refused");
    CHECK_ST(swann_create(spec_with(2, s, sizeof s), 4, NULL, 0, &net), SWANN_OK, "\"threads\": 2");
    CHECK_ST(swann_set_threads(net, 0), SWANN_E_ARG, "set_threads(0)");
    CHECK_ST(swann_set_threads(net, 3), SWANN_E_ARG, "set_threads above the spec's threads");
    CHECK_ST(swann_set_threads(net, SIZE_MAX), SWANN_E_ARG, "set_threads(SIZE_MAX)");
    CHECK_ST(swann_set_threads(NULL, 1), SWANN_E_ARG, "set_threads(NULL)");
    CHECK_ST(swann_set_threads(net, 1), SWANN_OK, "set_threads(1)");
    CHECK_ST(swann_set_threads(net, 2), SWANN_OK, "set_threads(2)");
    swann_destroy(net);
    /* many creates and destroys: workers are started and joined each time. A
     * small net: the threads are what is tested, and initializing the 225k
     * parameters of spec_with's net took 176 ms a create under TSan here (35 s
     * for the loop; a slower CI machine passed the group's 300 s). */
    static const char *small = "{\"input\": 3, \"layers\": [{\"units\": 4, \"activation\": \"relu\"},"
                               " {\"units\": 2, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\","
                               " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.001}, \"seed\": 5, \"threads\": 4}";
    int ok = 1;
    for (int i = 0; i < 200; i++) {
        net = NULL;
        ok &= swann_create(small, 2, NULL, 0, &net) == SWANN_OK && swann_set_threads(net, 4) == SWANN_OK;
        swann_destroy(net);
    }
    CHECK(ok, "200 creates and destroys of a 4-thread net");
}

int main(void)
{
    check_init("test_threads");
    RUN_GROUP(same_results_any_thread_count);
    RUN_GROUP(parallel_step_any_thread_count);
    RUN_GROUP(bad_thread_counts);
    return check_finish();
}
