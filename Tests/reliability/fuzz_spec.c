/*
 * fuzz_spec.c -- libFuzzer harness for the spec parser: JSON text -> create.
 *
 * Each input is a spec text (NUL-terminated copy of the bytes). Properties:
 *   - swann_arena_size and swann_create return documented statuses only:
 *     SWANN_OK, SWANN_E_SPEC (bad JSON or a bad value), SWANN_E_ARG (a net above
 *     the size limits), SWANN_E_NOMEM; and they agree: the same status for the
 *     same text (create is only tried for arenas up to 64 MiB);
 *   - a failure sets a one-line message and leaves *out NULL;
 *   - an accepted spec gives a net whose sizes are positive and consistent, whose
 *     canonical spec (swann_spec_json) is accepted again, gives the same arena
 *     size and bit-identical parameters, and is a fixed point (canonical of
 *     canonical is itself); the same spec in a host arena of exactly
 *     swann_arena_size bytes gives the same parameters, one byte less is
 *     SWANN_E_ARENA; a forward, backward (or backward_grad) and step of a small
 *     batch return documented statuses.
 * Memory errors, UB and leaks are the sanitizers'.
 */
#include "fuzz_common.h"

#define MB 2
#define CREATE_LIMIT ((size_t)64 << 20)
#define TRAIN_LIMIT ((size_t)1 << 18) /* floats of input or output per batch */

static void check_net(swann_net *net, const char *text, size_t bytes);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;

    size_t bytes = 0;
    swann_status s1 = swann_arena_size(text, MB, &bytes);
    fz_expect("arena_size", s1, SM(SWANN_OK) | SM(SWANN_E_SPEC) | SM(SWANN_E_ARG) | SM(SWANN_E_NOMEM), NULL);
    if (s1 == SWANN_OK && bytes == 0) fz_fail("arena_size accepted the spec with 0 bytes");

    if (s1 != SWANN_OK || bytes <= CREATE_LIMIT) {
        swann_net *net = (swann_net *)text;
        swann_status s2 = swann_create(text, MB, NULL, 0, &net);
        fz_expect("create", s2, SM(SWANN_OK) | SM(SWANN_E_SPEC) | SM(SWANN_E_ARG) | SM(SWANN_E_NOMEM), NULL);
        if (s2 != s1 && s2 != SWANN_E_NOMEM && s1 != SWANN_E_NOMEM)
            fz_fail("arena_size gave %s but create %s for the same text", fz_name(s1), fz_name(s2));
        if (s2 != SWANN_OK && net != NULL) fz_fail("create failed but *out is not NULL");
        if (s2 == SWANN_OK) {
            check_net(net, text, bytes);
            swann_destroy(net);
        }
    }
    free(text);
    return 0;
}

static char *canonical(swann_net *net)
{
    size_t need = 0;
    swann_status st = swann_spec_json(net, NULL, 0, &need);
    if (st != SWANN_E_ARG || need < 3) fz_fail("spec_json(NULL, 0) gave %s, needed %zu", fz_name(st), need);
    char *c = malloc(need);
    if (!c) abort();
    size_t need2 = 0;
    st = swann_spec_json(net, c, need, &need2);
    if (st != SWANN_OK || need2 != need || strlen(c) + 1 != need) fz_fail("spec_json gave %s", fz_name(st));
    return c;
}

static float *copy_params(swann_net *net, size_t *count)
{
    float *p;
    if (swann_params(net, &p, count) != SWANN_OK) fz_fail("params");
    float *c = malloc(*count * sizeof(float) + 1);
    if (!c) abort();
    memcpy(c, p, *count * sizeof(float));
    return c;
}

static void check_net(swann_net *net, const char *text, size_t bytes)
{
    (void)text;
    size_t in = swann_input_size(net), out = swann_output_size(net), pc = swann_param_count(net);
    if (in == 0 || out == 0 || pc < out || swann_max_batch(net) != MB)
        fz_fail("sizes of an accepted spec: in %zu out %zu params %zu", in, out, pc);

    size_t count;
    float *params = copy_params(net, &count);
    if (count != pc) fz_fail("params count %zu, param_count %zu", count, pc);
    if (!fz_all_finite(params, count)) fz_fail("initial parameters are not finite");

    /* the canonical spec: accepted, same net, a fixed point */
    char *c1 = canonical(net);
    size_t bytes2 = 0;
    swann_status st = swann_arena_size(c1, MB, &bytes2);
    if (st != SWANN_OK || bytes2 != bytes)
        fz_fail("canonical spec: arena_size %s, %zu bytes vs %zu\n  canonical: %s", fz_name(st), bytes2, bytes, c1);
    swann_net *again = NULL;
    st = swann_create(c1, MB, NULL, 0, &again);
    if (st != SWANN_OK) fz_fail("the canonical spec is refused (%s): %s", fz_name(st), c1);
    size_t count2;
    float *params2 = copy_params(again, &count2);
    if (count2 != count || memcmp(params, params2, count * sizeof(float)) != 0)
        fz_fail("the canonical spec gives other parameters: %s", c1);
    char *c2 = canonical(again);
    if (strcmp(c1, c2) != 0) fz_fail("canonical spec is not a fixed point:\n  %s\n  %s", c1, c2);
    swann_destroy(again);
    free(params2);

    /* a host arena of exactly the size */
    void *arena = NULL;
    if (posix_memalign(&arena, 64, bytes) != 0) abort();
    swann_net *hosted = (swann_net *)arena;
    st = swann_create(c1, MB, arena, bytes - 1, &hosted);
    if (st != SWANN_E_ARENA || hosted != NULL) fz_fail("a host arena one byte short gave %s", fz_name(st));
    st = swann_create(c1, MB, arena, bytes, &hosted);
    if (st != SWANN_OK) fz_fail("a host arena of arena_size bytes gave %s", fz_name(st));
    float *params3 = copy_params(hosted, &count2);
    if (memcmp(params, params3, count * sizeof(float)) != 0) fz_fail("host-arena net has other parameters");
    free(params3);
    swann_destroy(hosted);
    free(arena);

    /* a small round of training returns documented statuses */
    if (in * MB <= TRAIN_LIMIT && out * MB <= TRAIN_LIMIT) {
        float *x = calloc(in * MB, sizeof(float)), *t = calloc(out * MB, sizeof(float));
        if (!x || !t) abort();
        for (size_t i = 0; i < in * MB; i++) x[i] = (float)((i % 7) - 3) / 4.0f;
        for (size_t r = 0; r < MB; r++) t[r * out + r % out] = 1.0f;
        float loss = 0;
        st = swann_forward(net, x, MB, NULL);
        fz_expect("forward", st, SM(SWANN_OK), NULL);
        int none = strstr(c1, "\"loss\":\"none\"") != NULL;
        st = none ? swann_backward_grad(net, t, NULL) : swann_backward(net, t, &loss, NULL);
        fz_expect(none ? "backward_grad" : "backward", st, SM(SWANN_OK) | SM(SWANN_E_NUMERIC), NULL);
        if (st == SWANN_OK) {
            float *p;
            swann_params(net, &p, &count2);
            float *before = copy_params(net, &count2);
            st = swann_step(net);
            fz_expect("step", st, SM(SWANN_OK) | SM(SWANN_E_NUMERIC), NULL);
            if (st != SWANN_OK && memcmp(before, p, count2 * sizeof(float)) != 0)
                fz_fail("a refused step changed the parameters");
            free(before);
        }
        free(x);
        free(t);
    }
    free(c1);
    free(c2);
    free(params);
}
