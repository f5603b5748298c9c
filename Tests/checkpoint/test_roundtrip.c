/*
 * test_roundtrip.c -- swann_save / swann_load / swann_load_size on valid files:
 * bit-exact round trips, resuming training, host arenas, max_batch, argument
 * and I/O errors, and the exact bytes swann writes.
 *
 * Contract: include/swann.h and README.md ("Model files"); the design behind
 * them is c-api.md ("Model files: safetensors", "Details that hosts rely on"),
 * kept outside this repository, in ../shared/design.
 */
#include "check.h"
#include "ckpt_util.h"
#include "specs.h"

#include <limits.h>

#define MB 8

static const char *DIR_;

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", DIR_, name);
}

static void check_err_msg(const char *after)
{
    const char *e = swann_last_error();
    char w[256];
    snprintf(w, sizeof w, "last_error is a non-empty line after %s", after);
    CHECKF(e && e[0] && !strchr(e, '\n'), w, "\"%s\"", e ? e : "(NULL)");
}

/* A spec of 256 layers (the maximum) of one unit each. */
static char *deep_spec(void)
{
    sbuf b = {0};
    sb_printf(&b, "{\"input\":2,\"layers\":[");
    for (int i = 0; i < 256; i++)
        sb_printf(&b, "%s{\"units\":1,\"activation\":\"%s\"}", i ? "," : "", i % 2 ? "tanh" : "identity");
    sb_printf(&b, "],\"loss\":\"mse\",\"optimizer\":{\"type\":\"sgd\",\"lr\":0.01,\"momentum\":0.9},\"seed\":8}");
    return b.s;
}

/* Save -> load: identical sizes, parameters, spec and outputs; saving the loaded
 * net writes the same bytes. */
static void roundtrip_one(const char *name, const char *spec, enum target_kind kind, int trainable)
{
    char what[256], path[600], path2[600];
    snprintf(path, sizeof path, "%s/rt-%s.safetensors", DIR_, name);
    snprintf(path2, sizeof path2, "%s/rt-%s-again.safetensors", DIR_, name);
    swann_net *a = make_net(spec, MB);
    if (!a) return;
    if (trainable) {
        swann_status st = train(a, 17, 0, 3, MB, 1, kind);
        snprintf(what, sizeof what, "%s: training before save", name);
        CHECK_ST(st, SWANN_OK, what);
    }
    snprintf(what, sizeof what, "%s: save", name);
    CHECK_ST(swann_save(a, path), SWANN_OK, what);
    swann_net *b = NULL;
    snprintf(what, sizeof what, "%s: load", name);
    CHECK_ST(swann_load(path, MB, NULL, 0, &b), SWANN_OK, what);
    if (!b) { swann_destroy(a); return; }

    snprintf(what, sizeof what, "%s: sizes equal after load", name);
    CHECK(swann_input_size(a) == swann_input_size(b) && swann_output_size(a) == swann_output_size(b) &&
              swann_param_count(a) == swann_param_count(b) && swann_max_batch(b) == MB,
          what);
    snprintf(what, sizeof what, "%s: parameters bit-identical", name);
    CHECK(same_params(a, b), what);
    char *sa = spec_of(a), *sb = spec_of(b);
    snprintf(what, sizeof what, "%s: spec_json identical", name);
    CHECKF(sa && sb && strcmp(sa, sb) == 0, what, "%s vs %s", sa ? sa : "-", sb ? sb : "-");

    size_t in = swann_input_size(a), out = swann_output_size(a);
    float *x = malloc(MB * in * sizeof *x), *t = malloc(MB * out * sizeof *t);
    float *ya = malloc(MB * out * sizeof *ya), *yb = malloc(MB * out * sizeof *yb);
    make_batch(5, 1000, MB, in, out, kind, x, t);
    swann_status s1 = swann_forward(a, x, MB, ya), s2 = swann_forward(b, x, MB, yb);
    snprintf(what, sizeof what, "%s: forward outputs bit-identical", name);
    CHECKF(s1 == SWANN_OK && s2 == SWANN_OK && memcmp(ya, yb, MB * out * sizeof *ya) == 0, what, "%s %s",
           st_name(s1), st_name(s2));

    snprintf(what, sizeof what, "%s: saving the loaded net writes the same bytes", name);
    size_t l1 = 0, l2 = 0;
    swann_status s3 = swann_save(b, path2);
    unsigned char *f1 = read_file(path, &l1), *f2 = read_file(path2, &l2);
    CHECKF(s3 == SWANN_OK && f1 && f2 && l1 == l2 && memcmp(f1, f2, l1) == 0, what, "%s, %zu vs %zu bytes",
           st_name(s3), l1, l2);

    size_t need_load = 0, need_spec = 0;
    for (size_t mb = 1; mb <= 256; mb *= 16) {
        swann_status s4 = swann_load_size(path, mb, &need_load);
        swann_status s5 = swann_arena_size(sa, mb, &need_spec);
        /* load_size adds the header's reading scratch (in the arena, so load allocates nothing) */
        snprintf(what, sizeof what, "%s: load_size(max_batch %zu) >= arena_size of the spec", name, mb);
        CHECKF(s4 == SWANN_OK && s5 == SWANN_OK && need_load >= need_spec && need_spec > 0, what,
               "%s %s %zu vs %zu", st_name(s4), st_name(s5), need_load, need_spec);
    }
    free(f1);
    free(f2);
    free(x);
    free(t);
    free(ya);
    free(yb);
    free(sa);
    free(sb);
    swann_destroy(a);
    swann_destroy(b);
}

