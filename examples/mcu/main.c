/* swann on a Cortex-M4F with no operating system (QEMU's mps2-an386), output through
 * semihosting. Every byte the library uses is the firmware's own static memory:
 *  1. XOR trained from scratch in a static arena, the loss printed as it falls;
 *  2. the digits model compiled into flash (swann_model_from_buffer in place, no copy),
 *     one session in a static arena, over the 359 held-out images: the accuracy must be
 *     the build machine's to within one image;
 *  3. bad input gets the statuses it gets on Linux; file and heap calls are refused.
 * Exit status 0 when all of that holds (the Makefile checks it). */
#include <stdio.h>
#include <string.h>
#include "swann.h"
#include "digits_data.h"

static _Alignas(64) unsigned char xor_arena[16384];
static _Alignas(64) unsigned char model_mem[16384];
static _Alignas(64) unsigned char session_arena[16384];
static int failures;

static void expect(int ok, const char *what) {
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) { failures++; printf("     last error: %s\n", swann_last_error()); }
}

/* Stack high-water mark: the stack below main's frame is painted, then scanned. */
#define STACK_PAINT 32768
static unsigned char *paint_low;
static void paint_stack(void) {
    unsigned char *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    paint_low = sp - 64 - STACK_PAINT;
    for (size_t i = 0; i < STACK_PAINT; i++) paint_low[i] = 0xA5;
}
static size_t stack_used(void) {
    size_t i = 0;
    while (i < STACK_PAINT && paint_low[i] == 0xA5) i++;
    return STACK_PAINT - i;
}

static int train_xor(void) {
    const char *spec = "{\"input\": 2, \"layers\": [{\"units\": 8, \"activation\": \"tanh\"},"
                       " {\"units\": 1, \"activation\": \"sigmoid\"}], \"loss\": \"mse\","
                       " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.5, \"momentum\": 0.9}, \"seed\": 1, \"threads\": 2}";
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, d[4] = {0, 1, 1, 0}, y[4], loss = 0;
    size_t need = 0;
    swann_net *net = NULL;
    expect(swann_arena_size(spec, 4, &need) == SWANN_OK && need <= sizeof xor_arena, "XOR: arena_size fits the static arena");
    printf("     XOR arena: %zu bytes (\"threads\": 2 counts as 1)\n", need);
    if (swann_create(spec, 4, xor_arena, sizeof xor_arena, &net) != SWANN_OK) { expect(0, "XOR: create"); return 1; }
    for (int i = 0; i <= 3000; i++) {
        if (swann_forward(net, x, 4, NULL) != SWANN_OK || swann_backward(net, d, &loss, NULL) != SWANN_OK ||
            swann_step(net) != SWANN_OK) { expect(0, "XOR: a training step"); return 1; }
        if (i % 500 == 0) printf("     step %4d  loss %.6f\n", i, (double)loss);
    }
    expect(swann_forward(net, x, 4, y) == SWANN_OK && y[0] < 0.5f && y[1] > 0.5f && y[2] > 0.5f && y[3] < 0.5f,
           "XOR learnt: 0 1 1 0");
    printf("     outputs %.3f %.3f %.3f %.3f\n", (double)y[0], (double)y[1], (double)y[2], (double)y[3]);
    swann_destroy(net);
    return 0;
}

static int digits(void) {
    size_t mem = 0, arena = 0, right = 0;
    swann_model *model = NULL;
    swann_session *session = NULL;
    expect(swann_model_mem_size(model_bytes, MODEL_SIZE, &mem) == SWANN_OK && mem <= sizeof model_mem,
           "digits: model_mem_size fits");
    if (swann_model_from_buffer(model_bytes, MODEL_SIZE, model_mem, sizeof model_mem, &model) != SWANN_OK) {
        expect(0, "digits: model_from_buffer in place"); return 1;
    }
    expect(swann_session_arena_size(model, 1, &arena) == SWANN_OK && arena <= sizeof session_arena,
           "digits: session_arena_size fits");
    if (swann_session_create(model, 1, session_arena, sizeof session_arena, &session) != SWANN_OK) {
        expect(0, "digits: session_create"); return 1;
    }
    printf("     model %d bytes in flash, model mem %zu bytes, session arena %zu bytes\n", MODEL_SIZE, mem, arena);
    for (int i = 0; i < TEST_IMAGES; i++) {
        float x[64], y[10];
        for (int k = 0; k < 64; k++) x[k] = (float)test_pixels[i][k] / 16.0f;
        if (swann_session_run(session, x, 1, y) != SWANN_OK) { expect(0, "digits: session_run"); return 1; }
        int best = 0;
        for (int k = 1; k < 10; k++) if (y[k] > y[best]) best = k;
        right += best == test_labels[i];
    }
    printf("     digits held-out accuracy: %zu/%d = %.4f (build machine: %d/%d)\n", right, TEST_IMAGES,
           (double)right / TEST_IMAGES, HOST_CORRECT, TEST_IMAGES);
    expect(right + 1 >= HOST_CORRECT && right <= HOST_CORRECT + 1, "digits: the build machine's accuracy within one image");
    swann_session_destroy(session);
    swann_model_destroy(model);
    return 0;
}

