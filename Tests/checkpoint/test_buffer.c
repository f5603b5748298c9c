/*
 * test_buffer.c -- nets in memory: swann_save_buffer, swann_load_buffer_size,
 * swann_load_buffer. The bytes are swann_save's, byte for byte; a net loaded
 * from them is the one swann_load gives (parameters, optimizer state, step
 * count, spec), and trains on alike; the snprintf contract; bad arguments;
 * the heap use swann.h documents (run with LD_PRELOAD=alloc_shim.so; without
 * it the heap checks are skipped). Corrupt bytes: test_corrupt.c and the
 * fuzzer run every refused file through swann_load_buffer too.
 *
 * Contract: include/swann.h ("Nets in memory").
 */
#include "check.h"
#include "ckpt_util.h"
#include "alloc_shim.h"
#include "specs.h"

#include <stdint.h>

#define MB 8

static const char *DIR_;

/* The net's model bytes (malloc'ed), through the size query. */
static unsigned char *buffer_of(const swann_net *net, size_t *len)
{
    size_t need = 0;
    swann_status st = swann_save_buffer(net, NULL, 0, &need);
    if (st != SWANN_E_ARG || need == 0) {
        CHECKF(0, "save_buffer(NULL, 0) asks the size", "%s, %zu; %s", st_name(st), need, last_err());
        return NULL;
    }
    unsigned char *b = malloc(need);
    size_t again = 0;
    st = b ? swann_save_buffer(net, b, need, &again) : SWANN_E_NOMEM;
    if (st != SWANN_OK || again != need) {
        CHECKF(0, "save_buffer into a buffer of the size asked", "%s, %zu of %zu; %s", st_name(st), again, need,
               last_err());
        free(b);
        return NULL;
    }
    *len = need;
    return b;
}

/* Save to a file and to a buffer: the same bytes; load_buffer gives the net
 * load gives, which saves back to the same bytes and trains on alike. */
static void roundtrip_one(const test_spec *ts)
{
    char what[300], path[600];
    snprintf(path, sizeof path, "%s/%s.safetensors", DIR_, ts->name);
    swann_net *a = make_net(ts->json, MB);
    if (!a) return;
    if (ts->trainable) {
        snprintf(what, sizeof what, "%s: training before save", ts->name);
        CHECK_ST(train(a, 17, 0, 3, MB, 1, ts->kind), SWANN_OK, what);
    }
    snprintf(what, sizeof what, "%s: save", ts->name);
    CHECK_ST(swann_save(a, path), SWANN_OK, what);
    size_t len = 0;
    unsigned char *bytes = buffer_of(a, &len);
    if (!bytes) goto out_a;
    snprintf(what, sizeof what, "%s: save_buffer writes swann_save's bytes, byte for byte", ts->name);
    CHECK(file_equals(path, bytes, len), what);

    size_t file_need = 0, buf_need = 0;
    swann_load_size(path, MB, &file_need);
    snprintf(what, sizeof what, "%s: load_buffer_size is load_size", ts->name);
    CHECKF(swann_load_buffer_size(bytes, len, MB, &buf_need) == SWANN_OK && buf_need == file_need, what,
           "%zu vs %zu; %s", buf_need, file_need, last_err());

    swann_net *b = NULL, *c = load_net(path, MB);
    snprintf(what, sizeof what, "%s: load_buffer", ts->name);
    CHECK_ST(swann_load_buffer(bytes, len, MB, NULL, 0, &b), SWANN_OK, what);
    /* the bytes may be freed on return: the net holds its own copy */
    memset(bytes, 0xFF, len);
    free(bytes);
    if (!b || !c) goto out_bc;
    snprintf(what, sizeof what, "%s: the same parameters as the saved net and swann_load's", ts->name);
    CHECK(same_params(a, b) && same_params(c, b), what);
    char *sb = spec_of(b), *sc = spec_of(c);
    snprintf(what, sizeof what, "%s: the same spec_json as swann_load's", ts->name);
    CHECKF(sb && sc && !strcmp(sb, sc), what, "%s vs %s", sb ? sb : "-", sc ? sc : "-");
    free(sb);
    free(sc);
    /* the loaded net's bytes hold its parameters, optimizer state and step count */
    size_t lb = 0, lc = 0;
    unsigned char *bb = buffer_of(b, &lb), *bc = buffer_of(c, &lc);
    snprintf(what, sizeof what, "%s: saved again, the buffer-loaded net gives the same bytes (state, step)",
             ts->name);
    CHECK(bb && file_equals(path, bb, lb), what);
    free(bb);
    free(bc);
    if (ts->trainable) {
        swann_status sa = train(a, 23, 3, 2, MB, 1, ts->kind), s1 = train(b, 23, 3, 2, MB, 1, ts->kind),
                     s2 = train(c, 23, 3, 2, MB, 1, ts->kind);
        snprintf(what, sizeof what, "%s: trains on exactly like the saved net and swann_load's", ts->name);
        CHECKF(sa == SWANN_OK && s1 == SWANN_OK && s2 == SWANN_OK && same_params(a, b) && same_params(c, b), what,
               "%s %s %s", st_name(sa), st_name(s1), st_name(s2));
    }
out_bc:
    swann_destroy(b);
    swann_destroy(c);
out_a:
    swann_destroy(a);
    unlink(path);
}

