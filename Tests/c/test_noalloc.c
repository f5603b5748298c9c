/*
 * test_noalloc.c -- after swann_create returns, no call on the net allocates
 * heap memory; with a host arena, swann_create, swann_load_buffer and swann_load
 * make no heap call at all (the parse's scratch is part of the arena).
 *
 * Run with LD_PRELOAD=alloc_shim.so (run.sh does; Tests/common/alloc_shim.h
 * finds its counters); without the shim every counting check FAILS (nothing is
 * skipped).
 */
#include "check.h"
#include "alloc_shim.h"

#include <pthread.h>
#include <unistd.h>

/* the shim's functions, looked up once in main (the lookup may allocate) */
static int have_shim;

struct snapshot {
    unsigned long total, d[SHIM_N];
    long live;
};

static struct snapshot snap(void)
{
    struct snapshot s;
    memset(&s, 0, sizeof s);
    if (!have_shim) return s;
    for (int i = 0; i < SHIM_N; i++) s.d[i] = shim_calls_of(i);
    s.live = shim_live();
    s.total = shim_calls(); /* last: the detail reads do not allocate either */
    return s;
}

/* one check: no heap call between a and b */
static void check_window(const struct snapshot *a, const struct snapshot *b, const char *what)
{
    char detail[512] = "";
    if (!have_shim) {
        CHECKF(0, what, "allocation shim not loaded (run under LD_PRELOAD=alloc_shim.so)");
        return;
    }
    size_t o = 0;
    for (int i = 0; i < SHIM_N; i++)
        if (b->d[i] != a->d[i] && o < sizeof detail)
            o += (size_t)snprintf(detail + o, sizeof detail - o, " %s x%lu", shim_fn_name(i), b->d[i] - a->d[i]);
    CHECKF(b->total == a->total, what, "%lu heap calls:%s", b->total - a->total, detail);
}

#define IN 16
#define OUT 8
#define MAXB 32
static float X[MAXB * IN], T[MAXB * OUT], Y[MAXB * OUT], DX[MAXB * IN], XN[MAXB * IN];
static char JSONBUF[16384];

static const char *SPEC_MOM =
    "{\"input\": 16, \"layers\": [{\"units\": 32, \"activation\": \"relu\"},"
    " {\"units\": 24, \"activation\": \"tanh\"}, {\"units\": 8, \"activation\": \"identity\"}],"
    " \"loss\": \"mse\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.01, \"momentum\": 0.9}, \"seed\": 1}";
static const char *SPEC_ADAM =
    "{\"input\": 16, \"layers\": [{\"units\": 32, \"activation\": \"gelu\"},"
    " {\"units\": 8, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\","
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.001}, \"seed\": 2}";
/* used when the library refuses adam / rmsprop (that refusal is a FAIL of its
 * own), so the arena checks still run */
static const char *SPEC_ADAM_FALLBACK =
    "{\"input\": 16, \"layers\": [{\"units\": 32, \"activation\": \"gelu\"},"
    " {\"units\": 8, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\","
    " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.001, \"momentum\": 0.5, \"nesterov\": true}, \"seed\": 2}";
static const char *SPEC_NONE_FALLBACK =
    "{\"input\": 16, \"layers\": [{\"units\": 32, \"activation\": \"sigmoid\"},"
    " {\"units\": 8, \"activation\": \"identity\"}], \"loss\": \"none\","
    " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.001, \"weight_decay\": 0.01}, \"seed\": 3}";
static const char *SPEC_NONE =
    "{\"input\": 16, \"layers\": [{\"units\": 32, \"activation\": \"sigmoid\"},"
    " {\"units\": 8, \"activation\": \"identity\"}], \"loss\": \"none\","
    " \"optimizer\": {\"type\": \"rmsprop\", \"lr\": 0.001}, \"seed\": 3}";