static void group_roundtrip(void)
{
    for (int i = 0; i < NSPECS; i++) roundtrip_one(SPECS[i].name, SPECS[i].json, SPECS[i].kind, SPECS[i].trainable);
    char *deep = deep_spec();
    roundtrip_one("deep-256-layers", deep, T_REAL, 1);
    free(deep);
}

/* Save at a step boundary, train on: a loaded copy trained the same way ends
 * bit-identical to the uninterrupted net. Grads and T are not saved. */
static void group_resume(void)
{
    char what[300], path[600];
    for (int i = 0; i < NSPECS; i++) {
        const test_spec *sp = &SPECS[i];
        if (!sp->trainable) continue;
        for (int k1 = 0; k1 <= 3; k1 += 3) {
            for (int pairs = 1; pairs <= 2; pairs++) {
                snprintf(path, sizeof path, "%s/resume-%d-%d-%d.safetensors", DIR_, i, k1, pairs);
                swann_net *a = make_net(sp->json, MB);
                if (!a) continue;
                swann_status st = train(a, 3, 0, k1, MB, pairs, sp->kind);
                swann_status sv = swann_save(a, path);
                swann_status st2 = train(a, 3, k1, 5, MB, pairs, sp->kind);
                snprintf(what, sizeof what, "%s k1=%d pairs=%d: train, save, train on", sp->name, k1, pairs);
                CHECKF(st == SWANN_OK && sv == SWANN_OK && st2 == SWANN_OK, what, "%s %s %s: %s", st_name(st),
                       st_name(sv), st_name(st2), last_err());

                /* library arena, same max_batch */
                swann_net *b = load_net(path, MB);
                if (b) {
                    float *g = NULL;
                    size_t n = 0, nonzero = 0;
                    swann_grads(b, &g, &n);
                    for (size_t j = 0; j < n; j++) nonzero += g[j] != 0.0f;
                    snprintf(what, sizeof what, "%s k1=%d: a loaded net starts with zero gradients", sp->name, k1);
                    CHECKF(n == swann_param_count(b) && nonzero == 0, what, "%zu non-zero", nonzero);
                    snprintf(what, sizeof what, "%s k1=%d: step right after load is SWANN_E_STATE (T = 0)",
                             sp->name, k1);
                    CHECK_ST(swann_step(b), SWANN_E_STATE, what);
                    float *t = calloc(MB * swann_output_size(b), sizeof *t);
                    snprintf(what, sizeof what, "%s k1=%d: backward right after load is SWANN_E_STATE", sp->name,
                             k1);
                    CHECK_ST(swann_backward(b, t, NULL, NULL), SWANN_E_STATE, what);
                    free(t);
                    st = train(b, 3, k1, 5, MB, pairs, sp->kind);
                    snprintf(what, sizeof what, "%s k1=%d pairs=%d: resumed training == uninterrupted, bit for bit",
                             sp->name, k1, pairs);
                    CHECKF(st == SWANN_OK && same_params(a, b), what, "%s", st_name(st));
                    swann_destroy(b);
                }
                /* host arena */
                size_t need = 0;
                swann_load_size(path, MB, &need);
                void *arena = aligned_alloc(64, (need + 63) / 64 * 64);
                swann_net *c = NULL;
                st = swann_load(path, MB, arena, need, &c);
                if (st == SWANN_OK) st = train(c, 3, k1, 5, MB, pairs, sp->kind);
                snprintf(what, sizeof what, "%s k1=%d pairs=%d: resumed in a host arena == uninterrupted",
                         sp->name, k1, pairs);
                CHECKF(st == SWANN_OK && c && same_params(a, c), what, "%s: %s", st_name(st), last_err());
                swann_destroy(c);
                free(arena);
                /* another max_batch */
                swann_net *d = load_net(path, 4 * MB + 3);
                if (d) {
                    st = train(d, 3, k1, 5, MB, pairs, sp->kind);
                    snprintf(what, sizeof what, "%s k1=%d pairs=%d: resumed with max_batch %d == uninterrupted",
                             sp->name, k1, pairs, 4 * MB + 3);
                    CHECKF(st == SWANN_OK && same_params(a, d), what, "%s", st_name(st));
                    swann_destroy(d);
                }
                swann_destroy(a);
            }
        }
    }
}

