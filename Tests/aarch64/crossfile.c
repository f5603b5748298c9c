/* crossfile: the half of a model-file crossing that runs on one machine.
 *   crossfile resave IN OUT     loads a model file into a net and saves it again
 *   crossfile predict IN OUT    a model's outputs for 256 fixed rows, as raw floats
 *                               (any dtype: float32, f16, int8)
 *   crossfile quantize IN DTYPE OUT   a float32 model file made compact (f16, int8)
 *   crossfile remodel IN OUT    loads a model file of any dtype as a model, saves it again
 * Tests/aarch64/run.sh runs it on x86-64 and under qemu-aarch64 and compares the bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swann.h"

static int fail(const char *what) {
    fprintf(stderr, "crossfile: %s: %s\n", what, swann_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5 || (argc == 5) != (strcmp(argv[1], "quantize") == 0)) {
        fprintf(stderr, "usage: crossfile resave|remodel|predict IN OUT | quantize IN DTYPE OUT\n");
        return 2;
    }
    if (strcmp(argv[1], "resave") == 0) {
        swann_net *net = NULL;
        if (swann_load(argv[2], 1, NULL, 0, &net) != SWANN_OK) return fail("load");
        if (swann_save(net, argv[3]) != SWANN_OK) return fail("save");
        swann_destroy(net);
        return 0;
    }
    if (strcmp(argv[1], "remodel") == 0) {
        swann_model *m = NULL;
        if (swann_model_load(argv[2], 0, &m) != SWANN_OK) return fail("model_load");
        if (swann_model_save(m, argv[3]) != SWANN_OK) return fail("model_save");
        swann_model_destroy(m);
        return 0;
    }
    if (strcmp(argv[1], "quantize") == 0) {
        swann_model *m = NULL, *q = NULL;
        if (swann_model_load(argv[2], 0, &m) != SWANN_OK) return fail("model_load");
        if (swann_model_quantize(m, argv[3], &q) != SWANN_OK) return fail("model_quantize");
        if (swann_model_save(q, argv[4]) != SWANN_OK) return fail("model_save");
        swann_model_destroy(q);
        swann_model_destroy(m);
        return 0;
    }
    enum { ROWS = 256 };
    swann_model *model = NULL;
    swann_session *session = NULL;
    if (swann_model_load(argv[2], 0, &model) != SWANN_OK) return fail("model_load");
    size_t in = swann_model_input_size(model), out = swann_model_output_size(model);
    float *x = malloc(ROWS * in * sizeof *x), *y = malloc(ROWS * out * sizeof *y);
    if (!x || !y) return 1;
    for (size_t i = 0; i < ROWS * in; i++) x[i] = (float)((i * 37u) % 17u) / 16.0f;
    if (swann_session_create(model, ROWS, NULL, 0, &session) != SWANN_OK) return fail("session_create");
    if (swann_session_run(session, x, ROWS, y) != SWANN_OK) return fail("session_run");
    FILE *f = fopen(argv[3], "wb");
    if (!f || fwrite(y, sizeof *y, ROWS * out, f) != ROWS * out || fclose(f) != 0) return 1;
    swann_session_destroy(session);
    swann_model_destroy(model);
    free(x);
    free(y);
    return 0;
}