static void fill(void)
{
    uint64_t s = 5;
    for (int i = 0; i < MAXB * IN; i++) X[i] = (float)rng_uniform(&s, -1, 1);
    for (int r = 0; r < MAXB; r++) { /* one-hot rows: valid for mse and cross_entropy */
        for (int j = 0; j < OUT; j++) T[r * OUT + j] = (float)(j == r % OUT);
    }
    memcpy(XN, X, sizeof X);
    XN[7] = NAN;
}

/* bad-status counters filled inside windows, checked after */
struct tally {
    int train_bad;    /* valid training calls that did not return OK */
    int errors_wrong; /* error-path calls that returned OK */
};

static void train_iters(swann_net *net, int iters, int use_grad, struct tally *t)
{
    float loss;
    for (int i = 0; i < iters; i++) {
        size_t b = 1 + (size_t)(i % MAXB);
        if (swann_forward(net, X, b, (i & 1) ? Y : NULL) != SWANN_OK) t->train_bad++;
        swann_status s = use_grad ? swann_backward_grad(net, T, (i & 2) ? DX : NULL)
                                  : swann_backward(net, T, (i & 2) ? &loss : NULL, (i & 4) ? DX : NULL);
        if (s != SWANN_OK) t->train_bad++;
        if (i % 3 == 0) { /* a second accumulation on the same rows */
            s = use_grad ? swann_backward_grad(net, T, NULL) : swann_backward(net, T, NULL, NULL);
            if (s != SWANN_OK) t->train_bad++;
        }
        if (swann_step(net) != SWANN_OK) t->train_bad++;
    }
}

static void error_paths(swann_net *net, struct tally *t)
{
    float *p;
    size_t n;
    float loss;
    for (int rep = 0; rep < 20; rep++) {
        if (swann_forward(net, X, 0, Y) == SWANN_OK) t->errors_wrong++;
        if (swann_forward(net, X, MAXB + 1, Y) == SWANN_OK) t->errors_wrong++;
        if (swann_forward(net, X, SIZE_MAX, Y) == SWANN_OK) t->errors_wrong++;
        if (swann_forward(net, NULL, 1, Y) == SWANN_OK) t->errors_wrong++;
        if (swann_forward(net, XN, 2, Y) == SWANN_OK) t->errors_wrong++;
        if (swann_forward(NULL, X, 1, Y) == SWANN_OK) t->errors_wrong++;
        if (swann_backward(net, NULL, &loss, NULL) == SWANN_OK) t->errors_wrong++;
        if (swann_backward(NULL, T, &loss, NULL) == SWANN_OK) t->errors_wrong++;
        if (swann_backward_grad(net, NULL, NULL) == SWANN_OK) t->errors_wrong++;
        if (swann_zero_grad(net) != SWANN_OK) t->errors_wrong++;
        if (swann_step(net) != SWANN_E_STATE) t->errors_wrong++; /* nothing accumulated */
        if (swann_step(NULL) == SWANN_OK) t->errors_wrong++;
        if (swann_params(net, NULL, &n) == SWANN_OK) t->errors_wrong++;
        if (swann_grads(net, &p, NULL) == SWANN_OK) t->errors_wrong++;
        size_t needed = 0;
        if (swann_spec_json(net, JSONBUF, 1, &needed) == SWANN_OK) t->errors_wrong++;
        if (swann_spec_json(net, NULL, 5, &needed) == SWANN_OK) t->errors_wrong++;
        if (swann_spec_json(NULL, JSONBUF, sizeof JSONBUF, &needed) == SWANN_OK) t->errors_wrong++;
        (void)swann_last_error();
        (void)swann_status_name((swann_status)(rep % 12));
    }
}

static void queries(swann_net *net, struct tally *t)
{
    float *p, *g;
    size_t n, needed = 0;
    for (int rep = 0; rep < 50; rep++) {
        if (swann_params(net, &p, &n) != SWANN_OK) t->train_bad++;
        if (swann_grads(net, &g, &n) != SWANN_OK) t->train_bad++;
        p[0] += 0.0f; /* touch the views */
        (void)g[0];
        (void)swann_input_size(net);
        (void)swann_output_size(net);
        (void)swann_param_count(net);
        (void)swann_max_batch(net);
        (void)swann_input_size(NULL);
        swann_status s = swann_spec_json(net, NULL, 0, &needed);
        if (s != SWANN_OK && s != SWANN_E_ARG) t->train_bad++;
        if (swann_spec_json(net, JSONBUF, sizeof JSONBUF, &needed) != SWANN_OK) t->train_bad++;
        (void)swann_version();
        (void)swann_last_error();
        for (int k = 0; k < 11; k++) (void)swann_status_name((swann_status)k);
    }
}