/* A file without optimizer tensors loads with a fresh optimizer: it trains
 * exactly like a new net given the same parameters. */
static void group_fresh_optimizer(void)
{
    char what[300], path[600], stripped[600];
    path_in(path, sizeof path, "fresh.safetensors");
    path_in(stripped, sizeof stripped, "fresh-stripped.safetensors");
    swann_net *a = make_net(SMALL_SPEC, MB);
    if (!a) return;
    CHECK_ST(train(a, 9, 0, 4, MB, 1, T_ONEHOT), SWANN_OK, "fresh optimizer: train 4 steps");
    CHECK_ST(swann_save(a, path), SWANN_OK, "fresh optimizer: save");
    size_t len = 0, hl = 0, dl = 0;
    unsigned char *f = read_file(path, &len);
    const char *h;
    const unsigned char *d;
    if (!f || st_split(f, len, &h, &hl, &d, &dl) != 0) {
        CHECK(0, "fresh optimizer: read the saved file");
        return;
    }
    tdesc t[32];
    int n = swann_tensors(SMALL_SIZES, SMALL_LAYERS, 1, d, t);
    char *spec = spec_of(a);
    char *meta = st_meta(spec);
    unsigned char *data;
    size_t data_len, flen;
    char *hdr = st_build(meta, t, n, NULL, NULL, &data, &data_len);
    unsigned char *same = st_file(hdr, 0, ' ', data, data_len, &flen);
    CHECKF(flen == len && memcmp(same, f, len) == 0, "the test's safetensors writer reproduces swann's file byte for byte",
           "%zu vs %zu bytes; swann wrote %.*s", flen, len, (int)hl, h);
    free(same);
    free(hdr);
    free(data);
    for (int i = 0; i < n; i++) t[i].omit = strncmp(t[i].name, "optimizer.", 10) == 0;
    hdr = st_build(meta, t, n, NULL, NULL, &data, &data_len);
    unsigned char *g = st_file(hdr, 0, ' ', data, data_len, &flen);
    write_file(stripped, g, flen);

    swann_net *b = NULL, *full = load_net(path, MB);
    CHECK_ST(swann_load(stripped, MB, NULL, 0, &b), SWANN_OK, "a file without optimizer tensors loads");
    swann_net *c = make_net(SMALL_SPEC, MB);
    if (b && c && full) {
        CHECK(same_params(a, b), "its parameters are the file's");
        float *pb, *pc;
        size_t nb, nc;
        swann_params(b, &pb, &nb);
        swann_params(c, &pc, &nc);
        memcpy(pc, pb, nb * sizeof *pb);
        swann_status s1 = train(b, 9, 4, 5, MB, 1, T_ONEHOT);
        swann_status s2 = train(c, 9, 4, 5, MB, 1, T_ONEHOT);
        swann_status s3 = train(full, 9, 4, 5, MB, 1, T_ONEHOT);
        CHECKF(s1 == SWANN_OK && s2 == SWANN_OK && same_params(b, c), "no optimizer tensors: trains like a fresh optimizer",
               "%s %s", st_name(s1), st_name(s2));
        snprintf(what, sizeof what, "the saved momentum matters (full state trains differently)");
        CHECK(s3 == SWANN_OK && !same_params(full, b), what);
    }
    swann_destroy(a);
    swann_destroy(b);
    swann_destroy(c);
    swann_destroy(full);
    free(g);
    free(hdr);
    free(data);
    free(meta);
    free(spec);
    free(f);
}

