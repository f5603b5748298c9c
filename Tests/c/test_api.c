/*
 * test_api.c -- every entry point of swann.h, its documented behaviour and
 * its bad inputs (contract: include/swann.h; the design it was written from,
 * c-api.md, is kept outside this repository, in ../shared/design).
 */
#include "check.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

/* 3 -> 5 (tanh) -> 2 (identity), mse: 5*3+5 + 2*5+2 = 32 parameters */
static const char *SPEC =
    "{\"input\": 3, \"layers\": [{\"units\": 5, \"activation\": \"tanh\"},"
    " {\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"mse\","
    " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1}, \"seed\": 7}";
#define IN 3
#define OUT 2
#define NPARAM 32
#define MAXB 8

static const char *SPEC_NONE =
    "{\"input\": 3, \"layers\": [{\"units\": 5, \"activation\": \"tanh\"},"
    " {\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"none\", \"seed\": 7}";

static float X[MAXB * IN], T[MAXB * OUT];

static void fill_data(void)
{
    uint64_t s = 12345;
    for (int i = 0; i < MAXB * IN; i++) X[i] = (float)rng_uniform(&s, -1, 1);
    for (int i = 0; i < MAXB * OUT; i++) T[i] = (float)rng_uniform(&s, -1, 1);
}

static swann_net *make_net(const char *spec)
{
    swann_net *n = NULL;
    swann_status st = swann_create(spec, MAXB, NULL, 0, &n);
    if (st != SWANN_OK || !n) {
        CHECKF(0, "create helper net", "status %s, last_error %s", check_name_(st),
               check_last_error_());
        return NULL;
    }
    return n;
}

/* A full valid forward/backward/step; used after failing calls to show the net
 * still works. */
static void check_net_works(swann_net *net, const char *after)
{
    char what[256];
    snprintf(what, sizeof what, "net still works (forward/backward/step OK) after %s", after);
    if (!net) {
        CHECKF(0, what, "no net");
        return;
    }
    float y[MAXB * OUT], loss = NAN;
    swann_status a = swann_forward(net, X, 4, y);
    swann_status b = a == SWANN_OK ? swann_backward(net, T, &loss, NULL) : a;
    swann_status c = b == SWANN_OK ? swann_step(net) : b;
    CHECKF(a == SWANN_OK && b == SWANN_OK && c == SWANN_OK && isfinite(loss), what,
           "forward %s backward %s step %s loss %g; last_error %s", check_name_(a),
           check_name_(b), check_name_(c), (double)loss, check_last_error_());
}

/* After a failing call: last_error is a non-empty single line. */
static void check_err_msg(const char *what)
{
    const char *e = swann_last_error();
    char w[256];
    snprintf(w, sizeof w, "last_error is a non-empty single line after %s", what);
    CHECKF(e && e[0] && !strchr(e, '\n'), w, "last_error = \"%s\"", e ? e : "(NULL)");
}

/* ------------------------------------------------------------------------- */

static void group_info(void)
{
    const char *v = swann_version();
    int ok = v != NULL;
    if (ok) {
        /* MAJOR.MINOR.PATCH, digits only */
        const char *p = v;
        for (int part = 0; part < 3 && ok; part++) {
            if (!isdigit((unsigned char)*p)) ok = 0;
            while (isdigit((unsigned char)*p)) p++;
            if (part < 2) {
                if (*p == '.') p++;
                else ok = 0;
            }
        }
        if (*p) ok = 0;
    }
    CHECKF(ok, "swann_version is \"MAJOR.MINOR.PATCH\"", "got \"%s\"", v ? v : "(NULL)");
    CHECK(swann_version() == v || (v && strcmp(swann_version(), v) == 0),
          "swann_version is stable across calls");
    CHECKF(v && strcmp(v, SWANN_VERSION) == 0, "swann_version equals the header's SWANN_VERSION",
           "library \"%s\", header \"%s\"", v ? v : "(NULL)", SWANN_VERSION);
    CHECKF(swann_version_number() == SWANN_VERSION_NUMBER,
           "swann_version_number equals the header's SWANN_VERSION_NUMBER", "library %d, header %d",
           swann_version_number(), SWANN_VERSION_NUMBER);
    {
        char text[32];
        snprintf(text, sizeof text, "%d.%d.%d", SWANN_VERSION_MAJOR, SWANN_VERSION_MINOR, SWANN_VERSION_PATCH);
        CHECKF(strcmp(text, SWANN_VERSION) == 0, "SWANN_VERSION_MAJOR/MINOR/PATCH spell SWANN_VERSION",
               "%s vs %s", text, SWANN_VERSION);
    }

    static const char *names[] = {"SWANN_OK", "SWANN_E_ARG", "SWANN_E_SPEC",
                                  "SWANN_E_SHAPE", "SWANN_E_STATE", "SWANN_E_ARENA",
                                  "SWANN_E_NOMEM", "SWANN_E_IO", "SWANN_E_FORMAT",
                                  "SWANN_E_NUMERIC"};
    CHECK(SWANN_OK == 0 && SWANN_E_ARG == 1 && SWANN_E_SPEC == 2 && SWANN_E_SHAPE == 3 &&
              SWANN_E_STATE == 4 && SWANN_E_ARENA == 5 && SWANN_E_NOMEM == 6 &&
              SWANN_E_IO == 7 && SWANN_E_FORMAT == 8 && SWANN_E_NUMERIC == 9,
          "status enum values match the contract table");
    CHECK(SWANN_ARENA_ALIGNMENT == 64, "SWANN_ARENA_ALIGNMENT is 64");
    for (int i = 0; i < 10; i++) {
        const char *n = swann_status_name((swann_status)i);
        char what[96];
        snprintf(what, sizeof what, "swann_status_name(%d) is \"%s\"", i, names[i]);
        CHECKF(n && strcmp(n, names[i]) == 0, what, "got \"%s\"", n ? n : "(NULL)");
    }
    int bad[] = {10, 11, 100, -1, 0x7fffffff, -2147483647 - 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *n = swann_status_name((swann_status)bad[i]);
        char what[96];
        snprintf(what, sizeof what, "swann_status_name(%d) is \"SWANN_E_UNKNOWN\"", bad[i]);
        CHECKF(n && strcmp(n, "SWANN_E_UNKNOWN") == 0, what, "got \"%s\"", n ? n : "(NULL)");
    }
}

/* ---- last_error: per thread, errno-like ------------------------------------ */

struct thr_res {
    char initial[512];
    int initial_null;
    swann_status st;
    char after[512];
};

static void *thr_fn(void *arg)
{
    struct thr_res *r = arg;
    const char *e = swann_last_error();
    r->initial_null = e == NULL;
    snprintf(r->initial, sizeof r->initial, "%s", e ? e : "");
    r->st = swann_forward(NULL, X, 1, NULL);
    e = swann_last_error();
    snprintf(r->after, sizeof r->after, "%s", e ? e : "");
    return NULL;
}

static void group_last_error(void)
{
    char first[1024], second[1024];
    swann_net *net = make_net(SPEC);
    if (!net) return;

    CHECK_ST(swann_forward(NULL, X, 1, NULL), SWANN_E_ARG, "forward(NULL net) is SWANN_E_ARG");
    check_err_msg("forward(NULL net)");
    snprintf(first, sizeof first, "%s", check_last_error_());

    /* successful calls leave the message as it was */
    size_t bytes = 0;
    float y[MAXB * OUT], loss;
    int unchanged = 1;
    char bad_after[64] = "";
#define KEEP(call, label)                                                       \
    do {                                                                        \
        swann_status s_ = (call);                                               \
        if (s_ != SWANN_OK || strcmp(check_last_error_(), first) != 0) {        \
            if (unchanged) snprintf(bad_after, sizeof bad_after, "%s (%s)", label, \
                                    check_name_(s_));                           \
            unchanged = 0;                                                      \
        }                                                                       \
    } while (0)
    KEEP(swann_arena_size(SPEC, 4, &bytes), "arena_size");
    KEEP(swann_forward(net, X, 2, y), "forward");
    KEEP(swann_backward(net, T, &loss, NULL), "backward");
    KEEP(swann_step(net), "step");
    KEEP(swann_zero_grad(net), "zero_grad");
    (void)swann_version();
    (void)swann_status_name(SWANN_E_ARG);
    (void)swann_input_size(net);
#undef KEEP
    CHECKF(unchanged, "successful calls leave swann_last_error unchanged (errno-like)",
           "changed or failed at %s; now \"%s\", was \"%s\"", bad_after, check_last_error_(),
           first);

    /* a different failure gives a different message naming what was wrong */
    CHECK_ST(swann_forward(net, X, 300, NULL), SWANN_E_SHAPE,
             "forward with batch 300 > max_batch 8 is SWANN_E_SHAPE");
    snprintf(second, sizeof second, "%s", check_last_error_());
    CHECKF(strcmp(first, second) != 0, "a different failure replaces the last_error message",
           "both \"%s\"", first);
    CHECKF(strstr(second, "300") != NULL,
           "batch-too-large message names the batch (contract example: "
           "'forward: batch 300 exceeds max_batch 128')",
           "got \"%s\"", second);

    /* per thread: a new thread starts with "", and its failure does not
     * change this thread's message */
    struct thr_res r;
    memset(&r, 0, sizeof r);
    pthread_t th;
    if (pthread_create(&th, NULL, thr_fn, &r) == 0) {
        pthread_join(th, NULL);
        CHECKF(!r.initial_null && r.initial[0] == 0,
               "swann_last_error is \"\" in a new thread that has not failed",
               "got \"%s\"%s", r.initial, r.initial_null ? " (NULL)" : "");
        CHECK_ST(r.st, SWANN_E_ARG, "forward(NULL) in another thread is SWANN_E_ARG");
        CHECKF(r.after[0] != 0, "the other thread sees its own failure message", "empty");
        CHECKF(strcmp(check_last_error_(), second) == 0,
               "another thread's failure leaves this thread's last_error unchanged",
               "now \"%s\", was \"%s\"", check_last_error_(), second);
    } else {
        CHECK(0, "pthread_create");
    }
    check_net_works(net, "last_error tests");
    swann_destroy(net);
}

/* ---- arena_size ------------------------------------------------------------ */

