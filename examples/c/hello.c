/* hello.c -- the smallest complete swann program: learn XOR, print the predictions. */
#include <stdio.h>
#include "swann.h"

#define CHECK(call) do { swann_status s = (call); if (s != SWANN_OK) { \
    fprintf(stderr, "%s: %s\n", swann_status_name(s), swann_last_error()); return 1; } } while (0)

int main(void) {
    const char *spec = "{\"input\": 2, \"layers\": [{\"units\": 8, \"activation\": \"tanh\"},"
                       " {\"units\": 1, \"activation\": \"sigmoid\"}], \"loss\": \"mse\","
                       " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.5, \"momentum\": 0.9}, \"seed\": 1}";
    float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}}, d[4] = {0, 1, 1, 0}, y[4];
    swann_net *net = NULL;
    CHECK(swann_create(spec, 4, NULL, 0, &net));   /* max batch 4; the library allocates */
    for (int i = 0; i < 3000; i++) {                /* one step on all four rows */
        CHECK(swann_forward(net, &x[0][0], 4, NULL));
        CHECK(swann_backward(net, d, NULL, NULL));  /* accumulate the gradient */
        CHECK(swann_step(net));                     /* update, zero the gradient */
    }
    CHECK(swann_forward(net, &x[0][0], 4, y));
    for (int i = 0; i < 4; i++)
        printf("%g xor %g = %.3f\n", x[i][0], x[i][1], y[i]);
    swann_destroy(net);
    return 0;
}