static void exercise(swann_net *net, int use_grad, const char *label)
{
    char what[256];
    struct tally t = {0, 0};
    struct snapshot a, b;

    a = snap();
    train_iters(net, 1000, use_grad, &t);
    b = snap();
    snprintf(what, sizeof what, "%s: 1000 forward/backward/step iterations make no heap call", label);
    check_window(&a, &b, what);

    a = snap();
    error_paths(net, &t);
    b = snap();
    snprintf(what, sizeof what, "%s: failing calls (bad batch, NULL, NaN, state, spec_json cap) make no heap call",
             label);
    check_window(&a, &b, what);

    a = snap();
    queries(net, &t);
    b = snap();
    snprintf(what, sizeof what,
             "%s: params/grads/getters/spec_json/last_error/status_name/version make no heap call", label);
    check_window(&a, &b, what);

    a = snap();
    train_iters(net, 50, use_grad, &t);
    error_paths(net, &t);
    train_iters(net, 50, use_grad, &t);
    b = snap();
    snprintf(what, sizeof what, "%s: training interleaved with failures makes no heap call", label);
    check_window(&a, &b, what);

    snprintf(what, sizeof what, "%s: valid calls inside the windows returned OK", label);
    CHECKF(t.train_bad == 0, what, "%d not OK; last_error %s", t.train_bad, check_last_error_());
    snprintf(what, sizeof what, "%s: invalid calls inside the windows were refused", label);
    CHECKF(t.errors_wrong == 0, what, "%d wrong", t.errors_wrong);
}

/* ---- groups ---------------------------------------------------------------- */

static void group_shim(void)
{
    CHECK(have_shim, "allocation shim is loaded (alloc_shim_calls found via dlsym)");
    if (!have_shim) return;
    struct snapshot a = snap();
    void *(*volatile m)(size_t) = malloc;
    void (*volatile f)(void *) = free;
    void *(*volatile c)(size_t, size_t) = calloc;
    void *p = m(40);
    f(p);
    p = c(3, 8);
    f(p);
    struct snapshot b = snap();
    CHECKF(b.total - a.total == 4 && b.d[SHIM_MALLOC] - a.d[SHIM_MALLOC] == 1 &&
               b.d[SHIM_CALLOC] - a.d[SHIM_CALLOC] == 1 && b.d[SHIM_FREE] - a.d[SHIM_FREE] == 2,
           "shim counts malloc, calloc and free (sanity: the counter can see heap calls)", "total +%lu",
           b.total - a.total);
    CHECK(b.live == a.live, "shim's live count balances malloc/free");
    struct snapshot c1 = snap(), c2 = snap();
    CHECK(c1.total == c2.total, "reading the counters makes no heap call");
}

/* the very first failure on a thread, after create, with no earlier failure */
static void group_cold_error(void)
{
    swann_net *net = NULL;
    swann_status st = swann_create(SPEC_MOM, MAXB, NULL, 0, &net);
    CHECK_ST(st, SWANN_OK, "create (no failure happened before in this process)");
    if (!net) return;
    struct snapshot a = snap();
    swann_status s1 = swann_forward(net, X, 0, Y);
    const char *e = swann_last_error();
    struct snapshot b = snap();
    CHECK_ST(s1, SWANN_E_SHAPE, "forward(batch 0) is SWANN_E_SHAPE");
    CHECK(e && e[0], "message set");
    check_window(&a, &b, "the first failing call on a thread (after create) makes no heap call");
    a = snap();
    (void)swann_forward(net, X, 1, NULL);
    (void)swann_backward(net, T, NULL, NULL);
    (void)swann_step(net);
    b = snap();
    check_window(&a, &b, "the first forward/backward/step after create make no heap call");
    swann_destroy(net);
}

