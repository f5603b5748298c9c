/*
 * test_xor.c -- small nets learn XOR with the lecture's training loop:
 * forward, backward (accumulate over the T = 4 rows), step.
 */
#include "check.h"

static const float X[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float D[4] = {0, 1, 1, 0};

static int train_xor(const char *hidden, int units, const char *loss, const char *opt, int seed, int max_steps)
{
    char spec[512], what[1024];
    snprintf(spec, sizeof spec,
             "{\"input\": 2, \"layers\": [{\"units\": %d, \"activation\": \"%s\"},"
             " {\"units\": 1, \"activation\": \"sigmoid\"}], \"loss\": \"%s\","
             " \"optimizer\": %s, \"seed\": %d}",
             units, hidden, loss, opt, seed);
    swann_net *net = NULL;
    snprintf(what, sizeof what, "create XOR net: %s", spec);
    CHECK_ST(swann_create(spec, 4, NULL, 0, &net), SWANN_OK, what);
    if (!net) return 0;
    float y[4], first = NAN, last = NAN;
    int steps = 0, solved = 0, errors = 0;
    for (steps = 1; steps <= max_steps; steps++) {
        float l = NAN;
        if (swann_forward(net, X, 4, y) != SWANN_OK || swann_backward(net, D, &l, NULL) != SWANN_OK ||
            swann_step(net) != SWANN_OK) {
            errors++;
            break;
        }
        if (steps == 1) first = l;
        last = l;
        if (steps % 50 == 0) {
            swann_forward(net, X, 4, y);
            if (y[0] < 0.5f && y[1] > 0.5f && y[2] > 0.5f && y[3] < 0.5f) {
                solved = 1;
                break;
            }
        }
    }
    snprintf(what, sizeof what, "XOR 2-%d(%s)-1(sigmoid), %s, %s: training calls all OK", units, hidden, loss, opt);
    CHECKF(errors == 0, what, "failed at step %d: %s", steps, check_last_error_());
    /* keep training a little: it must stay solved */
    for (int i = 0; solved && i < 200; i++) {
        swann_forward(net, X, 4, NULL);
        swann_backward(net, D, &last, NULL);
        swann_step(net);
    }
    swann_forward(net, X, 4, y);
    int right = y[0] < 0.5f && y[1] > 0.5f && y[2] > 0.5f && y[3] < 0.5f;
    int fell = isfinite(last) && last < first / 3;
    printf("# seed %d: %s after %d steps, loss %g -> %g, outputs %.3f %.3f %.3f %.3f\n", seed,
           right ? "solved" : "NOT solved", steps, (double)first, (double)last, (double)y[0], (double)y[1],
           (double)y[2], (double)y[3]);
    swann_destroy(net);
    return right && fell;
}

/* A config must solve XOR (all four outputs on the right side of 0.5, loss
 * down to under a third) for at least `need` of 3 seeds. */
static void xor_config(const char *hidden, int units, const char *loss, const char *opt, int max_steps, int need)
{
    int ok = 0;
    for (int seed = 1; seed <= 3; seed++) ok += train_xor(hidden, units, loss, opt, seed, max_steps);
    char what[512];
    snprintf(what, sizeof what,
             "XOR 2-%d(%s)-1(sigmoid), %s, %s: solved within %d steps for at least %d of 3 seeds", units, hidden,
             loss, opt, max_steps, need);
    CHECKF(ok >= need, what, "solved for %d of 3 seeds", ok);
}

static void group_xor(void)
{
    xor_config("tanh", 8, "binary_cross_entropy", "{\"type\": \"sgd\", \"lr\": 0.5, \"momentum\": 0.9}", 5000, 3);
    xor_config("tanh", 4, "mse", "{\"type\": \"sgd\", \"lr\": 0.5, \"momentum\": 0.9}", 5000, 2);
    xor_config("sigmoid", 8, "mse", "{\"type\": \"sgd\", \"lr\": 2.0, \"momentum\": 0.9}", 5000, 2);
    xor_config("tanh", 8, "binary_cross_entropy", "{\"type\": \"adam\", \"lr\": 0.05}", 3000, 3);
}

int main(void)
{
    check_init("test_xor");
    RUN_GROUP(group_xor);
    return check_finish();
}