static void group_arena_size(void)
{
    size_t b = 0, b1 = 0, b8 = 0, b64 = 0;
    CHECK_ST(swann_arena_size(NULL, 4, &b), SWANN_E_ARG, "arena_size(NULL spec) is SWANN_E_ARG");
    check_err_msg("arena_size(NULL spec)");
    CHECK_ST(swann_arena_size(SPEC, 4, NULL), SWANN_E_ARG, "arena_size(bytes NULL) is SWANN_E_ARG");
    CHECK_ST(swann_arena_size("{", 4, &b), SWANN_E_SPEC, "arena_size(invalid JSON) is SWANN_E_SPEC");
    CHECK_ST(swann_arena_size("", 4, &b), SWANN_E_SPEC, "arena_size(\"\") is SWANN_E_SPEC");
    CHECK_ST2(swann_arena_size(SPEC, 0, &b), SWANN_E_ARG, SWANN_E_SHAPE,
              "arena_size(max_batch 0) is refused");
    CHECK_ST2(swann_arena_size(SPEC, SIZE_MAX, &b), SWANN_E_ARG, SWANN_E_SHAPE,
              "arena_size(max_batch SIZE_MAX) is refused (size overflows)");
    CHECK_ST2(swann_arena_size(SPEC, SIZE_MAX / 2, &b), SWANN_E_ARG, SWANN_E_SHAPE,
              "arena_size(max_batch SIZE_MAX/2) is refused (size overflows)");
    CHECK_ST2(swann_arena_size(SPEC, SIZE_MAX / 16, &b), SWANN_E_ARG, SWANN_E_SHAPE,
              "arena_size(max_batch SIZE_MAX/16) is refused (size overflows)");

    CHECK_ST(swann_arena_size(SPEC, 1, &b1), SWANN_OK, "arena_size(max_batch 1) OK");
    CHECK_ST(swann_arena_size(SPEC, 8, &b8), SWANN_OK, "arena_size(max_batch 8) OK");
    CHECK_ST(swann_arena_size(SPEC, 64, &b64), SWANN_OK, "arena_size(max_batch 64) OK");
    CHECKF(b1 >= 2 * NPARAM * sizeof(float),
           "arena_size holds at least parameters and gradients", "bytes %zu", b1);
    CHECKF(b1 < b8 && b8 < b64, "arena_size grows with max_batch",
           "mb1 %zu mb8 %zu mb64 %zu", b1, b8, b64);
    /* a batch row needs at least input + output floats of activations */
    CHECKF(b64 - b8 >= 56 * (IN + OUT) * sizeof(float),
           "arena_size grows by at least the activations of the extra rows",
           "mb8 %zu mb64 %zu", b8, b64);
    size_t again = 0;
    swann_arena_size(SPEC, 8, &again);
    CHECK(again == b8, "arena_size is deterministic");
}

/* ---- create / destroy ------------------------------------------------------ */

static void group_create(void)
{
    swann_net *sentinel = (swann_net *)(uintptr_t)0x1;
    swann_net *out;
    size_t need = 0;
    swann_arena_size(SPEC, MAXB, &need);

    out = sentinel;
    CHECK_ST(swann_create(NULL, MAXB, NULL, 0, &out), SWANN_E_ARG, "create(NULL spec) is SWANN_E_ARG");
    CHECK(out == NULL, "create(NULL spec) sets *out = NULL");
    check_err_msg("create(NULL spec)");
    CHECK_ST(swann_create(SPEC, MAXB, NULL, 0, NULL), SWANN_E_ARG, "create(out NULL) is SWANN_E_ARG");
    out = sentinel;
    CHECK_ST(swann_create(SPEC, MAXB, NULL, 4096, &out), SWANN_E_ARG,
             "create(arena NULL, arena_bytes 4096) is SWANN_E_ARG (must be 0)");
    CHECK(out == NULL, "... and sets *out = NULL");
    if (out != sentinel) swann_destroy(out);
    out = sentinel;
    CHECK_ST(swann_create(SPEC, MAXB, NULL, SIZE_MAX, &out), SWANN_E_ARG,
             "create(arena NULL, arena_bytes SIZE_MAX) is SWANN_E_ARG");
    CHECK(out == NULL, "... and sets *out = NULL");
    if (out != sentinel) swann_destroy(out);
    out = sentinel;
    CHECK_ST(swann_create("{\"input\": 3}", MAXB, NULL, 0, &out), SWANN_E_SPEC,
             "create(incomplete spec) is SWANN_E_SPEC");
    CHECK(out == NULL, "... and sets *out = NULL");
    out = sentinel;
    CHECK_ST2(swann_create(SPEC, 0, NULL, 0, &out), SWANN_E_ARG, SWANN_E_SHAPE,
              "create(max_batch 0) is refused");
    CHECK(out == NULL, "... and sets *out = NULL");
    out = sentinel;
    CHECK_STM(swann_create(SPEC, SIZE_MAX, NULL, 0, &out), SM(SWANN_E_ARG) | SM(SWANN_E_SHAPE) | SM(SWANN_E_NOMEM),
              "create(max_batch SIZE_MAX) is refused");
    CHECK(out == NULL, "... and sets *out = NULL");
    out = sentinel;
    CHECK_STM(swann_create(SPEC, SIZE_MAX / 16, NULL, 0, &out),
              SM(SWANN_E_ARG) | SM(SWANN_E_SHAPE) | SM(SWANN_E_NOMEM),
              "create(max_batch SIZE_MAX/16) is refused");
    CHECK(out == NULL, "... and sets *out = NULL");
    /* 2^40 rows: no size_t overflow, but no machine can hold it */
    out = sentinel;
    CHECK_STM(swann_create(SPEC, (size_t)1 << 40, NULL, 0, &out),
              SM(SWANN_E_ARG) | SM(SWANN_E_SHAPE) | SM(SWANN_E_NOMEM),
              "create(max_batch 2^40, library arena) is refused (cannot allocate)");
    CHECK(out == NULL, "... and sets *out = NULL");
    swann_destroy(out == sentinel ? NULL : out);

    /* host arena: alignment and size */
    size_t cap = need + 8192;
    unsigned char *blk = test_aligned_block(cap);
    if (!blk) {
        CHECK(0, "mmap arena");
        return;
    }
    CHECK(((uintptr_t)blk % 64) == 0, "test arena is 64-byte aligned (mmap)");
    static const size_t mis[] = {1, 4, 8, 16, 32, 48};
    for (size_t i = 0; i < sizeof mis / sizeof mis[0]; i++) {
        char what[128];
        out = sentinel;
        snprintf(what, sizeof what, "create(arena misaligned by %zu) is SWANN_E_ARENA", mis[i]);
        CHECK_ST(swann_create(SPEC, MAXB, blk + mis[i], need + 64, &out), SWANN_E_ARENA, what);
        CHECK(out == NULL, "... and sets *out = NULL");
    }
    check_err_msg("create(misaligned arena)");
    size_t small[] = {0, 1, 64, need / 2, need - 64, need - 1};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        char what[128];
        out = sentinel;
        snprintf(what, sizeof what, "create(arena of %zu < %zu bytes) is SWANN_E_ARENA", small[i], need);
        CHECK_ST(swann_create(SPEC, MAXB, blk, small[i], &out), SWANN_E_ARENA, what);
        CHECK(out == NULL, "... and sets *out = NULL");
    }
    /* arena sized for max_batch 8 is too small for max_batch 64 */
    out = sentinel;
    CHECK_ST(swann_create(SPEC, 64, blk, need, &out), SWANN_E_ARENA,
             "create(max_batch 64 with an arena sized for 8) is SWANN_E_ARENA");
    CHECK(out == NULL, "... and sets *out = NULL");

    /* exact size works and touches nothing outside [blk, blk+need) */
    memset(blk, 0xFF, cap); /* garbage (NaN floats) in the arena before create */
    swann_net *h = NULL;
    CHECK_ST(swann_create(SPEC, MAXB, blk, need, &h), SWANN_OK,
             "create(arena of exactly arena_size bytes, 64-aligned) OK");
    swann_net *l = make_net(SPEC);
    if (h && l) {
        float *ph = NULL, *pl = NULL, *gh = NULL;
        size_t nh = 0, nl = 0, ng = 0;
        swann_params(h, &ph, &nh);
        swann_params(l, &pl, &nl);
        swann_grads(h, &gh, &ng);
        CHECK(ph && (unsigned char *)ph >= blk &&
                  (unsigned char *)(ph + nh) <= blk + need,
              "params view lies inside the host arena");
        CHECK(gh && (unsigned char *)gh >= blk &&
                  (unsigned char *)(gh + ng) <= blk + need,
              "grads view lies inside the host arena");
        CHECK(nh == nl && nh == NPARAM && ph && pl && memcmp(ph, pl, nh * sizeof(float)) == 0,
              "host arena (filled with garbage) and library arena give bit-identical params");
        int zero = gh != NULL && ng == NPARAM;
        for (size_t i = 0; zero && i < ng; i++)
            if (gh[i] != 0.0f) zero = 0;
        CHECK(zero, "grads start at zero in a garbage-filled host arena");
        /* same training on both gives the same result */
        float yh[MAXB * OUT], yl[MAXB * OUT], lh = 0, ll = 0;
        for (int it = 0; it < 3; it++) {
            swann_forward(h, X, MAXB, yh);
            swann_backward(h, T, &lh, NULL);
            swann_step(h);
            swann_forward(l, X, MAXB, yl);
            swann_backward(l, T, &ll, NULL);
            swann_step(l);
        }
        CHECK(memcmp(yh, yl, sizeof yh) == 0 && lh == ll &&
                  memcmp(ph, pl, nh * sizeof(float)) == 0,
              "host arena and library arena train identically");
        int canary = 1;
        for (size_t i = need; i < cap; i++)
            if (blk[i] != 0xFF) {
                canary = 0;
                break;
            }
        CHECK(canary, "nothing written past arena_size bytes of the host arena");
        check_net_works(h, "create errors (host arena)");
    }
    swann_destroy(h);
    swann_destroy(l);

    /* arena bigger than needed is fine */
    h = NULL;
    CHECK_ST(swann_create(SPEC, MAXB, blk, cap, &h), SWANN_OK,
             "create(arena larger than arena_size) OK");
    swann_destroy(h);

    /* a host arena_bytes of SIZE_MAX cannot be real; refuse, or use only what is needed */
    memset(blk, 0xA5, cap);
    h = NULL;
    swann_status st = swann_create(SPEC, MAXB, blk, SIZE_MAX, &h);
    CHECK_STM(st, SM(SWANN_OK) | SM(SWANN_E_ARG) | SM(SWANN_E_ARENA),
              "create(arena_bytes SIZE_MAX) refused or accepted without harm");
    if (st == SWANN_OK && h) {
        check_net_works(h, "create(arena_bytes SIZE_MAX)");
        int canary = 1;
        for (size_t i = need; i < cap; i++)
            if (blk[i] != 0xA5) canary = 0;
        CHECK(canary, "arena_bytes SIZE_MAX: nothing written past arena_size bytes");
    } else {
        CHECK(h == NULL, "... and sets *out = NULL");
    }
    swann_destroy(h);
    test_free_block(blk, cap);

    swann_destroy(NULL);
    CHECK(1, "swann_destroy(NULL) is a no-op (did not crash)");

    /* two nets are independent */
    swann_net *a = make_net(SPEC), *b = make_net(SPEC);
    if (a && b) {
        float *pa, *pb;
        size_t na, nb;
        swann_params(a, &pa, &na);
        swann_params(b, &pb, &nb);
        CHECK(pa != pb, "two nets have distinct parameter buffers");
        float before[NPARAM];
        memcpy(before, pb, sizeof before);
        for (int i = 0; i < 5; i++) check_net_works(a, "training a sibling net");
        CHECK(memcmp(before, pb, sizeof before) == 0,
              "training one net leaves another net's parameters untouched");
        CHECK(memcmp(pa, pb, sizeof before) != 0, "the trained net's parameters changed");
    }
    swann_destroy(a);
    swann_destroy(b);
}