/* The layout swann writes, checked field by field. */
static void group_file_layout(void)
{
    char path[600];
    path_in(path, sizeof path, "layout.safetensors");
    swann_net *a = make_net(SPECS[3].json, MB);
    if (!a) return;
    train(a, 1, 0, 7, MB, 1, SPECS[3].kind);
    CHECK_ST(swann_save(a, path), SWANN_OK, "layout: save");
    size_t len = 0, hl = 0, dl = 0;
    unsigned char *f = read_file(path, &len);
    const char *h;
    const unsigned char *d;
    if (!f || st_split(f, len, &h, &hl, &d, &dl) != 0) {
        CHECK(0, "layout: the header length fits the file");
        free(f);
        swann_destroy(a);
        return;
    }
    CHECK(hl % 8 == 0, "layout: header length is a multiple of 8");
    size_t end = hl;
    while (end > 0 && h[end - 1] == ' ') end--;
    CHECK(end > 0 && h[0] == '{' && h[end - 1] == '}' && hl - end < 8,
          "layout: header is one JSON object padded with fewer than 8 spaces");
    char *text = strndup(h, hl);
    CHECK(strstr(text, "\"__metadata__\":{\"format\":\"swann\"") != NULL, "layout: metadata format \"swann\"");
    char want[64];
    snprintf(want, sizeof want, "\"swann.version\":\"%s\"", swann_version());
    CHECK(strstr(text, want) != NULL, "layout: metadata swann.version is swann_version()");
    CHECK(strstr(text, "\"optimizer.step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}") != NULL,
          "layout: optimizer.step is I64, shape [], first");
    CHECK(strstr(text, "\"optimizer.1.bias.momentum_buffer\":{\"dtype\":\"F32\",\"shape\":[4]") != NULL,
          "layout: momentum_buffer slots named like PyTorch's state_dict");
    int64_t step = 0;
    memcpy(&step, d, 8);
    CHECKF(step == 7, "layout: optimizer.step holds the number of steps taken", "%lld", (long long)step);
    float *p;
    size_t n;
    swann_params(a, &p, &n);
    CHECK(dl == 8 + 2 * n * 4 && memcmp(d + 8, p, n * 4) == 0,
          "layout: parameters follow the step, layer by layer, weight then bias, then the momentum buffers");
    /* momentum buffers are finite and not all zero after 7 steps */
    const float *m = (const float *)(d + 8 + n * 4);
    size_t nz = 0, fin = 1;
    for (size_t i = 0; i < n; i++) {
        nz += m[i] != 0;
        fin &= isfinite(m[i]) != 0;
    }
    CHECK(nz > 0 && fin, "layout: momentum buffers are saved");
    free(text);
    free(f);
    swann_destroy(a);
}

