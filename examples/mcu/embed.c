/* embed.c (runs on the build machine): writes the C header the firmware compiles in:
 * a float32 model file's bytes and the f16 and int8 models quantized from it here
 * (swann_model_quantize, swann_model_save_buffer), each 64-byte aligned for
 * swann_model_from_buffer in place; the digits demo's 359 held-out images
 * (train_digits.c's split: splitmix64, seed 2024, the last 20 % of one shuffle) and
 * how many of them each model classifies right here; and each model's logits copy (the
 * same weights, the output layer identity instead of softmax) with the FNV-1a hash of
 * its outputs here, which the firmware must reproduce bit for bit (docs/embedded.md,
 * "Results on the Cortex-M": the logits are the same bits on both machines, softmax's
 * expf is libm's, glibc's here and picolibc's there, and differs in the last bit).
 *   embed MODEL.safetensors digits.csv OUT.h */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swann.h"

static uint64_t state = 2024u;
static uint64_t next(void) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* FNV-1a over floats' bits, as the firmware hashes its outputs. */
static uint32_t fnv(uint32_t h, const float *v, size_t n) {
    const unsigned char *b = (const unsigned char *)v;
    for (size_t i = 0; i < n * sizeof(float); i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

/* Replaces the first `from` in text (cap bytes) by `to`; 0 when absent or too long. */
static int replace(char *text, size_t cap, const char *from, const char *to) {
    char *at = strstr(text, from);
    size_t n = strlen(text), a = strlen(from), b = strlen(to);
    if (!at || n - a + b + 1 > cap) return 0;
    memmove(at + b, at + a, n - (size_t)(at - text) - a + 1);
    memcpy(at, to, b);
    return 1;
}

/* The float32 model file's weights under the same spec with an identity output layer
 * (and the mse loss that allows it): a model whose outputs are the softmax model's logits. */
static swann_model *logits_model(const unsigned char *bytes, size_t size) {
    static char spec[1 << 16];
    swann_net *net = NULL, *copy = NULL;
    swann_model *out = NULL;
    float *from = NULL, *to = NULL;
    size_t n = 0, m = 0, need = 0;
    if (swann_load_buffer(bytes, size, 1, NULL, 0, &net) == SWANN_OK &&
        swann_spec_json(net, spec, sizeof spec, &need) == SWANN_OK &&
        replace(spec, sizeof spec, "\"activation\":\"softmax\"", "\"activation\":\"identity\"") &&
        replace(spec, sizeof spec, "\"loss\":\"cross_entropy\"", "\"loss\":\"mse\"") &&
        swann_create(spec, 1, NULL, 0, &copy) == SWANN_OK && swann_params(net, &from, &n) == SWANN_OK &&
        swann_params(copy, &to, &m) == SWANN_OK && n == m) {
        memcpy(to, from, n * sizeof(float));
        if (swann_model_from_net(copy, &out) != SWANN_OK) out = NULL;
    }
    swann_destroy(copy);
    swann_destroy(net);
    return out;
}

static size_t below(size_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, r;
    do r = next(); while (r >= limit);
    return (size_t)(r % n);
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: embed MODEL CSV OUT.h\n"); return 2; }
    static unsigned char pix[2000][64], label[2000];
    static size_t order[2000];
    FILE *f = fopen(argv[2], "r");
    size_t n = 0;
    if (!f) { perror(argv[2]); return 1; }
    for (int v, k = 0, c; n < 2000 && fscanf(f, "%d", &v) == 1; k++) {
        if (k < 64) pix[n][k] = (unsigned char)v; else { label[n++] = (unsigned char)v; k = -1; }
        if ((c = fgetc(f)) != ',' && c != '\n' && c != EOF) return 1;
    }
    fclose(f);
    for (size_t i = 0; i < n; i++) order[i] = i;
    for (size_t i = n; i > 1; i--) { size_t j = below(i), t = order[i - 1]; order[i - 1] = order[j]; order[j] = t; }
    size_t test = (size_t)((double)n * 0.2 + 0.5), first = n - test;

    f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    static unsigned char model[1 << 22];
    size_t size = fread(model, 1, sizeof model, f);
    fclose(f);
    /* the float32 model and its two compact copies, each as file bytes; v + 3: their
     * logits copies (quantized from the float32 logits model as the others are from it) */
    static const char *names[6] = {"", "_F16", "_INT8", "_LOGITS", "_F16_LOGITS", "_INT8_LOGITS"},
                      *dtypes[3] = {NULL, "f16", "int8"};
    static unsigned char copies[5][1 << 21];
    unsigned char *bytes[6] = {model, copies[0], copies[1], copies[2], copies[3], copies[4]};
    size_t sizes[6] = {size, 0, 0, 0, 0, 0}, right[6] = {0};
    uint32_t bits[6];
    const char *isa = "";
    swann_model *m = NULL, *l = NULL;
    if (swann_model_from_buffer(model, size, NULL, 0, &m) != SWANN_OK || !(l = logits_model(model, size))) {
        fprintf(stderr, "%s\n", swann_last_error()); return 1;
    }
    for (int v = 0; v < 6; v++) {
        swann_model *base = v < 3 ? m : l, *q = base;
        swann_session *s = NULL;
        if ((v % 3 > 0 && swann_model_quantize(base, dtypes[v % 3], &q) != SWANN_OK) ||
            (v > 0 && swann_model_save_buffer(q, bytes[v], sizeof copies[0], &sizes[v]) != SWANN_OK) ||
            swann_session_create(q, 1, NULL, 0, &s) != SWANN_OK) { fprintf(stderr, "%s\n", swann_last_error()); return 1; }
        bits[v] = 2166136261u;
        for (size_t i = first; i < n; i++) {
            float x[64], y[10];
            for (int k = 0; k < 64; k++) x[k] = (float)pix[order[i]][k] / 16.0f;
            if (swann_session_run(s, x, 1, y) != SWANN_OK) return 1;
            bits[v] = fnv(bits[v], y, 10);
            int best = 0;
            for (int k = 1; k < 10; k++) if (y[k] > y[best]) best = k;
            right[v] += best == label[order[i]];
        }
        isa = swann_session_isa(s);
        swann_session_destroy(s);
        if (q != base) swann_model_destroy(q);
    }
    FILE *o = fopen(argv[3], "w");
    if (!o) { perror(argv[3]); return 1; }
    fprintf(o, "/* Generated by examples/mcu/embed.c from %s: do not edit. */\n", argv[1]);
    fprintf(o, "#define TEST_IMAGES %zu\n", test);
    /* The baseline x86 level multiplies and adds without fusing (Kernels/SIMD.swift): its
     * bits are not the Cortex-M's vfma ones, so the firmware compares only FMA bits. */
    fprintf(o, "#define HOST_ISA \"%s\"\n#define HOST_HAS_FMA %d\n", isa, strcmp(isa, "baseline") != 0);
    for (int v = 0; v < 6; v++) {
        fprintf(o, "#define MODEL%s_SIZE %zu\n#define HOST%s_CORRECT %zu\n", names[v], sizes[v], names[v], right[v]);
        fprintf(o, "#define HOST%s_BITS 0x%08lxu\n", names[v], (unsigned long)bits[v]);
        fprintf(o, "static const unsigned char model%s_bytes[%zu] __attribute__((aligned(64))) = {", names[v], sizes[v]);
        for (size_t i = 0; i < sizes[v]; i++) fprintf(o, "%s%u,", i % 24 ? "" : "\n", bytes[v][i]);
        fprintf(o, "\n};\n");
    }
    fprintf(o, "static const unsigned char test_pixels[TEST_IMAGES][64] = {");
    for (size_t i = first; i < n; i++) {
        fprintf(o, "\n{");
        for (int k = 0; k < 64; k++) fprintf(o, "%u,", pix[order[i]][k]);
        fprintf(o, "},");
    }
    fprintf(o, "\n};\nstatic const unsigned char test_labels[TEST_IMAGES] = {");
    for (size_t i = first; i < n; i++) fprintf(o, "%u,", label[order[i]]);
    fprintf(o, "};\n");
    printf("embed: %zu held-out images; right on the build machine: float32 %zu (%zu-byte file), "
           "f16 %zu (%zu bytes), int8 %zu (%zu bytes)\n", test, right[0], sizes[0], right[1], sizes[1], right[2], sizes[2]);
    printf("embed: output bits on the build machine (%s): float32 %08lx, f16 %08lx, int8 %08lx; "
           "logits %08lx, %08lx, %08lx\n", isa, (unsigned long)bits[0], (unsigned long)bits[1], (unsigned long)bits[2],
           (unsigned long)bits[3], (unsigned long)bits[4], (unsigned long)bits[5]);
    swann_model_destroy(l);
    swann_model_destroy(m);
    return fclose(o) != 0;
}
