/* swann on a Cortex-M4F with no operating system (QEMU's mps2-an386), output through
 * semihosting. Every byte the library uses is the firmware's own static memory:
 *  1. XOR trained from scratch in a static arena, the loss printed as it falls;
 *  2. the digits model compiled into flash (swann_model_from_buffer in place, no copy),
 *     one session in a static arena, over the 359 held-out images: the accuracy must be
 *     the build machine's to within one image; the same for its f16 and int8 copies
 *     (quantized on the build machine, examples/mcu/embed.c); each one's logits (a copy
 *     with an identity output layer) must be the build machine's bits;
 *  3. bad input gets the statuses it gets on Linux; file and heap calls are refused.
 * Exit status 0 when all of that holds (the Makefile checks it). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "swann.h"
#include "digits_data.h"
#include "counter.h"
#include "stack.h"

static _Alignas(64) unsigned char xor_arena[16384];
static _Alignas(64) unsigned char model_mem[16384];
static _Alignas(64) unsigned char session_arena[16384];
static int failures;

static void expect(int ok, const char *what) {
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) { failures++; printf("     last error: %s\n", swann_last_error()); }
}

/* FNV-1a over floats' bits: one number that changes when any output bit does. */
static uint32_t fnv(uint32_t h, const float *v, size_t n) {
    const unsigned char *b = (const unsigned char *)v;
    for (size_t i = 0; i < n * sizeof(float); i++) h = (h ^ b[i]) * 16777619u;
    return h;
}
static uint32_t xor_bits, digits_bits;

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
    double counted = 0;
    for (int i = 0; i <= 3000; i++) {
        uint32_t t0 = ticks();
        if (swann_forward(net, x, 4, NULL) != SWANN_OK || swann_backward(net, d, &loss, NULL) != SWANN_OK ||
            swann_step(net) != SWANN_OK) { expect(0, "XOR: a training step"); return 1; }
        counted += instructions(t0, ticks());
        if (i % 500 == 0) printf("     step %4d  loss %.6f\n", i, (double)loss);
    }
    printf("# instructions: XOR 2-8-1 SGD momentum training step (batch 4): %.0f\n", counted / 3001);
    float *params = NULL;
    size_t count = 0;
    if (swann_params(net, &params, &count) == SWANN_OK) xor_bits = fnv(2166136261u, params, count);
    expect(swann_forward(net, x, 4, y) == SWANN_OK && y[0] < 0.5f && y[1] > 0.5f && y[2] > 0.5f && y[3] < 0.5f,
           "XOR learnt: 0 1 1 0");
    printf("     outputs %.3f %.3f %.3f %.3f\n", (double)y[0], (double)y[1], (double)y[2], (double)y[3]);
    swann_destroy(net);
    return 0;
}

/* The FNV-1a hash of a model's outputs for the held-out images, run from flash with
 * model_mem and session_arena; 0 if a call failed. */
static uint32_t outputs_hash(const unsigned char *bytes, size_t bytes_size) {
    swann_model *model = NULL;
    swann_session *session = NULL;
    uint32_t h = 2166136261u;
    if (swann_model_from_buffer(bytes, bytes_size, model_mem, sizeof model_mem, &model) != SWANN_OK ||
        swann_session_create(model, 1, session_arena, sizeof session_arena, &session) != SWANN_OK) return 0;
    for (int i = 0; i < TEST_IMAGES; i++) {
        float x[64], y[10];
        for (int k = 0; k < 64; k++) x[k] = (float)test_pixels[i][k] / 16.0f;
        if (swann_session_run(session, x, 1, y) != SWANN_OK) { h = 0; break; }
        h = fnv(h, y, 10);
    }
    swann_session_destroy(session);
    swann_model_destroy(model);
    return h;
}

/* One digits model from flash: name "float32", "f16" or "int8", its file bytes and
 * how many held-out images the build machine gets right with it; its logits copy
 * (the output layer identity) and the hash of the logits the build machine computed. */