static void group_arena(void)
{
    char path[600], what[200];
    path_in(path, sizeof path, "arena.safetensors");
    swann_net *a = make_net(SPECS[0].json, MB);
    if (!a) return;
    swann_save(a, path);
    size_t need = 0;
    CHECK_ST(swann_load_size(path, MB, &need), SWANN_OK, "load_size");
    size_t cap = (need + 64 + 63) / 64 * 64 + 64;
    unsigned char *block = aligned_alloc(64, cap);
    memset(block, 0xA5, cap);
    swann_net *n = NULL;
    CHECK_ST(swann_load(path, MB, block, need, &n), SWANN_OK, "load into a host arena of exactly load_size bytes");
    if (n) {
        float *p;
        size_t cnt;
        swann_params(n, &p, &cnt);
        CHECK((unsigned char *)p >= block && (unsigned char *)(p + cnt) <= block + need,
              "the loaded net's parameters live in the host arena");
        CHECK(same_params(a, n), "host-arena load has the saved parameters");
        CHECK(block[need] == 0xA5, "load writes nothing past arena_bytes");
        swann_destroy(n);
    }
    n = (swann_net *)0x1;
    CHECK_ST(swann_load(path, MB, block, need - 1, &n), SWANN_E_ARENA, "arena one byte too small -> SWANN_E_ARENA");
    CHECK(n == NULL, "failed load sets *out to NULL (too small)");
    check_err_msg("a too-small arena");
    n = (swann_net *)0x1;
    CHECK_ST(swann_load(path, MB, block, 0, &n), SWANN_E_ARENA, "arena of 0 bytes -> SWANN_E_ARENA");
    for (int off = 8; off < 64; off += 24) {
        n = (swann_net *)0x1;
        snprintf(what, sizeof what, "arena misaligned by %d bytes -> SWANN_E_ARENA", off);
        CHECK_ST(swann_load(path, MB, block + off, need, &n), SWANN_E_ARENA, what);
        CHECK(n == NULL, "failed load sets *out to NULL (misaligned)");
    }
    n = NULL;
    CHECK_ST(swann_load(path, MB, block, cap, &n), SWANN_OK, "a larger host arena is fine");
    swann_destroy(n);
    n = (swann_net *)0x1;
    CHECK_ST(swann_load(path, MB, NULL, need, &n), SWANN_E_ARG,
             "arena NULL with arena_bytes != 0 -> SWANN_E_ARG (header: arena_bytes must then be 0)");
    swann_destroy(n == (swann_net *)0x1 ? NULL : n);
    /* a host arena that is reused for a second load */
    n = NULL;
    swann_status s1 = swann_load(path, MB, block, need, &n);
    swann_destroy(n);
    n = NULL;
    swann_status s2 = swann_load(path, MB, block, need, &n);
    CHECKF(s1 == SWANN_OK && s2 == SWANN_OK && n && same_params(a, n), "a host arena can be reused after destroy",
           "%s %s", st_name(s1), st_name(s2));
    swann_destroy(n);
    free(block);
    swann_destroy(a);
}

static void group_max_batch(void)
{
    char path[600];
    path_in(path, sizeof path, "maxbatch.safetensors");
    const test_spec *sp = &SPECS[1];
    swann_net *a = make_net(sp->json, MB);
    if (!a) return;
    train(a, 2, 0, 2, MB, 1, sp->kind);
    swann_save(a, path);
    size_t in = swann_input_size(a), out = swann_output_size(a);
    float x[400 * 8], t[400 * 8], ya[400 * 8], yb[400 * 8];
    make_batch(44, 1, 301, in, out, sp->kind, x, t);

    swann_net *one = load_net(path, 1);
    if (one) {
        CHECK(swann_max_batch(one) == 1, "loaded with max_batch 1");
        swann_status s1 = swann_forward(a, x, 1, ya), s2 = swann_forward(one, x, 1, yb);
        CHECK(s1 == SWANN_OK && s2 == SWANN_OK && memcmp(ya, yb, out * sizeof *ya) == 0,
              "max_batch 1: one row gives the original's output");
        CHECK_ST(swann_forward(one, x, 2, yb), SWANN_E_SHAPE, "max_batch 1: batch 2 -> SWANN_E_SHAPE");
        swann_destroy(one);
    }
    swann_net *big = load_net(path, 300);
    if (big) {
        CHECK(swann_max_batch(big) == 300, "loaded with max_batch 300");
        CHECK_ST(swann_forward(big, x, 300, yb), SWANN_OK, "max_batch 300: batch 300 runs");
        CHECK_ST(swann_forward(big, x, 301, yb), SWANN_E_SHAPE, "max_batch 300: batch 301 -> SWANN_E_SHAPE");
        swann_status s1 = swann_forward(a, x, MB, ya), s2 = swann_forward(big, x, MB, yb);
        CHECK(s1 == SWANN_OK && s2 == SWANN_OK && memcmp(ya, yb, MB * out * sizeof *ya) == 0,
              "max_batch 300: a batch of 8 gives the original's outputs bit for bit");
        swann_destroy(big);
    }
    swann_net *n = (swann_net *)0x1;
    size_t bytes = 7;
    CHECK_ST(swann_load(path, 0, NULL, 0, &n), SWANN_E_ARG, "load with max_batch 0 -> SWANN_E_ARG");
    CHECK(n == NULL, "failed load sets *out to NULL (max_batch 0)");
    CHECK_ST(swann_load_size(path, 0, &bytes), SWANN_E_ARG, "load_size with max_batch 0 -> SWANN_E_ARG");
    n = (swann_net *)0x1;
    CHECK_ST(swann_load(path, SIZE_MAX, NULL, 0, &n), SWANN_E_ARG, "load with max_batch SIZE_MAX -> SWANN_E_ARG");
    CHECK_ST(swann_load_size(path, SIZE_MAX, &bytes), SWANN_E_ARG, "load_size with max_batch SIZE_MAX -> SWANN_E_ARG");
    swann_destroy(a);
}