static void group_roundtrip(void)
{
    for (int i = 0; i < NSPECS; i++) roundtrip_one(&SPECS[i]);
}

/* Into a host arena of load_buffer_size bytes: the same net. */
static void group_host_arena(void)
{
    swann_net *a = make_net(SPECS[5].json, MB); /* adam, three slots */
    if (!a) return;
    train(a, 5, 0, 4, MB, 1, SPECS[5].kind);
    size_t len = 0, need = 0;
    unsigned char *bytes = buffer_of(a, &len);
    CHECK_ST(swann_load_buffer_size(bytes, len, MB, &need), SWANN_OK, "load_buffer_size");
    void *arena = aligned_alloc(64, (need + 63) / 64 * 64);
    swann_net *b = NULL;
    CHECK_ST(swann_load_buffer(bytes, len, MB, arena, need, &b), SWANN_OK, "load_buffer into a host arena");
    CHECK(b && (void *)b == arena, "the net lives in the host arena");
    size_t lb = 0;
    unsigned char *again = b ? buffer_of(b, &lb) : NULL;
    CHECK(again && lb == len && !memcmp(again, bytes, len), "host-arena net saves back to the same bytes");
    free(again);
    swann_net *c = NULL;
    CHECK_ST(swann_load_buffer(bytes, len, MB, arena, need - 64, &c), SWANN_E_ARENA,
             "a host arena 64 bytes short: SWANN_E_ARENA");
    CHECK(c == NULL, "*out NULL after a refused load_buffer");
    swann_destroy(b);
    free(arena);
    free(bytes);
    swann_destroy(a);
}