/* ---- getters and spec_json ------------------------------------------------- */

static int contains_key(const char *json, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\"", key);
    return strstr(json, k) != NULL;
}

static void group_getters(void)
{
    CHECK(swann_input_size(NULL) == 0, "input_size(NULL) is 0");
    CHECK(swann_output_size(NULL) == 0, "output_size(NULL) is 0");
    CHECK(swann_param_count(NULL) == 0, "param_count(NULL) is 0");
    CHECK(swann_max_batch(NULL) == 0, "max_batch(NULL) is 0");
    swann_net *net = make_net(SPEC);
    if (!net) return;
    CHECKF(swann_input_size(net) == IN, "input_size is the spec's input", "%zu", swann_input_size(net));
    CHECKF(swann_output_size(net) == OUT, "output_size is the last layer's units", "%zu",
           swann_output_size(net));
    CHECKF(swann_param_count(net) == NPARAM, "param_count = sum(out*in + out)", "%zu",
           swann_param_count(net));
    CHECKF(swann_max_batch(net) == MAXB, "max_batch is create's max_batch", "%zu", swann_max_batch(net));

    /* spec_json */
    size_t needed = 0;
    char buf[8192];
    CHECK_ST(swann_spec_json(NULL, buf, sizeof buf, &needed), SWANN_E_ARG, "spec_json(NULL net) is SWANN_E_ARG");
    CHECK_ST(swann_spec_json(net, NULL, 0, NULL), SWANN_E_ARG, "spec_json(needed NULL, buf NULL) is SWANN_E_ARG");
    CHECK_ST(swann_spec_json(net, NULL, 100, &needed), SWANN_E_ARG,
             "spec_json(buf NULL with cap 100) is SWANN_E_ARG");
    needed = 0;
    swann_status st = swann_spec_json(net, NULL, 0, &needed);
    CHECK_ST2(st, SWANN_E_ARG, SWANN_OK, "spec_json(buf NULL, cap 0) answers the size query");
    CHECKF(needed > 2 && needed < sizeof buf, "spec_json(buf NULL, cap 0) sets *needed", "%zu", needed);

    size_t n2 = 0;
    memset(buf, 'Z', sizeof buf);
    CHECK_ST(swann_spec_json(net, buf, needed - 1, &n2), SWANN_E_ARG,
             "spec_json(cap = needed-1) is SWANN_E_ARG");
    int untouched = 1;
    for (size_t i = 0; i < sizeof buf; i++)
        if (buf[i] != 'Z') untouched = 0;
    CHECK(untouched, "spec_json(cap = needed-1) writes nothing");
    CHECKF(n2 == needed, "spec_json(cap = needed-1) still sets *needed", "%zu vs %zu", n2, needed);
    CHECK_ST(swann_spec_json(net, buf, 1, &n2), SWANN_E_ARG, "spec_json(cap 1) is SWANN_E_ARG");
    CHECK(buf[0] == 'Z', "spec_json(cap 1) writes nothing (not even the NUL)");

    n2 = 0;
    CHECK_ST(swann_spec_json(net, buf, needed, &n2), SWANN_OK, "spec_json(cap = needed) OK");
    CHECKF(n2 == needed && strlen(buf) + 1 == needed,
           "*needed is strlen + 1 of what is written", "needed %zu strlen %zu", n2, strlen(buf));
    CHECK(buf[needed] == 'Z', "spec_json writes exactly needed bytes");
    CHECK(buf[0] == '{' && buf[strlen(buf) - 1] == '}', "spec_json is a JSON object");
    CHECKF(contains_key(buf, "input") && contains_key(buf, "layers") && contains_key(buf, "loss") &&
               contains_key(buf, "optimizer") && contains_key(buf, "seed") &&
               contains_key(buf, "units") && contains_key(buf, "activation") &&
               contains_key(buf, "lr") && contains_key(buf, "type"),
           "canonical spec has every key, defaults filled in (optimizer, lr, seed)", "%s", buf);
    {
        /* alpha defaults (leaky_relu 0.01, elu 1.0) are filled in */
        swann_net *a = make_net("{\"input\": 2, \"layers\": [{\"units\": 3, \"activation\": \"leaky_relu\"},"
                                " {\"units\": 2, \"activation\": \"elu\"}], \"loss\": \"mse\"}");
        char ab[4096];
        size_t an = 0;
        if (a && swann_spec_json(a, ab, sizeof ab, &an) == SWANN_OK) {
            const char *p1 = strstr(ab, "\"alpha\"");
            const char *p2 = p1 ? strstr(p1 + 1, "\"alpha\"") : NULL;
            CHECKF(p1 && p2, "canonical spec fills in alpha for leaky_relu and elu layers", "%s", ab);
            /* and the filled-in spec gives the same net */
            swann_net *b = NULL;
            if (swann_create(ab, 4, NULL, 0, &b) == SWANN_OK) {
                float *pa, *pb;
                size_t ca, cb;
                swann_params(a, &pa, &ca);
                swann_params(b, &pb, &cb);
                float x[2] = {-1.5f, 0.5f}, ya[2], yb[2];
                swann_forward(a, x, 1, ya);
                swann_forward(b, x, 1, yb);
                CHECK(ca == cb && memcmp(pa, pb, ca * sizeof(float)) == 0 && memcmp(ya, yb, sizeof ya) == 0,
                      "net from the filled-in spec has the same params and outputs");
            } else {
                CHECKF(0, "create(filled-in spec) OK", "%s", check_last_error_());
            }
            swann_destroy(b);
        }
        swann_destroy(a);
    }

    char big[8192];
    CHECK_ST(swann_spec_json(net, big, sizeof big, &n2), SWANN_OK, "spec_json(cap > needed) OK");
    CHECK(strcmp(big, buf) == 0, "spec_json is the same for any sufficient cap");

    /* the canonical spec round-trips: same sizes, same params, same canonical text */
    swann_net *r = NULL;
    CHECK_ST(swann_create(buf, MAXB, NULL, 0, &r), SWANN_OK, "create(canonical spec_json) OK");
    if (r) {
        float *p1, *p2;
        size_t c1, c2;
        swann_params(net, &p1, &c1);
        swann_params(r, &p2, &c2);
        CHECK(c1 == c2 && memcmp(p1, p2, c1 * sizeof(float)) == 0,
              "net from canonical spec has bit-identical params (same seed and init)");
        char buf2[8192];
        size_t n3 = 0;
        swann_spec_json(r, buf2, sizeof buf2, &n3);
        CHECKF(strcmp(buf, buf2) == 0, "canonical spec is a fixed point", "%s\nvs\n%s", buf, buf2);
        swann_destroy(r);
    }
    check_net_works(net, "getter/spec_json errors");
    swann_destroy(net);
}

/* ---- forward ---------------------------------------------------------------- */

static void group_forward(void)
{
    swann_net *net = make_net(SPEC);
    if (!net) return;
    float y[MAXB * OUT], x[MAXB * IN];

    CHECK_ST(swann_forward(NULL, X, 1, y), SWANN_E_ARG, "forward(NULL net) is SWANN_E_ARG");
    CHECK_ST(swann_forward(net, NULL, 1, y), SWANN_E_ARG, "forward(NULL x) is SWANN_E_ARG");
    check_err_msg("forward(NULL x)");
    CHECK_ST(swann_forward(net, X, 0, y), SWANN_E_SHAPE, "forward(batch 0) is SWANN_E_SHAPE");
    check_err_msg("forward(batch 0)");
    CHECK_ST(swann_forward(net, X, MAXB + 1, y), SWANN_E_SHAPE,
             "forward(batch max_batch+1) is SWANN_E_SHAPE");
    CHECK_ST(swann_forward(net, X, SIZE_MAX, y), SWANN_E_SHAPE, "forward(batch SIZE_MAX) is SWANN_E_SHAPE");
    CHECK_ST(swann_forward(net, X, SIZE_MAX / 4 + 1, y), SWANN_E_SHAPE,
             "forward(batch SIZE_MAX/4+1) is SWANN_E_SHAPE");

    /* nothing was accepted yet: backward has no rows */
    CHECK_ST(swann_backward(net, T, NULL, NULL), SWANN_E_STATE,
             "backward after only failed forwards is SWANN_E_STATE");

    /* non-finite input */
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const char *bn[] = {"NaN", "+Inf", "-Inf"};
    for (int k = 0; k < 3; k++) {
        for (int pos = 0; pos < 2; pos++) {
            memcpy(x, X, sizeof x);
            size_t at = pos == 0 ? 0 : 4 * IN - 1; /* first element / last of 4 rows */
            x[at] = bad[k];
            char what[128];
            snprintf(what, sizeof what, "forward with %s at input element %zu is SWANN_E_NUMERIC", bn[k], at);
            CHECK_ST(swann_forward(net, x, 4, y), SWANN_E_NUMERIC, what);
        }
    }
    check_err_msg("forward(NaN input)");
    CHECK_ST(swann_backward(net, T, NULL, NULL), SWANN_E_STATE,
             "backward after only non-finite forwards is SWANN_E_STATE");
    /* a NaN beyond the batch is not read */
    memcpy(x, X, sizeof x);
    x[2 * IN] = NAN;
    CHECK_ST(swann_forward(net, x, 2, y), SWANN_OK, "forward ignores data past batch rows");

    for (size_t i = 0; i < sizeof y / sizeof y[0]; i++) y[i] = -12345.0f;
    CHECK_ST(swann_forward(net, X, 1, y), SWANN_OK, "forward(batch 1) OK");
    CHECK(isfinite(y[0]) && isfinite(y[1]) && y[2] == -12345.0f,
          "forward(batch 1) writes exactly output_size floats");
    CHECK_ST(swann_forward(net, X, MAXB, y), SWANN_OK, "forward(batch max_batch) OK");
    int fin = 1;
    for (size_t i = 0; i < MAXB * OUT; i++)
        if (!isfinite(y[i])) fin = 0;
    CHECK(fin, "forward output finite");
    CHECK_ST(swann_forward(net, X, 3, NULL), SWANN_OK, "forward(y NULL) OK");
    CHECK_ST(swann_backward(net, T, NULL, NULL), SWANN_OK, "backward after forward(y NULL) OK");
    /* forward is deterministic and row-independent */
    float y8[MAXB * OUT], y1[OUT];
    swann_forward(net, X, MAXB, y8);
    int same = 1;
    for (int r = 0; r < MAXB; r++) {
        swann_forward(net, X + r * IN, 1, y1);
        for (int j = 0; j < OUT; j++)
            if (!close_rel(y1[j], y8[r * OUT + j], 1e-6, 1e-7)) same = 0;
    }
    CHECK(same, "each row of a batch equals that row run alone");
    swann_zero_grad(net);
    check_net_works(net, "forward errors");
    swann_destroy(net);
}