static void group_args(void)
{
    char path[600];
    path_in(path, sizeof path, "args.safetensors");
    swann_net *a = make_net(SPECS[0].json, MB);
    if (!a) return;
    CHECK_ST(swann_save(a, path), SWANN_OK, "save");
    swann_net *n = (swann_net *)0x1;
    size_t bytes = 0;
    CHECK_ST(swann_load(NULL, MB, NULL, 0, &n), SWANN_E_ARG, "load(NULL path) -> SWANN_E_ARG");
    CHECK(n == NULL, "failed load sets *out to NULL (NULL path)");
    check_err_msg("load(NULL path)");
    CHECK_ST(swann_load(path, MB, NULL, 0, NULL), SWANN_E_ARG, "load(out NULL) -> SWANN_E_ARG");
    CHECK_ST(swann_load_size(NULL, MB, &bytes), SWANN_E_ARG, "load_size(NULL path) -> SWANN_E_ARG");
    CHECK_ST(swann_load_size(path, MB, NULL), SWANN_E_ARG, "load_size(bytes NULL) -> SWANN_E_ARG");
    CHECK_ST(swann_save(NULL, path), SWANN_E_ARG, "save(NULL net) -> SWANN_E_ARG");
    CHECK_ST(swann_save(a, NULL), SWANN_E_ARG, "save(NULL path) -> SWANN_E_ARG");
    check_err_msg("save(NULL path)");
    CHECK_ST(swann_save(a, ""), SWANN_E_ARG, "save(\"\") -> SWANN_E_ARG");
    n = (swann_net *)0x1;
    CHECK_ST(swann_load("", MB, NULL, 0, &n), SWANN_E_ARG, "load(\"\") -> ARG, as save(\"\")");
    CHECK(n == NULL, "failed load sets *out to NULL (empty path)");
    CHECK_ST(swann_load_size("", MB, &bytes), SWANN_E_ARG, "load_size(\"\") -> ARG, as save(\"\")");
    /* a destroyed-and-reused handle is not required; a garbage handle is */
    swann_destroy(a);
}