/* snprintf: *needed always gets the size; cap one short writes nothing. */
static void group_snprintf(void)
{
    swann_net *a = make_net(SPECS[0].json, MB);
    if (!a) return;
    size_t need = 0, got = 0;
    CHECK_ST(swann_save_buffer(a, NULL, 0, &need), SWANN_E_ARG, "(NULL, 0, &needed) asks the size: SWANN_E_ARG");
    CHECK(need > 8, "*needed is the size");
    unsigned char *buf = malloc(need + 16);
    memset(buf, 0xAB, need + 16);
    CHECK_ST(swann_save_buffer(a, buf, need - 1, &got), SWANN_E_ARG, "cap one short: SWANN_E_ARG");
    CHECK(got == need, "cap one short: *needed is still the size");
    size_t untouched = 0;
    for (size_t i = 0; i < need + 16; i++) untouched += buf[i] == 0xAB;
    CHECKF(untouched == need + 16, "cap one short writes nothing", "%zu of %zu bytes changed", need + 16 - untouched,
           need + 16);
    got = 0;
    CHECK_ST(swann_save_buffer(a, buf, need + 16, &got), SWANN_OK, "cap larger than needed: OK");
    CHECK(got == need, "cap larger: *needed is the size");
    untouched = 0;
    for (size_t i = need; i < need + 16; i++) untouched += buf[i] == 0xAB;
    CHECK(untouched == 16, "cap larger: nothing written past *needed");
    got = 0;
    CHECK_ST(swann_save_buffer(a, buf, need, &got), SWANN_OK, "cap exactly the size: OK");
    CHECK_ST(swann_save_buffer(a, NULL, 5, &got), SWANN_E_ARG, "buf NULL with cap 5: SWANN_E_ARG");
    CHECK_ST(swann_save_buffer(a, buf, need, NULL), SWANN_E_ARG, "needed NULL: SWANN_E_ARG");
    CHECK_ST(swann_save_buffer(NULL, buf, need, &got), SWANN_E_ARG, "net NULL: SWANN_E_ARG");
    /* a net load would refuse is never written */
    float *p = NULL;
    size_t n = 0;
    swann_params(a, &p, &n);
    p[n - 1] = NAN;
    memset(buf, 0xAB, need + 16);
    CHECK_ST(swann_save_buffer(a, buf, need + 16, &got), SWANN_E_NUMERIC, "a NaN parameter: SWANN_E_NUMERIC");
    untouched = 0;
    for (size_t i = 0; i < need + 16; i++) untouched += buf[i] == 0xAB;
    CHECK(untouched == need + 16, "a NaN parameter: nothing written");
    const char *e = swann_last_error();
    CHECKF(e && !strncmp(e, "save_buffer: ", 13), "the message names save_buffer", "%s", e ? e : "-");
    free(buf);
    swann_destroy(a);
}

static void group_args(void)
{
    swann_net *a = make_net(SPECS[0].json, MB);
    if (!a) return;
    size_t len = 0, need = 0;
    unsigned char *bytes = buffer_of(a, &len);
    swann_destroy(a);
    if (!bytes) return;
    struct {
        const char *what;
        const void *b;
        size_t size, max_batch;
    } cases[] = {
        {"bytes NULL, size > 0", NULL, 100, MB},
        {"bytes NULL, size 0", NULL, 0, MB},
        {"size 0", bytes, 0, MB},
        {"size SIZE_MAX", bytes, SIZE_MAX, MB},
        {"size (size_t)-8 (a negative length)", bytes, (size_t)-8, MB},
        {"max_batch 0", bytes, len, 0},
        {"max_batch SIZE_MAX", bytes, len, SIZE_MAX},
    };
    char what[200];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        swann_net *out = (swann_net *)0x1;
        swann_status st = swann_load_buffer(cases[i].b, cases[i].size, cases[i].max_batch, NULL, 0, &out);
        snprintf(what, sizeof what, "load_buffer, %s: SWANN_E_ARG, *out NULL, a load_buffer message", cases[i].what);
        const char *e = swann_last_error();
        CHECKF(st == SWANN_E_ARG && out == NULL && e && !strncmp(e, "load_buffer: ", 13), what, "%s, %p; %s",
               st_name(st), (void *)out, last_err());
        if (st == SWANN_OK) swann_destroy(out);
        need = 0;
        st = swann_load_buffer_size(cases[i].b, cases[i].size, cases[i].max_batch, &need);
        snprintf(what, sizeof what, "load_buffer_size, %s: SWANN_E_ARG", cases[i].what);
        CHECK_ST(st, SWANN_E_ARG, what);
    }
    CHECK_ST(swann_load_buffer_size(bytes, len, MB, NULL), SWANN_E_ARG, "load_buffer_size, arena_bytes NULL");
    CHECK_ST(swann_load_buffer(bytes, len, MB, NULL, 0, NULL), SWANN_E_ARG, "load_buffer, out NULL");
    swann_net *out = (swann_net *)0x1;
    CHECK_ST(swann_load_buffer(bytes, len, MB, NULL, 4096, &out), SWANN_E_ARG,
             "load_buffer, arena NULL with arena_bytes 4096");
    void *arena = aligned_alloc(64, 1 << 16);
    CHECK_ST(swann_load_buffer(bytes, len, MB, (char *)arena + 8, (1 << 16) - 64, &out), SWANN_E_ARENA,
             "load_buffer, a misaligned host arena");
    CHECK(out == NULL, "*out NULL after refused arguments");
    free(arena);
    free(bytes);
}