/* ---- last_batch: the rows backward will use --------------------------------- */

static void group_last_batch(void)
{
    swann_net *net = make_net(SPEC);
    if (!net) return;
    size_t rows = 12345;
    float xnan[MAXB * IN];

    CHECK_ST(swann_last_batch(NULL, &rows), SWANN_E_ARG, "last_batch(NULL net) is SWANN_E_ARG");
    check_err_msg("last_batch(NULL net)");
    CHECK(rows == 12345, "last_batch(NULL net) does not write rows");
    CHECK_ST(swann_last_batch(net, NULL), SWANN_E_ARG, "last_batch(NULL rows) is SWANN_E_ARG");
    check_err_msg("last_batch(NULL rows)");
    CHECK_ST(swann_last_batch(net, &rows), SWANN_OK, "last_batch before any forward OK");
    CHECKF(rows == 0, "last_batch is 0 before any forward", "rows %zu", rows);

    CHECK_ST(swann_forward(net, X, 5, NULL), SWANN_OK, "forward(batch 5) OK");
    CHECK_ST(swann_last_batch(net, &rows), SWANN_OK, "last_batch after forward OK");
    CHECKF(rows == 5, "last_batch is 5 after forward(batch 5)", "rows %zu", rows);
    CHECK_ST(swann_backward(net, T, NULL, NULL), SWANN_OK, "backward OK");
    swann_last_batch(net, &rows);
    CHECKF(rows == 5, "backward leaves last_batch as it was", "rows %zu", rows);
    CHECK_ST(swann_step(net), SWANN_OK, "step OK");
    swann_last_batch(net, &rows);
    CHECKF(rows == 5, "step leaves last_batch as it was (backward may run again)", "rows %zu", rows);

    /* failed forwards keep the rows of the last successful one */
    memcpy(xnan, X, sizeof xnan);
    xnan[IN] = NAN;
    CHECK_ST(swann_forward(net, xnan, 2, NULL), SWANN_E_NUMERIC, "forward(NaN input) is SWANN_E_NUMERIC");
    swann_last_batch(net, &rows);
    CHECKF(rows == 5, "a forward refused for NaN input leaves last_batch 5", "rows %zu", rows);
    CHECK_ST(swann_forward(net, X, MAXB + 1, NULL), SWANN_E_SHAPE, "forward(max_batch+1) is SWANN_E_SHAPE");
    swann_last_batch(net, &rows);
    CHECKF(rows == 5, "a forward refused for its batch leaves last_batch 5", "rows %zu", rows);
    CHECK_ST(swann_forward(net, X, 0, NULL), SWANN_E_SHAPE, "forward(batch 0) is SWANN_E_SHAPE");
    swann_last_batch(net, &rows);
    CHECKF(rows == 5, "a forward of batch 0 leaves last_batch 5", "rows %zu", rows);

    CHECK_ST(swann_forward(net, X, 1, NULL), SWANN_OK, "forward(batch 1) OK");
    swann_last_batch(net, &rows);
    CHECKF(rows == 1, "last_batch follows the next forward (1)", "rows %zu", rows);
    CHECK_ST(swann_forward(net, X, MAXB, NULL), SWANN_OK, "forward(batch max_batch) OK");
    swann_last_batch(net, &rows);
    CHECKF(rows == MAXB, "last_batch is max_batch after forward(max_batch)", "rows %zu", rows);
    swann_zero_grad(net);
    swann_destroy(net);
}

/* ---- backward, backward_grad, step, zero_grad ------------------------------- */

static int params_equal(swann_net *net, const float *copy)
{
    float *p;
    size_t n;
    if (swann_params(net, &p, &n) != SWANN_OK) return 0;
    return memcmp(p, copy, n * sizeof(float)) == 0;
}

static void group_backward(void)
{
    swann_net *net = make_net(SPEC);
    if (!net) return;
    float loss = NAN, dx[MAXB * IN], tt[MAXB * OUT];
    float *p, *g;
    size_t np, ng;
    swann_params(net, &p, &np);
    swann_grads(net, &g, &ng);
    float p0[NPARAM];

    CHECK_ST(swann_backward(net, T, &loss, dx), SWANN_E_STATE, "backward before any forward is SWANN_E_STATE");
    check_err_msg("backward before forward");
    CHECK_ST(swann_backward_grad(net, T, dx), SWANN_E_STATE,
             "backward_grad before any forward is SWANN_E_STATE");
    CHECK_ST(swann_step(net), SWANN_E_STATE, "step with nothing accumulated is SWANN_E_STATE");
    check_err_msg("step with nothing accumulated");
    CHECK_ST(swann_step(NULL), SWANN_E_ARG, "step(NULL) is SWANN_E_ARG");
    CHECK_ST(swann_zero_grad(NULL), SWANN_E_ARG, "zero_grad(NULL) is SWANN_E_ARG");
    CHECK_ST(swann_zero_grad(net), SWANN_OK, "zero_grad with nothing accumulated OK");
    CHECK_ST(swann_backward(NULL, T, &loss, dx), SWANN_E_ARG, "backward(NULL net) is SWANN_E_ARG");
    CHECK_ST(swann_backward_grad(NULL, T, dx), SWANN_E_ARG, "backward_grad(NULL net) is SWANN_E_ARG");

    CHECK_ST(swann_forward(net, X, 4, NULL), SWANN_OK, "forward OK");
    CHECK_ST(swann_backward(net, NULL, &loss, dx), SWANN_E_ARG, "backward(NULL target) is SWANN_E_ARG");
    check_err_msg("backward(NULL target)");
    CHECK_ST(swann_backward_grad(net, NULL, dx), SWANN_E_ARG, "backward_grad(NULL dy) is SWANN_E_ARG");
    CHECK_ST(swann_step(net), SWANN_E_STATE,
             "after refused backward calls nothing is accumulated (step is SWANN_E_STATE)");

    CHECK_ST(swann_backward(net, T, NULL, NULL), SWANN_OK, "backward(loss NULL, dx NULL) OK");
    CHECK_ST(swann_backward(net, T, &loss, NULL), SWANN_OK, "backward again on the same rows OK");
    CHECK(isfinite(loss) && loss > 0, "backward reports a finite positive mse loss");
    memcpy(p0, p, sizeof p0);
    CHECK_ST(swann_step(net), SWANN_OK, "step after backward OK");
    CHECK(!params_equal(net, p0), "step changed the parameters");
    int zero = 1;
    for (size_t i = 0; i < ng; i++)
        if (g[i] != 0.0f) zero = 0;
    CHECK(zero, "step zeroes the gradients");
    CHECK_ST(swann_step(net), SWANN_E_STATE, "second step without backward is SWANN_E_STATE (T zeroed)");
    CHECK_ST(swann_backward(net, T, &loss, dx), SWANN_OK,
             "backward after a step (rows of the last forward still available) OK");
    CHECK_ST(swann_zero_grad(net), SWANN_OK, "zero_grad OK");
    zero = 1;
    for (size_t i = 0; i < ng; i++)
        if (g[i] != 0.0f) zero = 0;
    CHECK(zero, "zero_grad zeroes the gradients");
    CHECK_ST(swann_step(net), SWANN_E_STATE, "step after zero_grad is SWANN_E_STATE");

    /* non-finite target: refused at backward (nothing accumulated) or at step
     * (parameters unchanged); either way the update never happens */
    const float badv[] = {NAN, INFINITY};
    for (int k = 0; k < 2; k++) {
        const char *bn = k ? "Inf" : "NaN";
        char what[160];
        swann_zero_grad(net);
        swann_forward(net, X, 4, NULL);
        memcpy(tt, T, sizeof tt);
        tt[3] = badv[k];
        memcpy(p0, p, sizeof p0);
        float gcopy[NPARAM];
        memcpy(gcopy, g, sizeof gcopy);
        loss = 0;
        swann_status sb = swann_backward(net, tt, &loss, NULL);
        snprintf(what, sizeof what, "backward with a %s target: OK (non-finite loss) or SWANN_E_NUMERIC", bn);
        CHECK_ST2(sb, SWANN_OK, SWANN_E_NUMERIC, what);
        if (sb == SWANN_OK) {
            snprintf(what, sizeof what, "%s target: reported loss is not finite", bn);
            CHECKF(!isfinite(loss), what, "loss %g", (double)loss);
            snprintf(what, sizeof what, "%s target: step is SWANN_E_NUMERIC", bn);
            CHECK_ST(swann_step(net), SWANN_E_NUMERIC, what);
            check_err_msg("refused step");
            snprintf(what, sizeof what, "%s target: refused step leaves params unchanged", bn);
            CHECK(params_equal(net, p0), what);
            snprintf(what, sizeof what, "%s target: refused step keeps gradients and T (step refused again)", bn);
            CHECK_ST(swann_step(net), SWANN_E_NUMERIC, what);
        } else {
            snprintf(what, sizeof what, "%s target refused: gradients unchanged (all or nothing)", bn);
            CHECK(memcmp(gcopy, g, sizeof gcopy) == 0, what);
            snprintf(what, sizeof what, "%s target refused: nothing accumulated (step SWANN_E_STATE)", bn);
            CHECK_ST(swann_step(net), SWANN_E_STATE, what);
            CHECK(params_equal(net, p0), "params unchanged");
        }
        CHECK_ST(swann_zero_grad(net), SWANN_OK, "zero_grad discards the refused gradients");
        CHECK_ST(swann_step(net), SWANN_E_STATE, "... and step is then SWANN_E_STATE");
        check_net_works(net, "non-finite target");
    }

    /* the loss "none" net needs backward_grad */
    swann_net *nn = make_net(SPEC_NONE);
    if (nn) {
        swann_forward(nn, X, 4, NULL);
        CHECK_STM(swann_backward(nn, T, &loss, NULL), SM(SWANN_E_ARG) | SM(SWANN_E_STATE),
                  "backward on a loss \"none\" net is refused");
        check_err_msg("backward on loss none");
        CHECK_ST(swann_step(nn), SWANN_E_STATE, "... and accumulates nothing");
        CHECK_ST(swann_backward_grad(nn, T, dx), SWANN_OK, "backward_grad on a loss \"none\" net OK");
        CHECK_ST(swann_backward_grad(nn, T, NULL), SWANN_OK, "backward_grad(dx NULL) OK");
        CHECK_ST(swann_step(nn), SWANN_OK, "step after backward_grad OK");
        swann_destroy(nn);
    }
    check_net_works(net, "backward/step errors");
    swann_destroy(net);
}