static void group_io(void)
{
    char path[600], p2[700], what[200];
    path_in(path, sizeof path, "io.safetensors");
    swann_net *a = make_net(SPECS[0].json, MB);
    swann_net *b = make_net(SPECS[3].json, MB);
    if (!a || !b) return;
    CHECK_ST(swann_save(a, path), SWANN_OK, "save");
    size_t len = 0;
    unsigned char *orig = read_file(path, &len);
    swann_net *n = (swann_net *)0x1;
    size_t bytes = 0;

    path_in(p2, sizeof p2, "no-such-file.safetensors");
    CHECK_ST(swann_load(p2, MB, NULL, 0, &n), SWANN_E_IO, "load of a missing file -> SWANN_E_IO");
    CHECK(n == NULL, "failed load sets *out to NULL (missing file)");
    CHECKF(strstr(swann_last_error(), "no-such-file.safetensors") != NULL, "the message names the path", "%s",
           last_err());
    CHECK_ST(swann_load_size(p2, MB, &bytes), SWANN_E_IO, "load_size of a missing file -> SWANN_E_IO");
    CHECK_ST(swann_load(DIR_, MB, NULL, 0, &n), SWANN_E_IO, "load of a folder -> SWANN_E_IO");
    CHECK_ST(swann_load_size(DIR_, MB, &bytes), SWANN_E_IO, "load_size of a folder -> SWANN_E_IO");

    path_in(p2, sizeof p2, "missing-folder/x.safetensors");
    CHECK_ST(swann_save(a, p2), SWANN_E_IO, "save into a missing folder -> SWANN_E_IO");
    check_err_msg("save into a missing folder");
    path_in(p2, sizeof p2, "missing-folder");
    CHECK(!file_exists(p2), "nothing is created by a save into a missing folder");

    snprintf(p2, sizeof p2, "%s/x.safetensors", path);
    CHECK_ST(swann_save(b, p2), SWANN_E_IO, "save under a path whose folder is a file -> SWANN_E_IO");
    CHECK(file_equals(path, orig, len), "... and that file is untouched");

    path_in(p2, sizeof p2, "a-folder");
    mkdir(p2, 0755);
    CHECK_ST(swann_save(a, p2), SWANN_E_IO, "save over an existing folder -> SWANN_E_IO");
    char p3[800];
    snprintf(p3, sizeof p3, "%s/inner.safetensors", p2);
    {
        swann_status st = swann_save(a, p3);
        CHECK_ST(st, SWANN_OK, "a save into that folder still works");
        snprintf(p3, sizeof p3, "%s/a-folder", DIR_);
        struct stat s;
        CHECK(stat(p3, &s) == 0 && S_ISDIR(s.st_mode), "the folder survives the failed save");
        CHECKF(tmp_leftovers(p2, 0) == 0, "no temporary file is left by the failed save", "%d left",
               tmp_leftovers(p2, 0));
    }
    snprintf(p3, sizeof p3, "%s/a-folder/", DIR_);
    CHECK_ST(swann_save(a, p3), SWANN_E_IO, "save to \"folder/\" -> SWANN_E_IO");

    /* a path longer than PATH_MAX */
    char *longp = malloc(PATH_MAX + 200);
    snprintf(longp, PATH_MAX + 200, "%s/", DIR_);
    size_t l = strlen(longp);
    memset(longp + l, 'x', PATH_MAX + 100 - l);
    longp[PATH_MAX + 100] = 0;
    CHECK_STM(swann_save(a, longp), SM(SWANN_E_IO) | SM(SWANN_E_ARG), "save to a path longer than PATH_MAX fails");
    CHECK_STM(swann_load(longp, MB, NULL, 0, &n), SM(SWANN_E_IO) | SM(SWANN_E_ARG),
              "load of a path longer than PATH_MAX fails");
    free(longp);

    /* overwrite with another net, then back */
    CHECK_ST(swann_save(b, path), SWANN_OK, "save over an existing model file");
    swann_net *c = load_net(path, MB);
    CHECK(c && same_params(b, c), "the new file replaced the old one");
    swann_destroy(c);
    CHECKF(tmp_leftovers(path, 0) == 0, "successful saves leave no temporary files", "%d left",
           tmp_leftovers(path, 0));

    /* a relative path (the folder to sync is ".") */
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) && chdir(DIR_) == 0) {
        CHECK_ST(swann_save(a, "relative.safetensors"), SWANN_OK, "save to a relative path");
        n = NULL;
        CHECK_ST(swann_load("relative.safetensors", MB, NULL, 0, &n), SWANN_OK, "load from a relative path");
        CHECK(n && same_params(a, n), "relative path round trip");
        swann_destroy(n);
        if (chdir(cwd) != 0) perror("chdir");
    }
    /* a file that is not a model at all, and an empty one */
    path_in(p2, sizeof p2, "empty.safetensors");
    write_file(p2, "", 0);
    n = (swann_net *)0x1;
    CHECK_ST(swann_load(p2, MB, NULL, 0, &n), SWANN_E_FORMAT, "an empty file -> SWANN_E_FORMAT");
    CHECK(n == NULL, "failed load sets *out to NULL (empty file)");
    snprintf(what, sizeof what, "load of /dev/null (not a regular file) fails");
    CHECK_STM(swann_load("/dev/null", MB, NULL, 0, &n), SM(SWANN_E_IO) | SM(SWANN_E_FORMAT), what);
    free(orig);
    swann_destroy(a);
    swann_destroy(b);
}