/* a net handed to another thread (used by one thread at a time) */
struct other {
    swann_net *net;
    struct snapshot a, b;
    struct tally t;
};

static void *other_thread(void *arg)
{
    struct other *o = arg;
    o->a = snap();
    (void)swann_forward(o->net, X, 0, Y); /* this thread's first failure */
    (void)swann_last_error();
    train_iters(o->net, 100, 0, &o->t);
    error_paths(o->net, &o->t);
    o->b = snap();
    return NULL;
}

static void group_other_thread(void)
{
    swann_net *net = NULL;
    CHECK_ST(swann_create(SPEC_MOM, MAXB, NULL, 0, &net), SWANN_OK, "create on the main thread");
    if (!net) return;
    struct other o;
    memset(&o, 0, sizeof o);
    o.net = net;
    pthread_t th;
    if (pthread_create(&th, NULL, other_thread, &o) != 0) {
        CHECK(0, "pthread_create");
    } else {
        pthread_join(th, NULL);
        check_window(&o.a, &o.b, "a net used from a second thread (first failure there included) makes no heap call");
        CHECKF(o.t.train_bad == 0 && o.t.errors_wrong == 0, "calls on the second thread returned the expected statuses",
               "%d / %d", o.t.train_bad, o.t.errors_wrong);
    }
    swann_destroy(net);
}

static void group_library_arena(void)
{
    /* warm-up: whatever a runtime sets up once per process or thread */
    (void)swann_forward(NULL, X, 1, NULL);
    swann_net *w = NULL;
    swann_create(SPEC_MOM, MAXB, NULL, 0, &w);
    swann_destroy(w);

    struct snapshot c0 = snap();
    swann_net *net = NULL;
    CHECK_ST(swann_create(SPEC_MOM, MAXB, NULL, 0, &net), SWANN_OK, "create (sgd momentum, library arena)");
    if (!net) return;
    exercise(net, 0, "sgd momentum, library arena");
    swann_destroy(net);
    struct snapshot c1 = snap();
    if (have_shim)
        CHECKF(c1.live == c0.live, "library arena: create ... destroy leaves no live heap block",
               "%ld blocks left", c1.live - c0.live);
    else
        CHECK(0, "library arena leak check needs the allocation shim");

    net = NULL;
    const char *label = "loss none + backward_grad, rmsprop, library arena";
    CHECK_ST(swann_create(SPEC_NONE, MAXB, NULL, 0, &net), SWANN_OK, "create (loss none, rmsprop, library arena)");
    if (!net) {
        label = "loss none + backward_grad, sgd weight_decay (fallback), library arena";
        CHECK_ST(swann_create(SPEC_NONE_FALLBACK, MAXB, NULL, 0, &net), SWANN_OK, "create (fallback spec)");
    }
    if (net) exercise(net, 1, label);
    swann_destroy(net);
}

/* Worker threads ("threads": 3): the products big enough to be split run on the
 * pool, which waits with a bounded spin and a futex: still no heap use per call. */
static void group_threads(void)
{
    const char *spec = "{\"input\": 300, \"layers\": [{\"units\": 400, \"activation\": \"relu\"},"
                       " {\"units\": 10, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\","
                       " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.001}, \"seed\": 2, \"threads\": 3}";
    enum { B = 64 };
    static float x[B * 300], d[B * 10], y[B * 10];
    for (int i = 0; i < B * 300; i++) x[i] = (float)((i * 37) % 101) / 101.0f;
    for (int r = 0; r < B; r++) d[r * 10 + r % 10] = 1;
    swann_net *net = NULL;
    CHECK_ST(swann_create(spec, B, NULL, 0, &net), SWANN_OK, "create a 3-thread net");
    if (!net) return;
    /* warm-up: the first run of each worker */
    swann_forward(net, x, B, y);
    struct snapshot a = snap();
    int ok = 1;
    for (int i = 0; i < 200; i++) {
        ok &= swann_forward(net, x, B, y) == SWANN_OK;
        ok &= swann_backward(net, d, NULL, NULL) == SWANN_OK;
        ok &= swann_step(net) == SWANN_OK;
        if (i == 100) ok &= swann_set_threads(net, 2) == SWANN_OK;
    }
    struct snapshot b = snap();
    CHECK(ok, "200 threaded training steps succeed");
    check_window(&a, &b, "3-thread net: 200 forward/backward/step, no heap call");
    swann_destroy(net);
}