/* ---- params / grads views -------------------------------------------------- */

static void group_views(void)
{
    swann_net *net = make_net(SPEC);
    if (!net) return;
    float *p = NULL, *g = NULL;
    size_t np = 0, ng = 0;
    CHECK_ST(swann_params(NULL, &p, &np), SWANN_E_ARG, "params(NULL net) is SWANN_E_ARG");
    CHECK_ST(swann_params(net, NULL, &np), SWANN_E_ARG, "params(data NULL) is SWANN_E_ARG");
    CHECK_ST(swann_params(net, &p, NULL), SWANN_E_ARG, "params(count NULL) is SWANN_E_ARG");
    CHECK_ST(swann_grads(NULL, &g, &ng), SWANN_E_ARG, "grads(NULL net) is SWANN_E_ARG");
    CHECK_ST(swann_grads(net, NULL, &ng), SWANN_E_ARG, "grads(data NULL) is SWANN_E_ARG");
    CHECK_ST(swann_grads(net, &g, NULL), SWANN_E_ARG, "grads(count NULL) is SWANN_E_ARG");
    CHECK_ST(swann_params(net, &p, &np), SWANN_OK, "params OK");
    CHECK_ST(swann_grads(net, &g, &ng), SWANN_OK, "grads OK");
    CHECK(p && np == NPARAM, "params count is param_count");
    CHECK(g && ng == NPARAM, "grads count is param_count");
    CHECK(p && g && (p + np <= g || g + ng <= p), "params and grads do not overlap");
    int zero = g != NULL;
    for (size_t i = 0; zero && i < ng; i++)
        if (g[i] != 0.0f) zero = 0;
    CHECK(zero, "grads start at zero");
    float *p2 = NULL;
    size_t n2 = 0;
    swann_params(net, &p2, &n2);
    CHECK(p2 == p, "params view is stable across calls");
    /* the view is live: writing it changes the output */
    float y0[OUT], y1[OUT];
    swann_forward(net, X, 1, y0);
    size_t bias_out = NPARAM - 1; /* last bias of the output layer */
    p[bias_out] += 1.0f;
    swann_forward(net, X, 1, y1);
    CHECKF(close_rel(y1[1], y0[1] + 1.0f, 1e-5, 1e-6) && y1[0] == y0[0],
           "writing the last bias through the view shifts the last output by exactly that",
           "y0 %g %g y1 %g %g", (double)y0[0], (double)y0[1], (double)y1[0], (double)y1[1]);
    p[bias_out] -= 1.0f;
    check_net_works(net, "view errors");
    swann_destroy(net);
}

/* ---- save / load ------------------------------------------------------------ */

static char tmpdir[256];

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t w = fwrite(data, 1, n, f);
    fclose(f);
    return w == n;
}

