/*
 * make_seeds.c -- writes the fuzzer's seed corpus: valid model files saved by
 * swann_save for a few small specs, one without optimizer tensors, and the
 * small net's compact models (f16, int8) saved by swann_model_save.
 * Usage: make_seeds DIR
 */
#include "check.h"
#include "ckpt_util.h"
#include "specs.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    check_init("make_seeds");
    char path[1024];
    int written = 0;
    for (int i = 0; i < NSPECS; i++) {
        swann_net *n = make_net(SPECS[i].json, 4);
        if (!n) continue;
        if (SPECS[i].trainable) train(n, 3, 0, 2, 4, 1, SPECS[i].kind);
        snprintf(path, sizeof path, "%s/seed-%d.safetensors", argv[1], i);
        if (swann_save(n, path) == SWANN_OK) written++;
        swann_destroy(n);
    }
    /* the small net without its optimizer tensors */
    snprintf(path, sizeof path, "%s/seed-0.safetensors", argv[1]);
    size_t len, hl, dl;
    unsigned char *f = read_file(path, &len);
    const char *h;
    const unsigned char *d;
    swann_net *n = make_net(SMALL_SPEC, 4);
    if (f && n && st_split(f, len, &h, &hl, &d, &dl) == 0) {
        tdesc t[16];
        int k = swann_tensors(SMALL_SIZES, SMALL_LAYERS, 1, d, t);
        for (int i = 0; i < k; i++) t[i].omit = !strncmp(t[i].name, "optimizer.", 10);
        char *spec = spec_of(n), *meta = st_meta(spec);
        unsigned char *data, *g;
        size_t data_len, glen;
        char *hdr = st_build(meta, t, k, NULL, NULL, &data, &data_len);
        g = st_file(hdr, 0, ' ', data, data_len, &glen);
        snprintf(path, sizeof path, "%s/seed-no-optimizer.safetensors", argv[1]);
        if (write_file(path, g, glen) == 0) written++;
        free(g), free(hdr), free(data), free(meta), free(spec);
    }
    /* compact models of the small net: f16 and int8 (F16 / I8 weights, weight_scale) */
    swann_model *m32 = NULL;
    if (n && swann_model_from_net(n, &m32) == SWANN_OK) {
        const char *dtypes[2] = {"f16", "int8"};
        for (int i = 0; i < 2; i++) {
            swann_model *q = NULL;
            snprintf(path, sizeof path, "%s/seed-%s.safetensors", argv[1], dtypes[i]);
            if (swann_model_quantize(m32, dtypes[i], &q) == SWANN_OK && swann_model_save(q, path) == SWANN_OK)
                written++;
            swann_model_destroy(q);
        }
        swann_model_destroy(m32);
    }
    swann_destroy(n);
    free(f);
    printf("# make_seeds: %d seed files in %s\n", written, argv[1]);
    return written >= NSPECS ? 0 : 1;
}