static void group_host_arena(void)
{
    (void)swann_forward(NULL, X, 1, NULL);
    size_t need = 0;
    const char *spec = SPEC_ADAM, *label = "adam + softmax/cross_entropy, host arena";
    CHECK_ST(swann_arena_size(SPEC_ADAM, MAXB, &need), SWANN_OK, "arena_size (adam net)");
    if (!need) {
        spec = SPEC_ADAM_FALLBACK;
        label = "sgd nesterov (fallback) + softmax/cross_entropy, host arena";
        CHECK_ST(swann_arena_size(spec, MAXB, &need), SWANN_OK, "arena_size (fallback spec)");
    }
    void *blk = test_aligned_block(need);
    if (!blk || !need) return;
    /* warm-up create/destroy in the same arena */
    swann_net *w = NULL;
    swann_create(spec, MAXB, blk, need, &w);
    swann_destroy(w);

    struct snapshot c0 = snap();
    swann_net *net = NULL;
    CHECK_ST(swann_create(spec, MAXB, blk, need, &net), SWANN_OK, "create (host arena)");
    struct snapshot c1 = snap();
    if (!net) return;
    check_window(&c0, &c1, "host arena: create makes no heap call (the spec's parse uses the arena)");
    exercise(net, 0, label);
    struct snapshot d0 = snap();
    swann_destroy(net);
    struct snapshot d1 = snap();
    check_window(&d0, &d1, "host arena: destroy makes no heap call");
    test_free_block(blk, need);
}

/* A net as model-file bytes and as a file, loaded back into a host arena of exactly
 * the size asked: no heap call, not even a transient one, in the loading call. */
static unsigned char MODEL[1 << 16];

static void group_host_load(void)
{
    swann_net *src = NULL;
    CHECK_ST(swann_create(SPEC_MOM, MAXB, NULL, 0, &src), SWANN_OK, "create the net to save");
    if (!src) return;
    struct tally t = {0, 0};
    train_iters(src, 3, 0, &t); /* momentum slots in the file too */
    size_t size = 0;
    CHECK_ST(swann_save_buffer(src, MODEL, sizeof MODEL, &size), SWANN_OK, "save_buffer");
    char path[] = "/tmp/swann-noalloc-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "a temporary file");
    if (fd >= 0) close(fd);
    CHECK_ST(swann_save(src, path), SWANN_OK, "save to the temporary file");
    swann_destroy(src);

    size_t need = 0, fneed = 0;
    CHECK_ST(swann_load_buffer_size(MODEL, size, MAXB, &need), SWANN_OK, "load_buffer_size");
    CHECK_ST(swann_load_size(path, MAXB, &fneed), SWANN_OK, "load_size");
    CHECKF(need == fneed, "load_size and load_buffer_size agree", "%zu vs %zu", fneed, need);
    void *blk = test_aligned_block(need);
    if (!blk || !need) return;
    /* warm-up: whatever the runtime sets up once (the first open() included) */
    swann_net *net = NULL;
    swann_load_buffer(MODEL, size, MAXB, blk, need, &net);
    swann_destroy(net);
    swann_load(path, MAXB, blk, need, &net);
    swann_destroy(net);

    struct snapshot a = snap();
    net = NULL;
    swann_status st = swann_load_buffer(MODEL, size, MAXB, blk, need, &net);
    struct snapshot b = snap();
    CHECK_ST(st, SWANN_OK, "load_buffer into a host arena of load_buffer_size bytes");
    check_window(&a, &b, "host arena: load_buffer makes no heap call (header, trees and table in the arena)");
    if (net) exercise(net, 0, "loaded from bytes, host arena");
    swann_destroy(net);

    a = snap();
    net = NULL;
    st = swann_load(path, MAXB, blk, need, &net);
    b = snap();
    CHECK_ST(st, SWANN_OK, "load (file) into a host arena of load_size bytes");
    check_window(&a, &b, "host arena: load from a file makes no heap call");
    swann_destroy(net);

    /* one byte short: SWANN_E_ARENA with a message, and still no heap call */
    a = snap();
    net = NULL;
    st = swann_load_buffer(MODEL, size, MAXB, blk, need - 64, &net);
    b = snap();
    CHECK_ST(st, SWANN_E_ARENA, "load_buffer into an arena 64 bytes short is SWANN_E_ARENA");
    CHECK(net == NULL && strstr(swann_last_error(), "load_buffer: arena has") != NULL,
          "the message names the call and the arena");
    check_window(&a, &b, "host arena too small: load_buffer refuses it with no heap call");
    test_free_block(blk, need);
    unlink(path);
}