/* Heap: save_buffer allocates the header text only (one block, freed); load_buffer
 * makes swann_load's transient allocations, also with a host arena, and keeps none. */
static void group_heap(void)
{
    if (!shim_loaded()) {
        printf("# heap checks skipped: alloc_shim.so is not preloaded\n");
        return;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/heap.safetensors", DIR_);
    swann_net *a = make_net(SPECS[5].json, MB);
    if (!a) return;
    train(a, 9, 0, 2, MB, 1, SPECS[5].kind);
    swann_save(a, path);
    size_t len = 0, need = 0, got = 0;
    unsigned char *bytes = buffer_of(a, &len);
    unsigned char *out = malloc(len);
    swann_load_buffer_size(bytes, len, MB, &need);
    void *arena = aligned_alloc(64, (need + 63) / 64 * 64);

    unsigned long c0 = shim_calls();
    long l0 = shim_live();
    swann_status st = swann_save_buffer(a, out, len, &got);
    unsigned long save_calls = shim_calls() - c0;
    CHECK_ST(st, SWANN_OK, "save_buffer under the shim");
    CHECKF(save_calls == 2 && shim_live() == l0, "save_buffer: one allocation (the header text), freed", "%lu heap calls",
           save_calls);
    c0 = shim_calls();
    swann_save_buffer(a, NULL, 0, &got);
    save_calls = shim_calls() - c0;
    CHECKF(save_calls == 2 && shim_live() == l0, "save_buffer asking the size: the same one allocation, freed",
           "%lu heap calls", save_calls);

    swann_net *b = NULL, *c = NULL;
    c0 = shim_calls();
    st = swann_load(path, MB, arena, need, &b);
    unsigned long file_calls = shim_calls() - c0;
    long file_live = shim_live() - l0;
    swann_destroy(b);
    c0 = shim_calls();
    st = swann_load_buffer(bytes, len, MB, arena, need, &c);
    unsigned long buf_calls = shim_calls() - c0;
    long buf_live = shim_live() - l0;
    CHECK_ST(st, SWANN_OK, "load_buffer into a host arena under the shim");
    CHECKF(buf_calls == file_calls && buf_live == 0 && file_live == 0,
           "load_buffer into a host arena: swann_load's transient allocations, none kept",
           "load_buffer %lu heap calls (%ld kept), load %lu (%ld kept)", buf_calls, buf_live, file_calls, file_live);
    printf("# heap calls with a host arena: save_buffer %d, load_buffer %lu, swann_load %lu (allocations + frees)\n",
           2, buf_calls, file_calls);
    swann_destroy(c);
    free(arena);
    free(out);
    free(bytes);
    swann_destroy(a);
    unlink(path);
}

int main(void)
{
    check_init("test_buffer");
    shim_loaded();
    DIR_ = make_tmpdir("buffer");
    RUN_GROUP(group_roundtrip);
    RUN_GROUP(group_host_arena);
    RUN_GROUP(group_snprintf);
    RUN_GROUP(group_args);
    RUN_GROUP(group_heap);
    remove_tree(DIR_);
    return check_finish();
}
