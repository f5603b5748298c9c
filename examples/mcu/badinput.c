/* Bad input without files or the heap: the contract's statuses for create, forward,
 * backward, step and the memory loaders (models, nets and sessions from bytes), every
 * one with a message naming the call. One source, two machines: run.sh builds it for
 * the host against its libswann.so (the statuses Linux gives) and as a second firmware
 * image for the Cortex-M, and both must pass, so the statuses are the same. Only the
 * caller's static memory is used. Exit status 0 when every check holds. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "swann.h"

static _Alignas(64) unsigned char arena[16384];
static _Alignas(64) unsigned char arena2[16384];
static _Alignas(64) unsigned char bytes[4096];
static _Alignas(64) unsigned char mem[8192];
static _Alignas(64) unsigned char sarena[4096];
static int failures, checks;

/* st is what the call returned; a failure must also leave a message that names the call
 * (or, for a spec's faults, starts with "spec:" and names the key). */
static void want(swann_status st, swann_status expected, const char *call, const char *what) {
    const char *m = swann_last_error();
    int named = strstr(m, call) != NULL || strncmp(m, "spec: ", 6) == 0;
    int ok = st == expected && (st == SWANN_OK || named);
    checks++;
    printf("%s %s: %s\n", ok ? "ok  " : "FAIL", call, what);
    if (!ok) {
        failures++;
        printf("     got %s (want %s): %s\n", swann_status_name(st), swann_status_name(expected), swann_last_error());
    }
}

#define LAYERS "\"layers\": [{\"units\": 3, \"activation\": \"tanh\"}, {\"units\": 2, \"activation\": \"softmax\"}]"
static const char *SPEC = "{\"input\": 2, " LAYERS ", \"loss\": \"cross_entropy\","
                          " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01}, \"seed\": 3}";

static void create_cases(void) {
    swann_net *net = NULL;
    size_t n = 0;
    want(swann_arena_size(NULL, 4, &n), SWANN_E_ARG, "arena_size", "NULL spec");
    want(swann_arena_size(SPEC, 4, NULL), SWANN_E_ARG, "arena_size", "NULL bytes");
    want(swann_arena_size(SPEC, 0, &n), SWANN_E_ARG, "arena_size", "max_batch 0");
    want(swann_create(SPEC, 4, arena, sizeof arena, NULL), SWANN_E_ARG, "create", "NULL out");
    want(swann_create(SPEC, 0, arena, sizeof arena, &net), SWANN_E_ARG, "create", "max_batch 0");
    want(swann_create("", 4, arena, sizeof arena, &net), SWANN_E_SPEC, "create", "empty spec");
    want(swann_create("{\"input\": 2, " LAYERS ", \"loss\": \"cross_entropy\", \"extra\": 1}", 4, arena, sizeof arena,
                      &net), SWANN_E_SPEC, "create", "unknown key");
    want(swann_create("{\"input\": 0, " LAYERS ", \"loss\": \"cross_entropy\"}", 4, arena, sizeof arena, &net),
         SWANN_E_SPEC, "create", "input 0");
    want(swann_create("{\"input\": 2, \"layers\": [], \"loss\": \"mse\"}", 4, arena, sizeof arena, &net),
         SWANN_E_SPEC, "create", "no layers");
    want(swann_create("{\"input\": 2, \"layers\": [{\"units\": 2, \"activation\": \"swish\"}], \"loss\": \"mse\"}", 4,
                      arena, sizeof arena, &net), SWANN_E_SPEC, "create", "unknown activation");
    want(swann_create("{\"input\": 2, \"layers\": [{\"units\": 2, \"activation\": \"tanh\"}], \"loss\": \"hinge\"}", 4,
                      arena, sizeof arena, &net), SWANN_E_SPEC, "create", "unknown loss");
    want(swann_create("{\"input\": 2, " LAYERS ", \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"adam\","
                      " \"lr\": -1}}", 4, arena, sizeof arena, &net), SWANN_E_SPEC, "create", "negative lr");
    want(swann_create("{\"input\": 2, " LAYERS ", \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"lion\"}}",
                      4, arena, sizeof arena, &net), SWANN_E_SPEC, "create", "unknown optimizer");
    want(swann_create("{\"input\": 2, " LAYERS ", \"loss\": \"cross_entropy\"", 4, arena, sizeof arena, &net),
         SWANN_E_SPEC, "create", "JSON cut short");
    want(swann_create(SPEC, 4, arena, 100, &net), SWANN_E_ARENA, "create", "arena too small");
    want(swann_create(SPEC, 4, arena + 8, sizeof arena - 64, &net), SWANN_E_ARENA, "create", "arena not 64-byte aligned");
}