/* Models and sessions: session_create with a host arena, session_run (every
 * batch size, and its failures), session_destroy and a refused model_destroy
 * make no heap call; a model in the host's mem keeps no heap block. */
static void group_sessions(void)
{
    swann_net *net = NULL;
    CHECK_ST(swann_create(SPEC_MOM, MAXB, NULL, 0, &net), SWANN_OK, "create a net for the models");
    if (!net) return;
    size_t size = 0, mem_bytes = 0, ab = 0;
    swann_save_buffer(net, NULL, 0, &size);
    unsigned char *bytes = test_aligned_block(size);
    CHECK_ST(swann_save_buffer(net, bytes, size, &size), SWANN_OK, "save_buffer");
    CHECK_ST(swann_model_mem_size(bytes, size, &mem_bytes), SWANN_OK, "model_mem_size");
    void *mem = test_aligned_block(mem_bytes);
    struct snapshot m0 = snap();
    swann_model *model = NULL;
    CHECK_ST(swann_model_from_buffer(bytes, size, mem, mem_bytes, &model), SWANN_OK, "model_from_buffer in place");
    struct snapshot m1 = snap();
    if (!model) return;
    check_window(&m0, &m1, "model_from_buffer with mem makes no heap call (the reading's scratch is in mem)");
    CHECK_ST(swann_session_arena_size(model, MAXB, &ab), SWANN_OK, "session_arena_size");
    void *arena = test_aligned_block(ab);
    swann_session *s = NULL;
    struct snapshot a = snap();
    swann_status st = swann_session_create(model, MAXB, arena, ab, &s);
    struct snapshot b = snap();
    CHECK_ST(st, SWANN_OK, "session_create (host arena)");
    check_window(&a, &b, "session_create with a host arena makes no heap call");
    if (!s) return;
    int bad = 0, wrong = 0;
    a = snap();
    for (int i = 0; i < 1000; i++) {
        size_t batch = 1 + (size_t)(i % MAXB);
        if (swann_session_run(s, X, batch, Y) != SWANN_OK) bad++;
        if (i % 10 == 0) {
            if (swann_session_run(s, X, 0, Y) != SWANN_E_SHAPE) wrong++;
            if (swann_session_run(s, X, MAXB + 1, Y) != SWANN_E_SHAPE) wrong++;
            if (swann_session_run(s, XN, 2, Y) != SWANN_E_NUMERIC) wrong++;
            if (swann_session_run(s, NULL, 1, Y) != SWANN_E_ARG) wrong++;
            if (swann_session_run(NULL, X, 1, Y) != SWANN_E_ARG) wrong++;
            if (swann_model_destroy(model) != SWANN_E_STATE) wrong++;
            (void)swann_last_error();
        }
    }
    b = snap();
    check_window(&a, &b, "1000 session_run calls (every batch size, and refused ones) make no heap call");
    CHECKF(bad == 0 && wrong == 0, "session_run calls in the window gave the expected statuses", "%d / %d", bad,
           wrong);
    a = snap();
    swann_session_destroy(s);
    st = swann_model_destroy(model);
    b = snap();
    CHECK_ST(st, SWANN_OK, "model_destroy");
    check_window(&a, &b, "session_destroy (host arena) and model_destroy (host mem) make no heap call");

    /* a library session over a library model: runs allocate nothing either */
    swann_model_from_net(net, &model);
    swann_session_create(model, MAXB, NULL, 0, &s);
    a = snap();
    for (int i = 0; i < 200; i++) bad += swann_session_run(s, X, 1 + (size_t)(i % MAXB), Y) != SWANN_OK;
    b = snap();
    check_window(&a, &b, "session_run on a library session and model makes no heap call");
    swann_session_destroy(s);
    swann_model_destroy(model);
    test_free_block(arena, ab);
    test_free_block(mem, mem_bytes);
    test_free_block(bytes, size);
    swann_destroy(net);
}