static long read_file(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return (long)n;
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void group_save_load(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/swann-test-api-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char path[512], path2[512], bad[512];
    snprintf(path, sizeof path, "%s/model.safetensors", tmpdir);
    snprintf(bad, sizeof bad, "%s/no/such/dir/model.safetensors", tmpdir);

    swann_net *net = make_net(SPEC);
    if (!net) return;
    check_net_works(net, "setup"); /* make params differ from a fresh init */

    CHECK_ST(swann_save(NULL, path), SWANN_E_ARG, "save(NULL net) is SWANN_E_ARG");
    CHECK_ST(swann_save(net, NULL), SWANN_E_ARG, "save(NULL path) is SWANN_E_ARG");
    CHECK_ST(swann_save(net, bad), SWANN_E_IO, "save into a missing folder is SWANN_E_IO");
    check_err_msg("save to a missing folder");
    CHECK_ST(swann_save(net, tmpdir), SWANN_E_IO, "save onto a directory path is SWANN_E_IO");
    CHECK_ST(swann_save(net, path), SWANN_OK, "save OK");
    CHECK_ST(swann_save(net, path), SWANN_OK, "save over an existing file OK");
    CHECKF(dir_entries(tmpdir) == 1, "save leaves no temporary file behind", "%d entries",
           dir_entries(tmpdir));

    static unsigned char file[1 << 16];
    long n = read_file(path, file, sizeof file);
    long w1_off = -1;
    CHECK(n > 8, "saved file is non-empty");
    if (n > 8) {
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--) hl = (hl << 8) | file[i];
        CHECKF(hl + 8 <= (uint64_t)n && file[8] == '{',
               "safetensors layout: u64 little-endian header length, then a JSON object", "hl %llu n %ld",
               (unsigned long long)hl, n);
        if (hl + 8 <= (uint64_t)n) {
            char *hdr = (char *)file + 8;
            char save = hdr[hl];
            hdr[hl] = 0;
            CHECKF(strstr(hdr, "\"layers.0.weight\"") && strstr(hdr, "\"layers.0.bias\"") &&
                       strstr(hdr, "\"layers.1.weight\"") && strstr(hdr, "\"layers.1.bias\"") &&
                       strstr(hdr, "\"__metadata__\"") && strstr(hdr, "\"swann.spec\"") &&
                       strstr(hdr, "\"swann.version\"") && strstr(hdr, "\"F32\""),
                   "header names the layer tensors (F32) and the swann metadata", "%s", hdr);
            CHECKF(strstr(hdr, "\"format\"") && strstr(hdr, "\"swann\""), "__metadata__ has \"format\": \"swann\"",
                   "%s", hdr);
            hdr[hl] = save;
            /* the weights follow; our params are somewhere in the data section */
            float *pp;
            size_t pc;
            swann_params(net, &pp, &pc);
            int found = 0;
            for (long off = 8 + (long)hl; off + 15 * 4 <= n; off += 4)
                if (memcmp(file + off, pp, 15 * sizeof(float)) == 0) {
                    found = 1;
                    w1_off = off;
                }
            CHECK(found, "layers.0.weight bytes are the net's W_1 (F32 little-endian, [out,in])");
        }
    }

    size_t bytes = 0, need = 0;
    CHECK_ST(swann_load_size(NULL, MAXB, &bytes), SWANN_E_ARG, "load_size(NULL path) is SWANN_E_ARG");
    CHECK_ST(swann_load_size(path, MAXB, NULL), SWANN_E_ARG, "load_size(bytes NULL) is SWANN_E_ARG");
    CHECK_ST(swann_load_size(bad, MAXB, &bytes), SWANN_E_IO, "load_size(missing file) is SWANN_E_IO");
    CHECK_ST2(swann_load_size(path, 0, &bytes), SWANN_E_ARG, SWANN_E_SHAPE,
              "load_size(max_batch 0) is refused");
    CHECK_ST2(swann_load_size(path, SIZE_MAX, &bytes), SWANN_E_ARG, SWANN_E_SHAPE,
              "load_size(max_batch SIZE_MAX) is refused");
    CHECK_ST(swann_load_size(path, MAXB, &need), SWANN_OK, "load_size OK");
    size_t cneed = 0;
    swann_arena_size(SPEC, MAXB, &cneed);
    CHECKF(need >= cneed, "load_size is at least arena_size of the same spec", "%zu vs %zu", need, cneed);

    swann_net *sentinel = (swann_net *)(uintptr_t)0x1, *out = sentinel;
    CHECK_ST(swann_load(NULL, MAXB, NULL, 0, &out), SWANN_E_ARG, "load(NULL path) is SWANN_E_ARG");
    CHECK(out == NULL, "... and sets *out = NULL");
    CHECK_ST(swann_load(path, MAXB, NULL, 0, NULL), SWANN_E_ARG, "load(out NULL) is SWANN_E_ARG");
    out = sentinel;
    CHECK_ST(swann_load(bad, MAXB, NULL, 0, &out), SWANN_E_IO, "load(missing file) is SWANN_E_IO");
    CHECK(out == NULL, "... and sets *out = NULL");
    out = sentinel;
    CHECK_ST(swann_load(path, MAXB, NULL, 64, &out), SWANN_E_ARG, "load(arena NULL, bytes 64) is SWANN_E_ARG");
    CHECK(out == NULL, "... and sets *out = NULL");
    if (out != sentinel) swann_destroy(out);

    /* round trip, library arena and host arena */
    swann_net *l = NULL;
    CHECK_ST(swann_load(path, MAXB, NULL, 0, &l), SWANN_OK, "load OK");
    if (l) {
        float *a, *b;
        size_t na, nb;
        swann_params(net, &a, &na);
        swann_params(l, &b, &nb);
        CHECK(na == nb && memcmp(a, b, na * sizeof(float)) == 0, "loaded params are bit-identical");
        CHECK(swann_input_size(l) == IN && swann_output_size(l) == OUT && swann_max_batch(l) == MAXB,
              "loaded net has the sizes and the load max_batch");
        char s1[8192], s2[8192];
        size_t k;
        swann_spec_json(net, s1, sizeof s1, &k);
        swann_spec_json(l, s2, sizeof s2, &k);
        CHECKF(strcmp(s1, s2) == 0, "loaded net has the same canonical spec", "%s\nvs\n%s", s1, s2);
        float y1[MAXB * OUT], y2[MAXB * OUT];
        swann_forward(net, X, MAXB, y1);
        swann_forward(l, X, MAXB, y2);
        CHECK(memcmp(y1, y2, sizeof y1) == 0, "loaded net computes the same outputs");
        check_net_works(l, "load");
        swann_destroy(l);
    }
    unsigned char *blk = need ? test_aligned_block(need) : NULL;
    if (blk) {
        out = sentinel;
        CHECK_ST(swann_load(path, MAXB, blk + 16, need, &out), SWANN_E_ARENA,
                 "load(misaligned arena) is SWANN_E_ARENA");
        CHECK(out == NULL, "... and sets *out = NULL");
        out = sentinel;
        CHECK_ST(swann_load(path, MAXB, blk, need - 1, &out), SWANN_E_ARENA,
                 "load(arena one byte short) is SWANN_E_ARENA");
        CHECK(out == NULL, "... and sets *out = NULL");
        swann_net *h = NULL;
        CHECK_ST(swann_load(path, MAXB, blk, need, &h), SWANN_OK, "load into a host arena OK");
        if (h) check_net_works(h, "load into host arena");
        swann_destroy(h);
        test_free_block(blk, need);
    }

    /* untrusted files */
    struct {
        const char *name;
        long len;  /* bytes of the good file to keep; -1 = custom */
    } cut[] = {{"empty file", 0}, {"4 bytes", 4}, {"header length only", 8},
               {"half the file", n / 2}, {"all but the last byte", n - 1}};
    snprintf(path2, sizeof path2, "%s/bad.safetensors", tmpdir);
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        if (n <= 8) break;
        char what[160];
        write_file(path2, file, (size_t)cut[i].len);
        out = sentinel;
        snprintf(what, sizeof what, "load(%s) is SWANN_E_FORMAT", cut[i].name);
        CHECK_ST(swann_load(path2, MAXB, NULL, 0, &out), SWANN_E_FORMAT, what);
        CHECK(out == NULL, "... and sets *out = NULL");
        snprintf(what, sizeof what, "load_size(%s) is SWANN_E_FORMAT", cut[i].name);
        CHECK_ST(swann_load_size(path2, MAXB, &bytes), SWANN_E_FORMAT, what);
    }
    if (n > 8) {
        static unsigned char mod[1 << 16];
        /* trailing garbage: tensors no longer tile the data section */
        memcpy(mod, file, (size_t)n);
        memcpy(mod + n, "GARBAGE!", 8);
        write_file(path2, mod, (size_t)n + 8);
        CHECK_ST(swann_load(path2, MAXB, NULL, 0, &out), SWANN_E_FORMAT,
                 "load(file with 8 trailing bytes) is SWANN_E_FORMAT");
        /* absurd header length */
        memcpy(mod, file, (size_t)n);
        memset(mod, 0xFF, 8);
        write_file(path2, mod, (size_t)n);
        CHECK_ST(swann_load(path2, MAXB, NULL, 0, &out), SWANN_E_FORMAT,
                 "load(header length 2^64-1) is SWANN_E_FORMAT");
        memcpy(mod, file, (size_t)n);
        mod[0] = (unsigned char)(mod[0] + 1); /* header length one too long */
        write_file(path2, mod, (size_t)n);
        CHECK_ST(swann_load(path2, MAXB, NULL, 0, &out), SWANN_E_FORMAT,
                 "load(header length off by one) is SWANN_E_FORMAT");
        /* a non-finite value in layers.0.weight */
        if (w1_off > 0) {
            const unsigned char qnan[4] = {0x00, 0x00, 0xC0, 0x7F};
            const unsigned char pinf[4] = {0x00, 0x00, 0x80, 0x7F};
            memcpy(mod, file, (size_t)n);
            memcpy(mod + w1_off + 8, qnan, 4);
            write_file(path2, mod, (size_t)n);
            CHECK_ST(swann_load(path2, MAXB, NULL, 0, &out), SWANN_E_FORMAT,
                     "load(NaN in layers.0.weight) is SWANN_E_FORMAT");
            check_err_msg("load(NaN tensor)");
            memcpy(mod + w1_off + 8, pinf, 4);
            write_file(path2, mod, (size_t)n);
            CHECK_ST(swann_load(path2, MAXB, NULL, 0, &out), SWANN_E_FORMAT,
                     "load(+Inf in layers.0.weight) is SWANN_E_FORMAT");
            /* sanity of the mutation: the unmodified copy still loads */
            memcpy(mod, file, (size_t)n);
            write_file(path2, mod, (size_t)n);
            swann_net *ok = NULL;
            CHECK_ST(swann_load(path2, MAXB, NULL, 0, &ok), SWANN_OK, "load(an exact copy) OK");
            swann_destroy(ok);
        }
        /* a tensor renamed (same length, offsets intact) and a dtype changed */
        {
            memcpy(mod, file, (size_t)n);
            char *h = (char *)mod + 8;
            char *w = memmem(h, (size_t)(n - 8), "layers.0.weight", 15);
            if (w) {
                w[14] = 'X';
                write_file(path2, mod, (size_t)n);
                CHECK_ST(swann_load(path2, MAXB, NULL, 0, &out), SWANN_E_FORMAT,
                         "load(layers.0.weight renamed layers.0.weighX) is SWANN_E_FORMAT");
            } else {
                CHECK(0, "find layers.0.weight in the header");
            }
            memcpy(mod, file, (size_t)n);
            char *f = memmem(h, (size_t)(n - 8), "\"F32\"", 5);
            if (f) {
                f[1] = 'I'; /* "I32": same size, wrong type */
                write_file(path2, mod, (size_t)n);
                CHECK_ST(swann_load(path2, MAXB, NULL, 0, &out), SWANN_E_FORMAT,
                         "load(a tensor's dtype F32 changed to I32) is SWANN_E_FORMAT");
            } else {
                CHECK(0, "find \"F32\" in the header");
            }
        }
        /* not safetensors at all */
        const char *txt = "hello, this is not a model file at all, just some text.....";
        write_file(path2, txt, strlen(txt));
        CHECK_ST(swann_load(path2, MAXB, NULL, 0, &out), SWANN_E_FORMAT, "load(text file) is SWANN_E_FORMAT");
        /* a directory */
        CHECK_STM(swann_load(tmpdir, MAXB, NULL, 0, &out), SM(SWANN_E_IO) | SM(SWANN_E_FORMAT),
                  "load(a directory) is refused");
    }
    check_net_works(net, "save/load errors");
    swann_destroy(net);

    /* optimizer state is saved: momentum continues identically after load */
    {
        const char *ms = "{\"input\": 3, \"layers\": [{\"units\": 5, \"activation\": \"tanh\"},"
                         " {\"units\": 2, \"activation\": \"identity\"}], \"loss\": \"mse\","
                         " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9}, \"seed\": 4}";
        swann_net *m = make_net(ms), *ml = NULL;
        if (m) {
            for (int i = 0; i < 3; i++) check_net_works(m, "momentum training");
            CHECK_ST(swann_save(m, path), SWANN_OK, "save a momentum net OK");
            static unsigned char f2[1 << 16];
            long n2 = read_file(path, f2, sizeof f2);
            if (n2 > 8) {
                f2[n2 - 1] = 0;
                CHECK(memmem(f2, (size_t)n2, "optimizer.0.weight.", 19) && memmem(f2, (size_t)n2, "optimizer.1.bias.", 17),
                      "momentum buffers saved as optimizer.{k}.{weight|bias}.{slot}");
                CHECK(memmem(f2, (size_t)n2, "\"optimizer.step\"", 16) != NULL, "optimizer.step saved");
            }
            CHECK_ST(swann_load(path, MAXB, NULL, 0, &ml), SWANN_OK, "load the momentum net OK");
            if (ml) {
                check_net_works(m, "one more step (original)");
                check_net_works(ml, "one more step (loaded)");
                float *a, *b;
                size_t na, nb;
                swann_params(m, &a, &na);
                swann_params(ml, &b, &nb);
                CHECK(na == nb && memcmp(a, b, na * sizeof(float)) == 0,
                      "after load, the next momentum step matches the original's (optimizer state restored)");
            }
        }
        swann_destroy(m);
        swann_destroy(ml);
    }
    /* clean up */
    unlink(path);
    unlink(path2);
    rmdir(tmpdir);
}

/* ---- hand-built safetensors files (not written by swann) ------------------------ */

struct ht {
    const char *name, *dtype, *shape; /* shape: raw JSON, e.g. "[5,3]" */
    long begin, end;                  /* data_offsets */
};

/* Writes a safetensors file: 8-byte LE header length, header JSON, data.
 * meta: raw JSON object text for __metadata__ or NULL; pad: spaces appended
 * to the header. Returns 1 on success. */
static int write_st(const char *path, const char *meta, const struct ht *t, int nt, const void *data, size_t dlen,
                    int pad)
{
    static char hdr[16384];
    size_t o = (size_t)snprintf(hdr, sizeof hdr, "{");
    if (meta) o += (size_t)snprintf(hdr + o, sizeof hdr - o, "\"__metadata__\":%s", meta);
    for (int i = 0; i < nt; i++)
        o += (size_t)snprintf(hdr + o, sizeof hdr - o, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%ld,%ld]}",
                              (meta || i) ? "," : "", t[i].name, t[i].dtype, t[i].shape, t[i].begin, t[i].end);
    o += (size_t)snprintf(hdr + o, sizeof hdr - o, "}");
    for (int i = 0; i < pad; i++) hdr[o++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)o >> (8 * i));
    int ok = fwrite(len, 1, 8, f) == 8 && fwrite(hdr, 1, o, f) == o && fwrite(data, 1, dlen, f) == dlen;
    return fclose(f) == 0 && ok;
}

