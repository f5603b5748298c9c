/*
 * fuzz_load.c -- libFuzzer harness for the model-file loader.
 *
 * Each input is written to a file in $CKPT_FUZZ_DIR (else /dev/shm) and given to
 * swann_load_size and swann_load (library arena and host arena). Properties:
 *   - statuses are documented ones: SWANN_OK, SWANN_E_FORMAT, or SWANN_E_NOMEM;
 *     load and load_size agree on whether the structure is acceptable;
 *   - a failed load leaves *out NULL and sets a message;
 *   - swann_load_buffer_size and swann_load_buffer, given the input's bytes
 *     from memory, return what load_size and load returned;
 *   - swann_model_from_buffer (copied, and in place in a host block of
 *     swann_model_mem_size bytes) refuses whatever load refuses for its structure
 *     or weights (a model ignores optimizer values, so it may accept bytes whose
 *     optimizer state load refuses); a model it makes runs one row with the bits of
 *     the loaded net's swann_forward, and its model_save_buffer bytes load back;
 *   - a loaded net is usable: forward, backward, step return documented
 *     statuses; it saves, and the saved file loads back to the same
 *     parameters and spec; a host-arena load gives the same parameters.
 * A violated property aborts (a crash for libFuzzer); ASan and LSan catch
 * memory errors and leaks.
 *
 * Build: clang -fsanitize=fuzzer,address fuzz_load.c + the library (see run.sh).
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swann.h"

#define MB 4

static char path_in[256], path_out[256];

static void fail(const char *what, swann_status st)
{
    fprintf(stderr, "fuzz_load: property violated: %s (status %s, last_error \"%s\")\n", what,
            swann_status_name(st), swann_last_error());
    abort();
}

static void write_all(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) { perror(path); abort(); }
    while (size > 0) {
        ssize_t w = write(fd, data, size);
        if (w <= 0) { perror("write"); abort(); }
        data += w;
        size -= (size_t)w;
    }
    close(fd);
}

static int documented(swann_status st) { return (int)st >= 0 && (int)st <= 9; }

static char *spec_of(const swann_net *n)
{
    size_t need = 0;
    swann_spec_json(n, NULL, 0, &need);
    char *s = malloc(need);
    if (!s || swann_spec_json(n, s, need, &need) != SWANN_OK) fail("spec_json of a loaded net", SWANN_E_ARG);
    return s;
}

static void exercise(swann_net *net, size_t arena_need)
{
    size_t in = swann_input_size(net), out = swann_output_size(net);
    if (in == 0 || out == 0 || swann_max_batch(net) != MB) fail("sizes of a loaded net", SWANN_OK);
    float *x = calloc(MB * in, sizeof *x), *t = calloc(MB * out, sizeof *t), *y = calloc(MB * out, sizeof *y);
    for (size_t i = 0; i < MB * in; i++) x[i] = (float)((int)(i % 7) - 3) * 0.25f;
    for (size_t r = 0; r < MB; r++) t[r * out + r % out] = 1.0f;

    /* host arena copy: same parameters */
    void *arena = aligned_alloc(64, (arena_need + 63) / 64 * 64);
    swann_net *h = NULL;
    swann_status st = swann_load(path_in, MB, arena, arena_need, &h);
    if (st != SWANN_OK) fail("host-arena load of a file that loaded", st);
    float *pa, *pb;
    size_t na, nb;
    swann_params(net, &pa, &na);
    swann_params(h, &pb, &nb);
    if (na != nb || na != swann_param_count(net) || memcmp(pa, pb, na * sizeof *pa) != 0)
        fail("host-arena load has other parameters", SWANN_OK);
    swann_destroy(h);
    free(arena);

    st = swann_forward(net, x, MB, y);
    if (st != SWANN_OK && st != SWANN_E_NUMERIC) fail("forward of a loaded net", st);
    if (st == SWANN_OK) {
        st = swann_backward(net, t, NULL, NULL);
        if (!documented(st)) fail("backward of a loaded net", st);
        if (st == SWANN_OK) {
            st = swann_step(net);
            if (st != SWANN_OK && st != SWANN_E_NUMERIC) fail("step of a loaded net", st);
        }
    }
    swann_zero_grad(net);

    /* it saves, and loads back the same */
    st = swann_save(net, path_out);
    if (st != SWANN_OK) {
        /* the only excuse: the step made a value non-finite, which no file may hold */
        int finite = 1;
        swann_params(net, &pa, &na);
        for (size_t i = 0; i < na; i++) finite &= isfinite(pa[i]) != 0;
        if (finite || st == SWANN_E_IO || !documented(st)) fail("save of a loaded net", st);
        free(x), free(t), free(y);
        return;
    }
    swann_net *again = NULL;
    st = swann_load(path_out, MB, NULL, 0, &again);
    if (st != SWANN_OK) fail("reload of a saved net", st);
    swann_params(net, &pa, &na);
    swann_params(again, &pb, &nb);
    if (na != nb || memcmp(pa, pb, na * sizeof *pa) != 0) fail("reload gives other parameters", SWANN_OK);
    char *s1 = spec_of(net), *s2 = spec_of(again);
    if (strcmp(s1, s2) != 0) fail("reload gives another spec", SWANN_OK);
    free(s1);
    free(s2);
    swann_destroy(again);
    free(x);
    free(t);
    free(y);
}