/* The statuses of Linux for bad input; the calls that need files or the heap refused. */
static void bad_input(void) {
    const char *spec = "{\"input\": 2, \"layers\": [{\"units\": 1, \"activation\": \"sigmoid\"}], \"loss\": \"mse\"}";
    swann_net *net = NULL;
    swann_model *model = NULL;
    float x[2] = {0, 1}, y[1];
    size_t n = 0;
    expect(swann_create(spec, 1, NULL, 0, &net) == SWANN_E_ARG && strstr(swann_last_error(), "armv7em-none-eabi"),
           "create with no arena: SWANN_E_ARG naming the target");
    expect(swann_create(NULL, 1, xor_arena, sizeof xor_arena, &net) == SWANN_E_ARG, "create(NULL spec): SWANN_E_ARG");
    expect(swann_create("{\"input\": 2,", 1, xor_arena, sizeof xor_arena, &net) == SWANN_E_SPEC, "create(bad JSON): SWANN_E_SPEC");
    expect(swann_create(spec, 1, xor_arena, 64, &net) == SWANN_E_ARENA, "create(arena too small): SWANN_E_ARENA");
    expect(swann_create(spec, 1, xor_arena + 4, sizeof xor_arena - 64, &net) == SWANN_E_ARENA, "create(misaligned arena): SWANN_E_ARENA");
    expect(swann_load_size("model.safetensors", 1, &n) == SWANN_E_ARG && strstr(swann_last_error(), "no file system"),
           "load_size(path): SWANN_E_ARG, no file system");
    expect(swann_model_load("model.safetensors", 0, &model) == SWANN_E_ARG, "model_load(path): SWANN_E_ARG");
    expect(swann_model_from_buffer(model_bytes, MODEL_SIZE, NULL, 0, &model) == SWANN_E_ARG, "model_from_buffer(mem NULL): SWANN_E_ARG");
    expect(swann_model_from_buffer(model_bytes, 100, model_mem, sizeof model_mem, &model) == SWANN_E_FORMAT,
           "model_from_buffer(truncated): SWANN_E_FORMAT");
    expect(swann_load_buffer(model_bytes, 100, 1, xor_arena, sizeof xor_arena, &net) == SWANN_E_FORMAT,
           "load_buffer(truncated): SWANN_E_FORMAT");
    if (swann_create(spec, 1, xor_arena, sizeof xor_arena, &net) != SWANN_OK) { expect(0, "create"); return; }
    expect(swann_save(net, "model.safetensors") == SWANN_E_ARG, "save(path): SWANN_E_ARG");
    expect(swann_model_from_net(net, &model) == SWANN_E_ARG, "model_from_net: SWANN_E_ARG (no heap)");
    expect(swann_forward(net, x, 2, y) == SWANN_E_SHAPE, "forward(batch above max): SWANN_E_SHAPE");
    expect(swann_forward(net, NULL, 1, y) == SWANN_E_ARG, "forward(NULL x): SWANN_E_ARG");
    expect(swann_backward(net, y, NULL, NULL) == SWANN_E_STATE, "backward before forward: SWANN_E_STATE");
    expect(swann_step(net) == SWANN_E_STATE, "step with nothing accumulated: SWANN_E_STATE");
    x[0] = 1.0f / 0.0f;
    expect(swann_forward(net, x, 1, y) == SWANN_E_NUMERIC, "forward(inf): SWANN_E_NUMERIC");
    swann_destroy(net);
}

int main(void) {
    paint_stack();
    printf("swann %s on a Cortex-M4F (mps2-an386), no operating system\n", swann_version());
    train_xor();
    digits();
    bad_input();
    printf("stack high-water mark: %zu bytes; static memory: arenas %zu bytes\n", stack_used(),
           sizeof xor_arena + sizeof model_mem + sizeof session_arena);
    printf("mcu: %d failed\n", failures);
    return failures ? 1 : 0;
}