/* the spec, JSON-escaped, inside a metadata object */
static void make_meta(char *out, size_t cap, const char *spec, const char *format)
{
    char esc[4096];
    size_t o = 0;
    for (const char *c = spec; *c && o + 2 < sizeof esc; c++) {
        if (*c == '"' || *c == '\\') esc[o++] = '\\';
        esc[o++] = *c;
    }
    esc[o] = 0;
    snprintf(out, cap, "{\"format\":\"%s\",\"swann.version\":\"%s\",\"swann.spec\":\"%s\"}", format,
             swann_version(), esc);
}

static void group_load_handmade(void)
{
    char dir[] = "/tmp/swann-test-st-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char path[256], meta[8192];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    make_meta(meta, sizeof meta, SPEC, "swann");
    /* data section: biases of layer 1 first, then W_1, W_2, b_1 (any order is valid) */
    float w1[15], b1[5], w2[10], b2[2];
    for (int i = 0; i < 15; i++) w1[i] = 0.01f * (float)(i + 1);
    for (int i = 0; i < 5; i++) b1[i] = -0.1f * (float)(i + 1);
    for (int i = 0; i < 10; i++) w2[i] = 0.5f - 0.05f * (float)i;
    for (int i = 0; i < 2; i++) b2[i] = 3.0f + (float)i;
    unsigned char data[128];
    memcpy(data, b2, 8);
    memcpy(data + 8, w1, 60);
    memcpy(data + 68, w2, 40);
    memcpy(data + 108, b1, 20);
    const size_t dlen = 128;
    struct ht good[4] = {{"layers.1.bias", "F32", "[2]", 0, 8},
                         {"layers.0.weight", "F32", "[5,3]", 8, 68},
                         {"layers.1.weight", "F32", "[2,5]", 68, 108},
                         {"layers.0.bias", "F32", "[5]", 108, 128}};
    swann_net *net = NULL, *sentinel = (swann_net *)(uintptr_t)0x1;
    CHECK(write_st(path, meta, good, 4, data, dlen, 0), "write a hand-built safetensors file");
    CHECK_ST(swann_load(path, MAXB, NULL, 0, &net), SWANN_OK,
             "load a hand-built file (tensors stored out of order, found by data_offsets)");
    if (net) {
        float *p;
        size_t n;
        swann_params(net, &p, &n);
        CHECK(n == NPARAM && memcmp(p, w1, 60) == 0 && memcmp(p + 15, b1, 20) == 0 && memcmp(p + 20, w2, 40) == 0 &&
                  memcmp(p + 30, b2, 8) == 0,
              "loaded params are the file's tensors, in layer order W_1 b_1 W_2 b_2");
        check_net_works(net, "loading a hand-built file");
        swann_destroy(net);
    }
    /* the header may be padded with spaces (the safetensors writer pads to 8 bytes) */
    net = NULL;
    write_st(path, meta, good, 4, data, dlen, 5);
    CHECK_ST(swann_load(path, MAXB, NULL, 0, &net), SWANN_OK, "load a file whose header is padded with spaces");
    swann_destroy(net);

    struct {
        const char *why;
        struct ht t[5];
        int nt;
        const char *format; /* NULL: no metadata */
        const char *spec;   /* NULL: SPEC */
        unsigned mask;
    } bad[] = {
        {"missing layers.1.bias", {good[1], good[2], good[3]}, 3, "swann", NULL, SM(SWANN_E_FORMAT)},
        {"an extra tensor layers.2.weight",
         {good[0], good[1], good[2], good[3], {"layers.2.weight", "F32", "[0]", 128, 128}}, 5, "swann", NULL,
         SM(SWANN_E_FORMAT)},
        {"W_1 with shape [3,5] instead of [5,3]",
         {good[0], {"layers.0.weight", "F32", "[3,5]", 8, 68}, good[2], good[3]}, 4, "swann", NULL, SM(SWANN_E_FORMAT)},
        {"W_1 with shape [15]", {good[0], {"layers.0.weight", "F32", "[15]", 8, 68}, good[2], good[3]}, 4, "swann",
         NULL, SM(SWANN_E_FORMAT)},
        {"W_1 with a negative dimension", {good[0], {"layers.0.weight", "F32", "[-5,-3]", 8, 68}, good[2], good[3]},
         4, "swann", NULL, SM(SWANN_E_FORMAT)},
        {"W_1 with a 2^62 dimension",
         {good[0], {"layers.0.weight", "F32", "[4611686018427387904,0]", 8, 68}, good[2], good[3]}, 4, "swann", NULL,
         SM(SWANN_E_FORMAT)},
        {"dtype F64", {good[0], {"layers.0.weight", "F64", "[5,3]", 8, 68}, good[2], good[3]}, 4, "swann", NULL,
         SM(SWANN_E_FORMAT)},
        {"dtype BF16", {good[0], {"layers.0.weight", "BF16", "[5,3]", 8, 68}, good[2], good[3]}, 4, "swann", NULL,
         SM(SWANN_E_FORMAT)},
        {"offsets leave a 4-byte gap", {good[0], {"layers.0.weight", "F32", "[5,3]", 12, 72}, good[2], good[3]}, 4,
         "swann", NULL, SM(SWANN_E_FORMAT)},
        {"two tensors overlap", {good[0], {"layers.0.weight", "F32", "[5,3]", 4, 64}, good[2], good[3]}, 4, "swann",
         NULL, SM(SWANN_E_FORMAT)},
        {"reversed data_offsets", {good[0], {"layers.0.weight", "F32", "[5,3]", 68, 8}, good[2], good[3]}, 4, "swann",
         NULL, SM(SWANN_E_FORMAT)},
        {"data_offsets past the end of the file",
         {good[0], good[1], good[2], {"layers.0.bias", "F32", "[5]", 108, 148}}, 4, "swann", NULL, SM(SWANN_E_FORMAT)},
        {"data_offsets near 2^64",
         {good[0], good[1], good[2], {"layers.0.bias", "F32", "[5]", 9223372036854775800L, 9223372036854775807L}}, 4,
         "swann", NULL, SM(SWANN_E_FORMAT)},
        {"no __metadata__", {good[0], good[1], good[2], good[3]}, 4, NULL, NULL, SM(SWANN_E_FORMAT)},
        {"format \"pt\" instead of \"swann\"", {good[0], good[1], good[2], good[3]}, 4, "pt", NULL,
         SM(SWANN_E_FORMAT)},
        {"swann.spec that disagrees with the tensors (4 hidden units)",
         {good[0], good[1], good[2], good[3]}, 4, "swann",
         "{\"input\": 3, \"layers\": [{\"units\": 4, \"activation\": \"tanh\"}, {\"units\": 2, \"activation\": "
         "\"identity\"}], \"loss\": \"mse\"}",
         SM(SWANN_E_FORMAT)},
        {"swann.spec that is not JSON", {good[0], good[1], good[2], good[3]}, 4, "swann", "{\"input\": 3,",
         SM(SWANN_E_FORMAT) | SM(SWANN_E_SPEC)},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[256], m[8192];
        if (bad[i].format) make_meta(m, sizeof m, bad[i].spec ? bad[i].spec : SPEC, bad[i].format);
        write_st(path, bad[i].format ? m : NULL, bad[i].t, bad[i].nt, data, dlen, 0);
        swann_net *out = sentinel;
        snprintf(what, sizeof what, "load refuses a file with %s", bad[i].why);
        CHECK_STM(swann_load(path, MAXB, NULL, 0, &out), bad[i].mask, what);
        CHECK(out == NULL, "... and sets *out = NULL");
        if (out != NULL && out != sentinel) swann_destroy(out);
        size_t bytes;
        snprintf(what, sizeof what, "load_size refuses a file with %s", bad[i].why);
        CHECK_STM(swann_load_size(path, MAXB, &bytes), bad[i].mask, what);
    }
    /* header that is not a JSON object */
    {
        const char *h = "[1,2,3]";
        FILE *f = fopen(path, "wb");
        unsigned char len[8] = {7, 0, 0, 0, 0, 0, 0, 0};
        fwrite(len, 1, 8, f);
        fwrite(h, 1, 7, f);
        fclose(f);
        swann_net *out = NULL;
        CHECK_ST(swann_load(path, MAXB, NULL, 0, &out), SWANN_E_FORMAT, "load refuses a header that is a JSON array");
        swann_destroy(out);
    }
    unlink(path);
    rmdir(dir);
}

/* ---- failing calls have no side effects ------------------------------------------ */

static float XNAN[MAXB * IN], XINF[MAXB * IN];
static char SMALLBUF[16];

static swann_status e_fwd_null(swann_net *n) { return swann_forward(n, NULL, 2, NULL); }
static swann_status e_fwd_b0(swann_net *n) { return swann_forward(n, X, 0, NULL); }
static swann_status e_fwd_big(swann_net *n) { return swann_forward(n, X, MAXB + 1, NULL); }
static swann_status e_fwd_max(swann_net *n) { return swann_forward(n, X, SIZE_MAX, NULL); }
static swann_status e_fwd_nan(swann_net *n) { return swann_forward(n, XNAN, 3, NULL); }
static swann_status e_fwd_inf(swann_net *n) { return swann_forward(n, XINF, 3, NULL); }
static swann_status e_bwd_null(swann_net *n) { return swann_backward(n, NULL, NULL, NULL); }
static swann_status e_bwdg_null(swann_net *n) { return swann_backward_grad(n, NULL, NULL); }
static swann_status e_spec_small(swann_net *n)
{
    size_t k;
    return swann_spec_json(n, SMALLBUF, sizeof SMALLBUF, &k);
}
static swann_status e_spec_nullbuf(swann_net *n)
{
    size_t k;
    return swann_spec_json(n, NULL, 64, &k);
}
static swann_status e_params_null(swann_net *n)
{
    size_t k;
    return swann_params(n, NULL, &k);
}
static swann_status e_grads_null(swann_net *n)
{
    float *g;
    return swann_grads(n, &g, NULL);
}
static swann_status e_save_bad(swann_net *n) { return swann_save(n, "/nonexistent-swann-dir/x/model.safetensors"); }