/* The same bytes as a model, copied and in place. load_status: swann_load's. */
static void fuzz_model(const uint8_t *data, size_t size, swann_status load_status)
{
    swann_model *model = (swann_model *)0x1;
    swann_status s = swann_model_from_buffer(data, size, NULL, 0, &model);
    if (s != SWANN_OK && s != SWANN_E_FORMAT && s != SWANN_E_NOMEM && !(size == 0 && s == SWANN_E_ARG))
        fail("model_from_buffer status", s);
    if (s != SWANN_OK && model != NULL) fail("failed model_from_buffer left *out set", s);
    if (load_status == SWANN_OK && s != SWANN_OK && s != SWANN_E_NOMEM) fail("model refused what load accepted", s);
    if (s == SWANN_OK && load_status != SWANN_OK && load_status != SWANN_E_FORMAT && load_status != SWANN_E_NOMEM)
        fail("model accepted what load refused", load_status);
    if (s == SWANN_OK) {
        /* one row through a session, against the loaded net */
        size_t in = swann_model_input_size(model), out = swann_model_output_size(model);
        float *x = calloc(in, sizeof(float)), *y1 = calloc(out, sizeof(float)), *y2 = calloc(out, sizeof(float));
        for (size_t i = 0; i < in; i++) x[i] = (float)(i % 7) * 0.25f - 0.75f;
        swann_session *ss = NULL;
        swann_net *net = NULL;
        if (swann_session_create(model, 1, NULL, 0, &ss) == SWANN_OK) {
            if (swann_session_run(ss, x, 1, y1) != SWANN_OK) fail("session_run on a loaded model", SWANN_OK);
            if (load_status == SWANN_OK && swann_load_buffer(data, size, 1, NULL, 0, &net) == SWANN_OK) {
                if (swann_forward(net, x, 1, y2) != SWANN_OK) fail("forward on a loaded net", SWANN_OK);
                if (memcmp(y1, y2, out * sizeof(float)) != 0) fail("session_run differs from swann_forward", SWANN_OK);
                swann_destroy(net);
            }
            if (swann_model_destroy(model) != SWANN_E_STATE) fail("model_destroy with a live session", SWANN_OK);
            swann_session_destroy(ss);
        }
        size_t need = 0;
        if (swann_model_save_buffer(model, NULL, 0, &need) == SWANN_E_ARG && need > 0) {
            uint8_t *b = malloc(need);
            swann_model *back = NULL;
            if (b && swann_model_save_buffer(model, b, need, &need) == SWANN_OK) {
                swann_status sb = swann_model_from_buffer(b, need, NULL, 0, &back);
                if (sb != SWANN_OK && sb != SWANN_E_NOMEM) fail("a model's bytes do not load back", sb);
                swann_model_destroy(back);
            }
            free(b);
        }
        if (swann_model_destroy(model) != SWANN_OK) fail("model_destroy", SWANN_OK);
        free(x);
        free(y1);
        free(y2);
    }
    /* in place: a 64-aligned copy of the bytes and a host block */
    size_t mem_bytes = 0;
    swann_status sm = swann_model_mem_size(data, size, &mem_bytes);
    /* mem_size reads the structure only, not the values */
    if (s == SWANN_OK && sm != SWANN_OK && sm != SWANN_E_NOMEM) fail("model_mem_size refused what from_buffer took", sm);
    if (sm == SWANN_OK && s != SWANN_OK && s != SWANN_E_FORMAT && s != SWANN_E_NOMEM)
        fail("model_mem_size took what from_buffer refused", s);
    if (sm != SWANN_OK) return;
    void *copy = NULL, *mem = NULL;
    if (posix_memalign(&copy, 64, size) != 0 || posix_memalign(&mem, 64, mem_bytes) != 0) {
        free(copy);
        return;
    }
    memcpy(copy, data, size);
    model = NULL;
    swann_status sp = swann_model_from_buffer(copy, size, mem, mem_bytes, &model);
    if (sp != SWANN_OK && sp != SWANN_E_ARG && sp != SWANN_E_FORMAT && sp != SWANN_E_NOMEM)
        fail("model_from_buffer in place status", sp);
    if (sp == SWANN_OK && s != SWANN_OK && s != SWANN_E_NOMEM) fail("in place took what the copy refused", s);
    if (sp == SWANN_OK && swann_model_destroy(model) != SWANN_OK) fail("model_destroy (in place)", sp);
    free(mem);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path_in[0]) {
        const char *dir = getenv("CKPT_FUZZ_DIR");
        if (!dir || !dir[0]) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        snprintf(path_in, sizeof path_in, "%s/swann-fuzz-%d.safetensors", dir, (int)getpid());
        snprintf(path_out, sizeof path_out, "%s/swann-fuzz-%d-out.safetensors", dir, (int)getpid());
    }
    write_all(path_in, data, size);

    size_t bytes = 0;
    swann_status s1 = swann_load_size(path_in, MB, &bytes);
    if (s1 != SWANN_OK && s1 != SWANN_E_FORMAT && s1 != SWANN_E_NOMEM) fail("load_size status", s1);
    if (s1 == SWANN_OK && bytes == 0) fail("load_size gave 0 bytes", s1);

    swann_net *net = (swann_net *)0x1;
    swann_status s2 = swann_load(path_in, MB, NULL, 0, &net);
    if (s2 != SWANN_OK && s2 != SWANN_E_FORMAT && s2 != SWANN_E_NOMEM) fail("load status", s2);
    if (s2 != SWANN_OK) {
        if (net != NULL) fail("failed load left *out set", s2);
        const char *e = swann_last_error();
        if (!e || !e[0]) fail("failed load without a message", s2);
        /* structure refused by load_size is refused by load */
    } else {
        if (s1 != SWANN_OK) fail("load accepted what load_size refused", s1);
        exercise(net, bytes);
        swann_destroy(net);
    }
    if (s1 == SWANN_E_FORMAT && s2 == SWANN_OK) fail("load_size refused what load accepted", s1);

    /* The same bytes from memory: the same loader, so the same statuses
     * (0 bytes is a bad argument there). */
    swann_status want1 = size == 0 ? SWANN_E_ARG : s1, want2 = size == 0 ? SWANN_E_ARG : s2;
    size_t bbytes = 0;
    swann_status s3 = swann_load_buffer_size(data, size, MB, &bbytes);
    if (s3 != want1 && s3 != SWANN_E_NOMEM && s1 != SWANN_E_NOMEM) fail("load_buffer_size differs from load_size", s3);
    if (s3 == SWANN_OK && bbytes != bytes) fail("load_buffer_size gave another size", s3);
    net = (swann_net *)0x1;
    swann_status s4 = swann_load_buffer(data, size, MB, NULL, 0, &net);
    if (s4 != want2 && s4 != SWANN_E_NOMEM && s2 != SWANN_E_NOMEM) fail("load_buffer differs from load", s4);
    if (s4 != SWANN_OK && net != NULL) fail("failed load_buffer left *out set", s4);
    if (s4 == SWANN_OK) swann_destroy(net);
    fuzz_model(data, size, s2);
    return 0;
}