static void training_cases(void) {
    swann_net *net = NULL;
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, t[8] = {1, 0, 0, 1, 0, 1, 1, 0}, y[8], loss = 0;
    want(swann_create(SPEC, 4, arena, sizeof arena, &net), SWANN_OK, "create", "a 2-3-2 net");
    if (!net) return;
    want(swann_forward(NULL, x, 4, y), SWANN_E_ARG, "forward", "NULL net");
    want(swann_forward(net, NULL, 4, y), SWANN_E_ARG, "forward", "NULL x");
    want(swann_forward(net, x, 0, y), SWANN_E_SHAPE, "forward", "batch 0");
    want(swann_forward(net, x, 5, y), SWANN_E_SHAPE, "forward", "batch above max_batch");
    x[3] = NAN;
    want(swann_forward(net, x, 4, y), SWANN_E_NUMERIC, "forward", "NaN in x");
    x[3] = 1;
    want(swann_backward(net, t, &loss, NULL), SWANN_E_STATE, "backward", "no forward before it");
    want(swann_step(net), SWANN_E_STATE, "step", "nothing accumulated");
    want(swann_step(NULL), SWANN_E_ARG, "step", "NULL net");
    want(swann_forward(net, x, 4, y), SWANN_OK, "forward", "a good batch");
    want(swann_backward(NULL, t, &loss, NULL), SWANN_E_ARG, "backward", "NULL net");
    want(swann_backward(net, NULL, &loss, NULL), SWANN_E_ARG, "backward", "NULL target");
    t[0] = -1;
    want(swann_backward(net, t, &loss, NULL), SWANN_E_ARG, "backward", "a target outside cross-entropy's domain");
    t[0] = 1;
    t[5] = INFINITY;
    want(swann_backward(net, t, &loss, NULL), SWANN_E_NUMERIC, "backward", "an infinite target (the loss is inf)");
    t[5] = 1;
    want(swann_backward(net, t, &loss, NULL), SWANN_OK, "backward", "good targets");
    want(swann_step_rows(net, 0), SWANN_E_ARG, "step_rows", "0 rows");
    want(swann_step(net), SWANN_OK, "step", "after backward");
    want(swann_set_lr(net, -0.5), SWANN_E_ARG, "set_lr", "negative");
    want(swann_set_lr(net, NAN), SWANN_E_ARG, "set_lr", "NaN");
    swann_destroy(net);
}

static void loader_cases(void) {
    swann_net *net = NULL, *loaded = NULL;
    swann_model *model = NULL;
    swann_session *session = NULL;
    size_t size = 0, n = 0;
    want(swann_create(SPEC, 4, arena, sizeof arena, &net), SWANN_OK, "create", "a net to save");
    if (!net) return;
    want(swann_save_buffer(net, bytes, 16, &size), SWANN_E_ARG, "save_buffer", "a buffer too small (size in needed)");
    want(swann_save_buffer(net, bytes, sizeof bytes, &size), SWANN_OK, "save_buffer", "into memory");
    swann_destroy(net);
    want(swann_load_buffer_size(NULL, size, 4, &n), SWANN_E_ARG, "load_buffer_size", "NULL bytes");
    want(swann_load_buffer_size(bytes, 7, 4, &n), SWANN_E_FORMAT, "load_buffer_size", "7 bytes");
    want(swann_load_buffer(bytes, size, 0, arena2, sizeof arena2, &loaded), SWANN_E_ARG, "load_buffer", "max_batch 0");
    want(swann_load_buffer(bytes, size - 1, 4, arena2, sizeof arena2, &loaded), SWANN_E_FORMAT, "load_buffer",
         "one byte short");
    want(swann_load_buffer(bytes, size, 4, arena2, 64, &loaded), SWANN_E_ARENA, "load_buffer", "arena too small");
    unsigned char keep = bytes[8];
    bytes[8] = '[';  /* the header's JSON starts with '{' */
    want(swann_load_buffer(bytes, size, 4, arena2, sizeof arena2, &loaded), SWANN_E_FORMAT, "load_buffer",
         "a header that is not a JSON object");
    want(swann_model_mem_size(bytes, size, &n), SWANN_E_FORMAT, "model_mem_size", "the same header");
    bytes[8] = keep;
    want(swann_load_buffer(bytes, size, 4, arena2, sizeof arena2, &loaded), SWANN_OK, "load_buffer", "the bytes whole");
    swann_destroy(loaded);
    want(swann_model_mem_size(bytes, size, NULL), SWANN_E_ARG, "model_mem_size", "NULL mem_bytes");
    want(swann_model_from_buffer(bytes, size, mem, 16, &model), SWANN_E_ARENA, "model_from_buffer", "mem too small");
    want(swann_model_from_buffer(bytes, size, mem, sizeof mem, NULL), SWANN_E_ARG, "model_from_buffer", "NULL out");
    want(swann_model_from_buffer(bytes, size, mem, sizeof mem, &model), SWANN_OK, "model_from_buffer", "in place");
    if (!model) return;
    want(swann_session_arena_size(model, 0, &n), SWANN_E_ARG, "session_arena_size", "max_batch 0");
    want(swann_session_create(model, 2, sarena, 32, &session), SWANN_E_ARENA, "session_create", "arena too small");
    want(swann_session_create(NULL, 2, sarena, sizeof sarena, &session), SWANN_E_ARG, "session_create", "NULL model");
    want(swann_session_create(model, 2, sarena, sizeof sarena, &session), SWANN_OK, "session_create", "batch 2");
    if (session) {
        float x[6] = {0, 1, 1, 0, 1, 1}, y[6];
        want(swann_session_run(session, x, 3, y), SWANN_E_SHAPE, "session_run", "batch above max_batch");
        want(swann_session_run(session, NULL, 1, y), SWANN_E_ARG, "session_run", "NULL x");
        want(swann_session_run(session, x, 1, NULL), SWANN_E_ARG, "session_run", "NULL y");
        x[1] = INFINITY;
        want(swann_session_run(session, x, 1, y), SWANN_E_NUMERIC, "session_run", "Inf in x");
        swann_session_destroy(session);
    }
    want(swann_model_destroy(model), SWANN_OK, "model_destroy", "with no session left");
}

int main(void) {
    create_cases();
    training_cases();
    loader_cases();
    printf("badinput: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