static void group_no_side_effects(void)
{
    static const struct {
        swann_status (*fn)(swann_net *);
        swann_status want;
        const char *name;
    } cases[] = {
        {e_fwd_null, SWANN_E_ARG, "forward(x NULL)"},
        {e_fwd_b0, SWANN_E_SHAPE, "forward(batch 0)"},
        {e_fwd_big, SWANN_E_SHAPE, "forward(batch max_batch+1)"},
        {e_fwd_max, SWANN_E_SHAPE, "forward(batch SIZE_MAX)"},
        {e_fwd_nan, SWANN_E_NUMERIC, "forward(NaN input)"},
        {e_fwd_inf, SWANN_E_NUMERIC, "forward(Inf input)"},
        {e_bwd_null, SWANN_E_ARG, "backward(target NULL)"},
        {e_bwdg_null, SWANN_E_ARG, "backward_grad(dy NULL)"},
        {e_spec_small, SWANN_E_ARG, "spec_json(cap 16)"},
        {e_spec_nullbuf, SWANN_E_ARG, "spec_json(buf NULL, cap 64)"},
        {e_params_null, SWANN_E_ARG, "params(data NULL)"},
        {e_grads_null, SWANN_E_ARG, "grads(count NULL)"},
        {e_save_bad, SWANN_E_IO, "save(missing folder)"},
    };
    memcpy(XNAN, X, sizeof X);
    memcpy(XINF, X, sizeof X);
    XNAN[IN + 1] = NAN;
    XINF[2 * IN] = -INFINITY;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[256];
        swann_net *a = make_net(SPEC), *b = make_net(SPEC);
        if (!a || !b) {
            swann_destroy(a);
            swann_destroy(b);
            return;
        }
        float *pa, *pb, *ga;
        size_t n;
        swann_params(a, &pa, &n);
        swann_params(b, &pb, &n);
        swann_grads(a, &ga, &n);
        /* both accumulate the same rows; only a sees the failing call */
        swann_forward(a, X, 4, NULL);
        swann_backward(a, T, NULL, NULL);
        swann_forward(b, X, 4, NULL);
        swann_backward(b, T, NULL, NULL);
        float p0[NPARAM], g0[NPARAM];
        memcpy(p0, pa, sizeof p0);
        memcpy(g0, ga, sizeof g0);
        snprintf(what, sizeof what, "%s with gradients accumulated is %s", cases[i].name, check_name_(cases[i].want));
        CHECK_ST(cases[i].fn(a), cases[i].want, what);
        snprintf(what, sizeof what, "%s changes neither params nor accumulated grads", cases[i].name);
        CHECK(memcmp(p0, pa, sizeof p0) == 0 && memcmp(g0, ga, sizeof g0) == 0, what);
        swann_status sa = swann_step(a), sb = swann_step(b);
        snprintf(what, sizeof what, "after %s, step applies exactly the earlier accumulation (T unchanged)",
                 cases[i].name);
        CHECKF(sa == SWANN_OK && sb == SWANN_OK && memcmp(pa, pb, sizeof p0) == 0, what, "step %s / %s",
               check_name_(sa), check_name_(sb));
        snprintf(what, sizeof what, "%s", cases[i].name);
        check_net_works(a, what);
        swann_destroy(a);
        swann_destroy(b);
    }
}

/* ---- distinct nets on distinct threads --------------------------------------- */

struct thr_train {
    float params[NPARAM];
    int ok;
};

static void train_fixed(struct thr_train *r)
{
    swann_net *n = NULL;
    r->ok = swann_create(SPEC, MAXB, NULL, 0, &n) == SWANN_OK;
    for (int i = 0; r->ok && i < 300; i++) {
        r->ok &= swann_forward(n, X, 1 + (size_t)(i % MAXB), NULL) == SWANN_OK;
        r->ok &= swann_backward(n, T, NULL, NULL) == SWANN_OK;
        r->ok &= swann_step(n) == SWANN_OK;
    }
    float *p;
    size_t c;
    if (r->ok && swann_params(n, &p, &c) == SWANN_OK && c == NPARAM) memcpy(r->params, p, sizeof r->params);
    else r->ok = 0;
    swann_destroy(n);
}

static void *thr_train_fn(void *arg)
{
    train_fixed(arg);
    return NULL;
}

static void group_threads(void)
{
    struct thr_train seq, t[4];
    train_fixed(&seq);
    pthread_t th[4];
    int started = 0;
    for (int i = 0; i < 4; i++)
        if (pthread_create(&th[i], NULL, thr_train_fn, &t[i]) == 0) started++;
        else break;
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    CHECK(started == 4 && seq.ok, "four threads each trained their own net");
    int same = 1;
    for (int i = 0; i < started; i++)
        if (!t[i].ok || memcmp(t[i].params, seq.params, sizeof seq.params) != 0) same = 0;
    CHECK(same, "nets trained concurrently on four threads end bit-identical to a sequential run");
}

/* ---- huge finite data: results may overflow, the net must not be corrupted ---- */

static void group_overflow(void)
{
    swann_net *net = make_net(SPEC);
    if (!net) return;
    float *p;
    size_t n;
    swann_params(net, &p, &n);
    float x[MAXB * IN], t[MAXB * OUT], y[MAXB * OUT], loss = 0;
    for (int i = 0; i < MAXB * IN; i++) x[i] = 3e38f;
    for (int i = 0; i < MAXB * OUT; i++) t[i] = -3e38f;
    swann_status a = swann_forward(net, x, 4, y);
    CHECK_ST2(a, SWANN_OK, SWANN_E_NUMERIC, "forward with inputs 3e38 (finite) OK or SWANN_E_NUMERIC");
    swann_status b = a == SWANN_OK ? swann_backward(net, t, &loss, NULL) : SWANN_E_STATE;
    if (a == SWANN_OK)
        CHECK_ST2(b, SWANN_OK, SWANN_E_NUMERIC, "backward with targets -3e38 (mse overflows) OK or SWANN_E_NUMERIC");
    float before[NPARAM];
    memcpy(before, p, sizeof before);
    swann_status c = swann_step(net);
    CHECK_STM(c, SM(SWANN_E_NUMERIC) | SM(SWANN_E_STATE), "step after an overflowing loss is refused");
    CHECK(memcmp(before, p, sizeof before) == 0, "refused step leaves params unchanged");
    int fin = 1;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) fin = 0;
    CHECK(fin, "params stay finite");
    swann_zero_grad(net);
    check_net_works(net, "overflowing data");
    swann_destroy(net);
}

/* swann_set_lr: the new base rate is in the canonical spec and in saved files,
 * so a net loaded from a file saved after set_lr resumes exactly. */
static void group_set_lr(void)
{
    swann_net *a = make_net(SPEC);
    if (!a) return;
    char canon[2048], canon2[2048];
    size_t need = 0;
    CHECK_ST(swann_set_lr(a, 0.0123), SWANN_OK, "set_lr(0.0123)");
    swann_spec_json(a, canon, sizeof canon, &need);
    CHECKF(strstr(canon, "\"lr\":0.0123,") != NULL, "spec_json carries the new lr", "got %s", canon);
    /* long and short numbers, many times: the text stays a canonical spec */
    const double rates[] = {1.2345678901234567e-5, 0, 999999.99999999988, 1e-300, 0.5, 4.9406564584124654e-324};
    int ok = 1;
    for (int r = 0; r < 600 && ok; r++) {
        double lr = rates[r % 6], got = -1;
        swann_net *b = NULL;
        ok = swann_set_lr(a, lr) == SWANN_OK && swann_spec_json(a, canon, sizeof canon, &need) == SWANN_OK &&
             swann_create(canon, MAXB, NULL, 0, &b) == SWANN_OK && swann_get_lr(b, &got) == SWANN_OK && got == lr &&
             swann_spec_json(b, canon2, sizeof canon2, &need) == SWANN_OK && strcmp(canon, canon2) == 0;
        swann_destroy(b);
    }
    CHECKF(ok, "600 set_lr calls with 1- to 23-digit rates: spec_json re-creates a net with that exact lr",
           "last spec %s", canon);

    /* resume: a trains 3 steps, changes lr, trains 2, is saved; a and the loaded b train 3 more alike */
    char dir[] = "/tmp/swann-test-lr-XXXXXX", path[600];
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); swann_destroy(a); return; }
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    swann_set_lr(a, 0.1);
    for (int s = 0; s < 5; s++) {
        if (s == 3) swann_set_lr(a, 0.037);
        swann_forward(a, X, MAXB, NULL);
        swann_backward(a, T, NULL, NULL);
        swann_step(a);
    }
    CHECK_ST(swann_save(a, path), SWANN_OK, "save after set_lr");
    swann_net *b = NULL;
    CHECK_ST(swann_load(path, MAXB, NULL, 0, &b), SWANN_OK, "load it");
    if (b) {
        double la = 0, lb = 0;
        swann_get_lr(a, &la);
        swann_get_lr(b, &lb);
        CHECKF(la == 0.037 && lb == 0.037, "the loaded net's lr is the one set before saving", "%g, %g", la, lb);
        for (int s = 0; s < 3; s++) {
            swann_forward(a, X, MAXB, NULL);
            swann_backward(a, T, NULL, NULL);
            swann_step(a);
            swann_forward(b, X, MAXB, NULL);
            swann_backward(b, T, NULL, NULL);
            swann_step(b);
        }
        float *pa, *pb;
        size_t na, nb;
        swann_params(a, &pa, &na);
        swann_params(b, &pb, &nb);
        CHECK(na == nb && memcmp(pa, pb, na * sizeof *pa) == 0, "3 more steps: the loaded net equals the original bit for bit");
        swann_destroy(b);
    }
    remove(path);
    rmdir(dir);
    swann_destroy(a);
}

int main(void)
{
    check_init("test_api");
    fill_data();
    /* before anything has failed in this process */
    const char *e = swann_last_error();
    CHECKF(e != NULL && e[0] == 0, "swann_last_error is \"\" before any failure", "got \"%s\"",
           e ? e : "(NULL)");
    RUN_GROUP(group_info);
    RUN_GROUP(group_last_error);
    RUN_GROUP(group_arena_size);
    RUN_GROUP(group_create);
    RUN_GROUP(group_getters);
    RUN_GROUP(group_forward);
    RUN_GROUP(group_last_batch);
    RUN_GROUP(group_backward);
    RUN_GROUP(group_views);
    RUN_GROUP(group_save_load);
    RUN_GROUP(group_load_handmade);
    RUN_GROUP(group_no_side_effects);
    RUN_GROUP(group_threads);
    RUN_GROUP(group_overflow);
    RUN_GROUP(group_set_lr);
    return check_finish();
}