/* Compact models (f16, int8): from_buffer in the host's mem, a session in a host
 * arena, and every run make no heap call (int8's quantized rows live in the arena). */
static void group_compact_sessions(void)
{
    swann_net *net = NULL;
    CHECK_ST(swann_create(SPEC_MOM, MAXB, NULL, 0, &net), SWANN_OK, "create a net for the compact models");
    if (!net) return;
    swann_model *m32 = NULL;
    swann_model_from_net(net, &m32);
    const char *dtypes[2] = {"f16", "int8"};
    for (int d = 0; d < 2; d++) {
        swann_model *q = NULL;
        CHECK_ST(swann_model_quantize(m32, dtypes[d], &q), SWANN_OK, "model_quantize");
        size_t size = 0, mem_bytes = 0, ab = 0;
        swann_model_save_buffer(q, NULL, 0, &size);
        unsigned char *bytes = test_aligned_block(size);
        swann_model_save_buffer(q, bytes, size, &size);
        swann_model_destroy(q);
        CHECK_ST(swann_model_mem_size(bytes, size, &mem_bytes), SWANN_OK, "model_mem_size of compact bytes");
        void *mem = test_aligned_block(mem_bytes);
        swann_model *model = NULL;
        struct snapshot a = snap();
        swann_status st = swann_model_from_buffer(bytes, size, mem, mem_bytes, &model);
        swann_session_arena_size(model, MAXB, &ab);
        void *arena = test_aligned_block(ab);
        swann_session *s = NULL;
        swann_session_create(model, MAXB, arena, ab, &s);
        int bad = 0;
        for (int i = 0; i < 500; i++) bad += swann_session_run(s, X, 1 + (size_t)(i % MAXB), Y) != SWANN_OK;
        swann_session_destroy(s);
        swann_model_destroy(model);
        struct snapshot b = snap();
        CHECKF(st == SWANN_OK && bad == 0, "compact model in mem, session in a host arena, 500 runs", "%s", dtypes[d]);
        check_window(&a, &b, d ? "int8: from_buffer with mem, session_create, 500 runs make no heap call"
                               : "f16: from_buffer with mem, session_create, 500 runs make no heap call");
        test_free_block(arena, ab);
        test_free_block(mem, mem_bytes);
        test_free_block(bytes, size);
    }
    swann_model_destroy(m32);
    swann_destroy(net);
}

int main(void)
{
    check_init("test_noalloc");
    fill();
    have_shim = shim_loaded();
    RUN_GROUP(group_shim);
    RUN_GROUP(group_cold_error);
    RUN_GROUP(group_other_thread);
    RUN_GROUP(group_library_arena);
    RUN_GROUP(group_host_arena);
    RUN_GROUP(group_host_load);
    RUN_GROUP(group_threads);
    RUN_GROUP(group_sessions);
    RUN_GROUP(group_compact_sessions);
    return check_finish();
}