static int digits(const char *name, const unsigned char *bytes, size_t bytes_size, size_t host_correct,
                  uint32_t host_bits, const unsigned char *logits, size_t logits_size, uint32_t host_logits) {
    size_t mem = 0, arena = 0, right = 0;
    swann_model *model = NULL;
    swann_session *session = NULL;
    expect(swann_model_mem_size(bytes, bytes_size, &mem) == SWANN_OK && mem <= sizeof model_mem,
           "digits: model_mem_size fits");
    if (swann_model_from_buffer(bytes, bytes_size, model_mem, sizeof model_mem, &model) != SWANN_OK) {
        expect(0, "digits: model_from_buffer in place"); return 1;
    }
    expect(swann_session_arena_size(model, 1, &arena) == SWANN_OK && arena <= sizeof session_arena,
           "digits: session_arena_size fits");
    if (swann_session_create(model, 1, session_arena, sizeof session_arena, &session) != SWANN_OK) {
        expect(0, "digits: session_create"); return 1;
    }
    printf("     %s model %zu bytes in flash, model mem %zu bytes, session arena %zu bytes\n", name, bytes_size, mem, arena);
    double counted = 0;
    uint32_t h = 2166136261u;
    for (int i = 0; i < TEST_IMAGES; i++) {
        float x[64], y[10];
        for (int k = 0; k < 64; k++) x[k] = (float)test_pixels[i][k] / 16.0f;
        uint32_t t0 = ticks();
        if (swann_session_run(session, x, 1, y) != SWANN_OK) { expect(0, "digits: session_run"); return 1; }
        counted += instructions(t0, ticks());
        h = fnv(h, y, 10);
        int best = 0;
        for (int k = 1; k < 10; k++) if (y[k] > y[best]) best = k;
        right += best == test_labels[i];
    }
    printf("     digits %s held-out accuracy: %zu/%d = %.4f (build machine: %zu/%d)\n", name, right, TEST_IMAGES,
           (double)right / TEST_IMAGES, host_correct, TEST_IMAGES);
    printf("# accuracy: digits %s %zu/%d held out (build machine %zu)\n", name, right, TEST_IMAGES, host_correct);
    char what[96];
    snprintf(what, sizeof what, "digits %s: the build machine's accuracy within one image", name);
    expect(right + 1 >= host_correct && right <= host_correct + 1, what);
    printf("# instructions: digits 64-128-64-10 %s inference (one image, session_run): %.0f\n", name,
           counted / TEST_IMAGES);
    printf("# flash: digits %s model file %zu bytes\n", name, bytes_size);
    printf("# bits: digits %s outputs %08lx (build machine, %s: %08lx; softmax's expf is picolibc's here)\n", name,
           (unsigned long)h, HOST_ISA, (unsigned long)host_bits);
    if (digits_bits == 0) digits_bits = h;
    swann_session_destroy(session);
    swann_model_destroy(model);
    /* Everything before softmax is the same IEEE arithmetic in the same order on both
     * machines (fused multiply-adds in p order, relu): the logits must be the same bits. */
    uint32_t lh = outputs_hash(logits, logits_size);
    printf("# bits: digits %s logits %08lx (build machine %08lx)\n", name, (unsigned long)lh, (unsigned long)host_logits);
    if (HOST_HAS_FMA) {
        snprintf(what, sizeof what, "digits %s logits: the build machine's bits (%08lx)", name, (unsigned long)host_logits);
        expect(lh == host_logits, what);
    } else {
        printf("     skip: the build machine's level is baseline (no FMA), its logits are not the fused bits\n");
    }
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

/* FPSCR: swann computes with FZ (subnormals flushed) unless the net says otherwise, and
 * gives the caller's FPSCR back, its rounding mode and flags included. */
static uint32_t get_fpscr(void) { uint32_t v; __asm volatile("vmrs %0, fpscr" : "=r"(v)); return v; }
static void set_fpscr(uint32_t v) { __asm volatile("vmsr fpscr, %0" : : "r"(v)); }
static _Alignas(64) unsigned char fp_arena[4096];
static void fp_mode(void) {
    swann_net *net = NULL;
    if (swann_create("{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"identity\"}],"
                     " \"loss\": \"mse\", \"init\": \"zeros\"}", 1, fp_arena, sizeof fp_arena, &net) != SWANN_OK) {
        expect(0, "FPSCR: create 1-1"); return;
    }
    float *p = NULL, x = 3e-20f, y = -1;
    size_t n = 0;
    swann_params(net, &p, &n);
    p[0] = 5e-21f;  /* x * w = 1.5e-40: subnormal */
    const uint32_t host = (3u << 22) | 0x11u;  /* round toward zero, invalid and inexact flags set */
    set_fpscr(host);
    swann_status st = swann_forward(net, &x, 1, &y);
    uint32_t after = get_fpscr();
    set_fpscr(0);
    expect(st == SWANN_OK && after == host, "FPSCR: the caller's rounding mode and flags come back after forward");
    expect(y == 0.0f, "FPSCR.FZ: a subnormal product is 0 with flushing on (the default)");
    swann_set_flush_subnormals(net, 0);
    set_fpscr(host);
    st = swann_forward(net, &x, 1, &y);
    after = get_fpscr();
    set_fpscr(0);
    expect(st == SWANN_OK && after == host && y != 0.0f && y < 1.2e-38f,
           "FPSCR: flushing off gives the IEEE subnormal product, and the caller's FPSCR back");
    swann_destroy(net);
}

/* AIfES's XOR benchmark: 2-3-1 sigmoid/MSE, Adam, the four rows as one batch, one
 * step an epoch. */
static void xor_adam(void) {
    const char *spec = "{\"input\": 2, \"layers\": [{\"units\": 3, \"activation\": \"sigmoid\"},"
                       " {\"units\": 1, \"activation\": \"sigmoid\"}], \"loss\": \"mse\","
                       " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.1, \"eps\": 1e-7}, \"seed\": 1}";
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, d[4] = {0, 1, 1, 0}, y[4], loss = 0, first = 0;
    size_t need = 0;
    swann_net *net = NULL;
    if (swann_arena_size(spec, 4, &need) != SWANN_OK || swann_create(spec, 4, xor_arena, sizeof xor_arena, &net) != SWANN_OK) {
        expect(0, "XOR 2-3-1 Adam: create"); return;
    }
    double counted = 0;
    int epochs = 1000;
    for (int e = 0; e < epochs; e++) {
        uint32_t t0 = ticks();
        if (swann_forward(net, x, 4, NULL) != SWANN_OK || swann_backward(net, d, &loss, NULL) != SWANN_OK ||
            swann_step(net) != SWANN_OK) { expect(0, "XOR 2-3-1 Adam: an epoch"); return; }
        counted += instructions(t0, ticks());
        if (e == 0) first = loss;
    }
    expect(swann_forward(net, x, 4, y) == SWANN_OK && loss < first, "XOR 2-3-1 sigmoid/MSE Adam: the loss falls");
    printf("     loss %.4f -> %.6f over %d epochs, outputs %.3f %.3f %.3f %.3f, arena %zu bytes\n", (double)first,
           (double)loss, epochs, (double)y[0], (double)y[1], (double)y[2], (double)y[3], need);
    printf("# instructions: XOR 2-3-1 sigmoid/MSE Adam epoch (batch 4: forward, backward, step): %.0f\n", counted / epochs);
    printf("# memory: XOR 2-3-1 Adam training arena %zu bytes\n", need);
    swann_destroy(net);
}

/* AIfES's inference benchmark: 64-32-10 relu/softmax, one row. The net is made here
 * (seeded weights), written with swann_save_buffer and read back as a model. */
static _Alignas(64) unsigned char small_model[16384];
static _Alignas(64) unsigned char net_arena[32768];
static void infer_64_32_10(void) {
    const char *spec = "{\"input\": 64, \"layers\": [{\"units\": 32, \"activation\": \"relu\"},"
                       " {\"units\": 10, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\", \"seed\": 7}";
    swann_net *net = NULL;
    swann_model *model = NULL;
    swann_session *session = NULL;
    size_t size = 0, mem = 0, arena = 0;
    if (swann_create(spec, 1, net_arena, sizeof net_arena, &net) != SWANN_OK ||
        swann_save_buffer(net, small_model, sizeof small_model, &size) != SWANN_OK) {
        expect(0, "64-32-10: create and save_buffer"); return;
    }
    swann_destroy(net);
    if (swann_model_mem_size(small_model, size, &mem) != SWANN_OK || mem > sizeof model_mem ||
        swann_model_from_buffer(small_model, size, model_mem, sizeof model_mem, &model) != SWANN_OK ||
        swann_session_arena_size(model, 1, &arena) != SWANN_OK || arena > sizeof session_arena ||
        swann_session_create(model, 1, session_arena, sizeof session_arena, &session) != SWANN_OK) {
        expect(0, "64-32-10: model and session"); return;
    }
    double counted = 0;
    int runs = 100, sane = 1;
    for (int r = 0; r < runs; r++) {
        float x[64], y[10], sum = 0;
        for (int k = 0; k < 64; k++) x[k] = (float)((k * 7 + r * 3) % 17) / 16.0f;
        uint32_t t0 = ticks();
        if (swann_session_run(session, x, 1, y) != SWANN_OK) { expect(0, "64-32-10: session_run"); return; }
        counted += instructions(t0, ticks());
        for (int k = 0; k < 10; k++) sum += y[k];
        sane &= sum > 0.999f && sum < 1.001f;
    }
    expect(sane, "64-32-10 relu/softmax: every output sums to 1");
    printf("# instructions: 64-32-10 relu/softmax inference (one row, session_run): %.0f\n", counted / runs);
    printf("# memory: 64-32-10 model %zu bytes, model mem %zu bytes, session arena %zu bytes\n", size, mem, arena);
    swann_session_destroy(session);
    swann_model_destroy(model);
}

int main(void) {
    counter_start();
    printf("swann %s on a Cortex-M4F (mps2-an386), no operating system\n", swann_version());
    printf("     timer: %.2f instructions a tick (-icount shift=0; calibrated on a 2,000,000-instruction loop)\n",
           instructions_per_tick);
    stack_paint();
    train_xor();
    printf("# stack: XOR training %zu bytes\n", stack_used());
    stack_paint();
    xor_adam();
    printf("# stack: XOR 2-3-1 Adam %zu bytes\n", stack_used());
    stack_paint();
    digits("float32", model_bytes, MODEL_SIZE, HOST_CORRECT, HOST_BITS, model_LOGITS_bytes, MODEL_LOGITS_SIZE,
           HOST_LOGITS_BITS);
    printf("# stack: digits inference %zu bytes\n", stack_used());
    stack_paint();
    digits("f16", model_F16_bytes, MODEL_F16_SIZE, HOST_F16_CORRECT, HOST_F16_BITS, model_F16_LOGITS_bytes,
           MODEL_F16_LOGITS_SIZE, HOST_F16_LOGITS_BITS);
    printf("# stack: digits f16 inference %zu bytes\n", stack_used());
    stack_paint();
    digits("int8", model_INT8_bytes, MODEL_INT8_SIZE, HOST_INT8_CORRECT, HOST_INT8_BITS, model_INT8_LOGITS_bytes,
           MODEL_INT8_LOGITS_SIZE, HOST_INT8_LOGITS_BITS);
    printf("# stack: digits int8 inference %zu bytes\n", stack_used());
    stack_paint();
    infer_64_32_10();
    printf("# stack: 64-32-10 inference %zu bytes\n", stack_used());
    fp_mode();
    stack_paint();
    bad_input();
    printf("# stack: bad-input checks %zu bytes\n", stack_used());
    printf("# bits: XOR parameters %08lx, digits outputs %08lx\n", (unsigned long)xor_bits, (unsigned long)digits_bits);
    printf("# memory: static arenas %zu bytes\n", sizeof xor_arena + sizeof model_mem + sizeof session_arena + sizeof net_arena + sizeof small_model);
    printf("mcu: %d failed\n", failures);
    return failures ? 1 : 0;
}