/* A net whose parameters or optimizer state became non-finite (the host wrote
 * them, or an update overflowed) cannot be written as a file that load then
 * refuses: save either refuses (non-OK, old file untouched) or writes a file
 * that loads. */
static void group_nonfinite_save(void)
{
    char path[600], what[300];
    path_in(path, sizeof path, "nonfinite.safetensors");
    const float bad[] = {INFINITY, -INFINITY, NAN};
    const char *names[] = {"+Inf", "-Inf", "NaN"};
    for (int k = 0; k < 3; k++) {
        swann_net *good = make_net(SPECS[0].json, MB), *a = make_net(SPECS[0].json, MB);
        if (!good || !a) return;
        swann_save(good, path);
        size_t len = 0;
        unsigned char *old = read_file(path, &len);
        float *p;
        size_t n;
        swann_params(a, &p, &n);
        p[n - 1] = bad[k];
        swann_status st = swann_save(a, path);
        swann_net *l = NULL;
        swann_status ls = swann_load(path, MB, NULL, 0, &l);
        snprintf(what, sizeof what,
                 "save of a net with a %s parameter: refused with the old file kept, or a file that loads", names[k]);
        CHECKF((st != SWANN_OK && file_equals(path, old, len)) || (st == SWANN_OK && ls == SWANN_OK), what,
               "save %s, then load %s: %s", st_name(st), st_name(ls), last_err());
        swann_destroy(l);
        free(old);
        swann_destroy(a);
        swann_destroy(good);
    }
    /* the same through training: weight decay on a huge bias overflows the update
     * (finite gradient, finite parameter, non-finite result) */
    swann_net *a = make_net("{\"input\":2,\"layers\":[{\"units\":2,\"activation\":\"tanh\"}],\"loss\":\"mse\","
                            "\"optimizer\":{\"type\":\"sgd\",\"lr\":0.2,\"weight_decay\":5},\"seed\":1}", MB);
    if (!a) return;
    float *p;
    size_t n;
    swann_params(a, &p, &n);
    p[n - 1] = 3.0e38f; /* a bias: 5 * 3e38 overflows */
    swann_status st = train(a, 1, 0, 1, MB, 1, T_REAL);
    int finite = 1;
    swann_params(a, &p, &n);
    for (size_t i = 0; i < n; i++) finite &= isfinite(p[i]) != 0;
    swann_status sv = swann_save(a, path);
    swann_net *l = NULL;
    swann_status ls = sv == SWANN_OK ? swann_load(path, MB, NULL, 0, &l) : SWANN_OK;
    snprintf(what, sizeof what, "weight decay overflows a 3e38 bias (step %s, parameters %s): a save that succeeds loads back",
             st_name(st), finite ? "finite" : "NOT finite");
    CHECKF(sv != SWANN_OK || ls == SWANN_OK, what, "save %s, load %s: %s", st_name(sv), st_name(ls), last_err());
    swann_destroy(l);
    swann_destroy(a);
}

int main(void)
{
    check_init("test_roundtrip");
    DIR_ = make_tmpdir("roundtrip");
    RUN_GROUP(group_roundtrip);
    RUN_GROUP(group_resume);
    RUN_GROUP(group_fresh_optimizer);
    RUN_GROUP(group_file_layout);
    RUN_GROUP(group_arena);
    RUN_GROUP(group_max_batch);
    RUN_GROUP(group_args);
    RUN_GROUP(group_io);
    RUN_GROUP(group_nonfinite_save);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/a-folder", DIR_);
    remove_tree(sub);
    remove_tree(DIR_);
    return check_finish();
}
