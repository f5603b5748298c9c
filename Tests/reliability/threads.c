/*
 * threads.c -- swann under many threads at once (run plain, under ASan, and
 * against the ThreadSanitizer build, where any data race fails the run).
 *
 *   group_own_nets      16 threads, each creating, training, saving and loading its
 *                       own nets (every activation, loss and optimizer) at the same
 *                       time, interleaved with failing calls: every thread's results
 *                       are bit-identical to the same work done alone beforehand (no
 *                       global RNG, scratch or state), and swann_last_error() always
 *                       shows the calling thread's own last failure (its own numbers
 *                       in the message), untouched by its successful calls.
 *   group_shared_model  one model file served by 8 threads, each through its own nets
 *                       loaded from that file again and again (library and host
 *                       arenas): every output equals the single-threaded reference.
 *   group_hot_reload    one thread saves two different models over the same path again
 *                       and again while 4 threads load it: every load succeeds and
 *                       gives exactly one of the two models (save is an atomic rename);
 *                       two threads saving to one path at once both succeed, one wins.
 *   group_pooled_nets   nets with worker threads ("threads": 2) driven by 3 host threads
 *                       at once: results equal a one-thread net's.
 *   group_parse_storm   threads parsing good and bad specs and files at once: statuses
 *                       and messages are each thread's own.
 */
#include "check.h"

#include <pthread.h>
#include <sys/stat.h>

static char DIR_[256];

/* ---- deterministic work for one net ------------------------------------------ */

static const char *SPECS[] = {
    "{\"input\": 6, \"layers\": [{\"units\": 12, \"activation\": \"relu\"}, {\"units\": 4, \"activation\": \"softmax\"}],"
    " \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9}, \"seed\": %d}",
    "{\"input\": 6, \"layers\": [{\"units\": 10, \"activation\": \"tanh\"}, {\"units\": 4, \"activation\": \"sigmoid\"}],"
    " \"loss\": \"binary_cross_entropy\", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01}, \"seed\": %d}",
    "{\"input\": 6, \"layers\": [{\"units\": 8, \"activation\": \"gelu\"}, {\"units\": 8, \"activation\": \"elu\"},"
    " {\"units\": 4, \"activation\": \"identity\"}], \"loss\": \"mse\", \"optimizer\": {\"type\": \"rmsprop\","
    " \"lr\": 0.01, \"centered\": true}, \"seed\": %d}",
    "{\"input\": 6, \"layers\": [{\"units\": 9, \"activation\": \"softplus\"}, {\"units\": 4, \"activation\": \"softmax\"}],"
    " \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"adamw\", \"lr\": 0.01, \"schedule\": {\"type\": \"cosine\","
    " \"t_max\": 50}}, \"seed\": %d}",
    "{\"input\": 6, \"layers\": [{\"units\": 7, \"activation\": \"leaky_relu\"}, {\"units\": 4, \"activation\": \"tanh\"}],"
    " \"loss\": \"none\", \"optimizer\": {\"type\": \"rprop\"}, \"seed\": %d}",
};
#define NSPECS 5
#define IN 6
#define OUT 4
#define MB 8
#define STEPS 120

struct work {
    int id;
    uint64_t hash;      /* of the final parameters */
    double loss_sum;
    int failures;       /* checks that failed inside the thread */
    char first[300];    /* the first of them */
};

static void note(struct work *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct work *w, const char *fmt, ...)
{
    if (w->failures++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->first, sizeof w->first, fmt, ap);
        va_end(ap);
    }
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

/* A failing call whose message carries this thread's own number; then a good
 * call; the message must still be the thread's own. */
static void error_probe(struct work *w, swann_net *n)
{
    size_t bad = 100000 + (size_t)w->id;
    float x[IN] = {0};
    if (swann_forward(n, x, bad, NULL) != SWANN_E_SHAPE) { note(w, "batch %zu not refused", bad); return; }
    char want[64];
    snprintf(want, sizeof want, "batch %zu exceeds", bad);
    if (!strstr(swann_last_error(), want)) note(w, "thread %d sees another message: %s", w->id, swann_last_error());
    size_t t;
    swann_accumulated_rows(n, &t);  /* a success leaves the message alone */
    if (!strstr(swann_last_error(), want)) note(w, "thread %d: message changed by a success: %s", w->id, swann_last_error());
}

static void train_one(struct work *w)
{
    char spec[1024], path[400];
    int s = w->id % NSPECS;
    snprintf(spec, sizeof spec, SPECS[s], 100 + w->id);
    snprintf(path, sizeof path, "%s/own-%d.safetensors", DIR_, w->id);
    swann_net *n = NULL;
    if (swann_create(spec, MB, NULL, 0, &n) != SWANN_OK) { note(w, "create: %s", swann_last_error()); return; }
    uint64_t rng = 1000 + (uint64_t)w->id;
    float x[MB * IN], d[MB * OUT];
    w->loss_sum = 0;
    for (int step = 0; step < STEPS; step++) {
        for (int i = 0; i < MB * IN; i++) x[i] = (float)rng_uniform(&rng, -1, 1);
        memset(d, 0, sizeof d);
        for (int r = 0; r < MB; r++) {
            int c = (int)(rng_next(&rng) % OUT);
            d[r * OUT + c] = 1;
        }
        float loss = 0;
        if (swann_forward(n, x, MB, NULL) != SWANN_OK) { note(w, "forward: %s", swann_last_error()); break; }
        swann_status st = s == 4 ? swann_backward_grad(n, d, NULL) : swann_backward(n, d, &loss, NULL);
        if (st != SWANN_OK) { note(w, "backward: %s", swann_last_error()); break; }
        if (swann_step(n) != SWANN_OK) { note(w, "step: %s", swann_last_error()); break; }
        w->loss_sum += loss;
        if (step % 10 == 0) error_probe(w, n);
        if (step == STEPS / 2) {
            /* save, destroy, load back and go on: the file is this thread's own */
            if (swann_save(n, path) != SWANN_OK) { note(w, "save: %s", swann_last_error()); break; }
            swann_destroy(n);
            n = NULL;
            if (swann_load(path, MB, NULL, 0, &n) != SWANN_OK) { note(w, "load: %s", swann_last_error()); break; }
        }
    }
    if (n) {
        float *p;
        size_t c;
        swann_params(n, &p, &c);
        w->hash = fnv(p, c * sizeof(float), 0xcbf29ce484222325ull);
        swann_destroy(n);
    }
    unlink(path);
}

static pthread_barrier_t barrier;

static void *own_nets_thread(void *arg)
{
    struct work *w = arg;
    pthread_barrier_wait(&barrier);
    train_one(w);
    return NULL;
}

#define NT 16

static void group_own_nets(void)
{
    struct work ref[NT], got[NT];
    for (int i = 0; i < NT; i++) {
        memset(&ref[i], 0, sizeof ref[i]);
        ref[i].id = i;
        train_one(&ref[i]);  /* alone, one after another */
    }
    pthread_t th[NT];
    pthread_barrier_init(&barrier, NULL, NT);
    for (int i = 0; i < NT; i++) {
        memset(&got[i], 0, sizeof got[i]);
        got[i].id = i;
        pthread_create(&th[i], NULL, own_nets_thread, &got[i]);
    }
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    int same = 1, fails = 0;
    char first[400] = "";
    for (int i = 0; i < NT; i++) {
        if (ref[i].failures || got[i].failures) {
            if (!fails++) snprintf(first, sizeof first, "thread %d: %s", i, got[i].failures ? got[i].first : ref[i].first);
        }
        if (ref[i].hash != got[i].hash || ref[i].loss_sum != got[i].loss_sum) same = 0;
    }
    CHECKF(fails == 0, "16 threads, own nets: every call as expected, every message the thread's own",
           "%d threads saw problems; %s", fails, first);
    CHECK(same, "16 threads at once train their nets bit-identically to the same work done alone");
}

/* ---- one model file, many readers ---------------------------------------------- */

#define SHARED_IN 20
#define SHARED_OUT 5
#define SHARED_ROWS 32
static const char *SHARED_SPEC =
    "{\"input\": 20, \"layers\": [{\"units\": 32, \"activation\": \"relu\"}, {\"units\": 16, \"activation\": \"tanh\"},"
    " {\"units\": 5, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"adam\"},"
    " \"seed\": 77}";
static char SHARED_PATH[400];
static float SX[SHARED_ROWS * SHARED_IN], SY[SHARED_ROWS * SHARED_OUT];
static char SHARED_CANON[2048];

static void *reader_thread(void *arg)
{
    struct work *w = arg;
    pthread_barrier_wait(&barrier);
    float y[SHARED_ROWS * SHARED_OUT];
    for (int round = 0; round < 12; round++) {
        size_t need = 0;
        if (swann_load_size(SHARED_PATH, 16, &need) != SWANN_OK) { note(w, "load_size: %s", swann_last_error()); break; }
        void *arena = NULL;
        swann_net *n = NULL;
        int host = (round + w->id) % 2;
        if (host && posix_memalign(&arena, SWANN_ARENA_ALIGNMENT, need) != 0) { note(w, "posix_memalign"); break; }
        if (swann_load(SHARED_PATH, 16, arena, host ? need : 0, &n) != SWANN_OK) {
            note(w, "load: %s", swann_last_error());
            free(arena);
            break;
        }
        /* in two batches of 16, as a server would */
        if (swann_forward(n, SX, 16, y) != SWANN_OK ||
            swann_forward(n, SX + 16 * SHARED_IN, 16, y + 16 * SHARED_OUT) != SWANN_OK)
            note(w, "forward: %s", swann_last_error());
        else if (memcmp(y, SY, sizeof y) != 0)
            note(w, "round %d: outputs differ from the reference", round);
        char canon[2048];
        if (swann_spec_json(n, canon, sizeof canon, &need) != SWANN_OK || strcmp(canon, SHARED_CANON) != 0)
            note(w, "round %d: spec differs", round);
        if (round % 4 == 0) error_probe(w, n);
        swann_destroy(n);
        free(arena);
    }
    return NULL;
}

static void group_shared_model(void)
{
    swann_net *n = NULL;
    CHECK_ST(swann_create(SHARED_SPEC, SHARED_ROWS, NULL, 0, &n), SWANN_OK, "create the served model");
    if (!n) return;
    uint64_t rng = 5;
    for (int i = 0; i < SHARED_ROWS * SHARED_IN; i++) SX[i] = (float)rng_uniform(&rng, -2, 2);
    float d[SHARED_ROWS * SHARED_OUT] = {0};
    for (int r = 0; r < SHARED_ROWS; r++) d[r * SHARED_OUT + r % SHARED_OUT] = 1;
    for (int k = 0; k < 20; k++) {
        swann_forward(n, SX, SHARED_ROWS, NULL);
        swann_backward(n, d, NULL, NULL);
        swann_step(n);
    }
    snprintf(SHARED_PATH, sizeof SHARED_PATH, "%s/served.safetensors", DIR_);
    CHECK_ST(swann_save(n, SHARED_PATH), SWANN_OK, "save the served model");
    swann_destroy(n);
    /* the reference: one load, one thread, in two batches of 16 as the readers do */
    swann_net *r = NULL;
    CHECK_ST(swann_load(SHARED_PATH, 16, NULL, 0, &r), SWANN_OK, "reference load");
    if (!r) return;
    swann_forward(r, SX, 16, SY);
    swann_forward(r, SX + 16 * SHARED_IN, 16, SY + 16 * SHARED_OUT);
    size_t need;
    swann_spec_json(r, SHARED_CANON, sizeof SHARED_CANON, &need);
    swann_destroy(r);

    enum { R = 8 };
    struct work w[R];
    pthread_t th[R];
    pthread_barrier_init(&barrier, NULL, R);
    for (int i = 0; i < R; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = 200 + i;
        pthread_create(&th[i], NULL, reader_thread, &w[i]);
    }
    int fails = 0;
    char first[400] = "";
    for (int i = 0; i < R; i++) {
        pthread_join(th[i], NULL);
        if (w[i].failures && !fails++) snprintf(first, sizeof first, "reader %d: %s", i, w[i].first);
    }
    pthread_barrier_destroy(&barrier);
    CHECKF(fails == 0, "8 threads serve one model file, each through its own nets loaded 12 times: every output "
           "equals the single-threaded reference", "%d readers failed; %s", fails, first);
    unlink(SHARED_PATH);
}

/* ---- a model file replaced while it is being loaded ---------------------------- */

static float *HOT_A, *HOT_B;
static size_t HOT_COUNT;
static volatile int hot_stop;

static void *hot_reader(void *arg)
{
    struct work *w = arg;
    pthread_barrier_wait(&barrier);
    long loads = 0;
    while (!__atomic_load_n(&hot_stop, __ATOMIC_ACQUIRE) || loads < 20) {
        swann_net *n = NULL;
        if (swann_load(SHARED_PATH, 4, NULL, 0, &n) != SWANN_OK) {
            note(w, "load %ld while saving: %s", loads, swann_last_error());
            break;
        }
        float *p;
        size_t c;
        swann_params(n, &p, &c);
        if (c != HOT_COUNT || (memcmp(p, HOT_A, c * sizeof(float)) != 0 && memcmp(p, HOT_B, c * sizeof(float)) != 0))
            note(w, "load %ld gave a model that is neither of the two saved", loads);
        swann_destroy(n);
        loads++;
    }
    w->loss_sum = (double)loads;
    return NULL;
}

static void *saver_thread(void *arg)
{
    struct saver { swann_net *net; int fails; } *sv = arg;
    pthread_barrier_wait(&barrier);
    for (int k = 0; k < 30; k++)
        if (swann_save(sv->net, SHARED_PATH) != SWANN_OK) sv->fails++;
    return NULL;
}

static void group_hot_reload(void)
{
    swann_net *a = NULL, *b = NULL;
    char spec_b[1024];
    snprintf(spec_b, sizeof spec_b, "%s", SHARED_SPEC);
    char *seed = strstr(spec_b, "\"seed\": 77");
    if (seed) seed[9] = '8';  /* seed 78: other parameters */
    CHECK_ST(swann_create(SHARED_SPEC, 4, NULL, 0, &a), SWANN_OK, "model A");
    CHECK_ST(swann_create(spec_b, 4, NULL, 0, &b), SWANN_OK, "model B");
    if (!a || !b) return;
    snprintf(SHARED_PATH, sizeof SHARED_PATH, "%s/hot.safetensors", DIR_);
    swann_params(a, &HOT_A, &HOT_COUNT);
    size_t cb;
    swann_params(b, &HOT_B, &cb);
    CHECK(cb == HOT_COUNT && memcmp(HOT_A, HOT_B, cb * sizeof(float)) != 0, "A and B differ");
    CHECK_ST(swann_save(a, SHARED_PATH), SWANN_OK, "first save");
    enum { R = 4 };
    struct work w[R];
    pthread_t th[R];
    hot_stop = 0;
    pthread_barrier_init(&barrier, NULL, R + 1);
    for (int i = 0; i < R; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = 400 + i;
        pthread_create(&th[i], NULL, hot_reader, &w[i]);
    }
    pthread_barrier_wait(&barrier);
    int saves = 0, save_fail = 0;
    for (int k = 0; k < 60; k++) {
        if (swann_save(k % 2 ? a : b, SHARED_PATH) != SWANN_OK) save_fail++;
        saves++;
    }
    __atomic_store_n(&hot_stop, 1, __ATOMIC_RELEASE);
    int fails = 0;
    long loads = 0;
    char first[400] = "";
    for (int i = 0; i < R; i++) {
        pthread_join(th[i], NULL);
        loads += (long)w[i].loss_sum;
        if (w[i].failures && !fails++) snprintf(first, sizeof first, "reader %d: %s", i, w[i].first);
    }
    pthread_barrier_destroy(&barrier);
    CHECKF(save_fail == 0, "60 saves over the file while it is being loaded", "%d failed", save_fail);
    CHECKF(fails == 0, "4 threads loading a file being replaced: every load succeeds with model A or model B",
           "%s", first);
    printf("# hot reload: %d saves, %ld loads\n", saves, loads);
    /* the folder holds only the model: no temporary file left behind */
    int stray = 0;
    FILE *ls = NULL;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls -a '%s'", DIR_);
    ls = popen(cmd, "r");
    if (ls) {
        char line[512];
        while (fgets(line, sizeof line, ls))
            if (strstr(line, ".tmp")) stray++;
        pclose(ls);
    }
    CHECKF(stray == 0, "no temporary file left next to the model", "%d left", stray);

    /* two threads saving to the same path at once: both succeed, one wins */
    struct saver { swann_net *net; int fails; } sv[2] = {{a, 0}, {b, 0}};
    pthread_t st[2];
    pthread_barrier_init(&barrier, NULL, 2);
    for (int i = 0; i < 2; i++) pthread_create(&st[i], NULL, saver_thread, &sv[i]);
    for (int i = 0; i < 2; i++) pthread_join(st[i], NULL);
    pthread_barrier_destroy(&barrier);
    CHECKF(sv[0].fails + sv[1].fails == 0, "two threads saving to one path at once: every save succeeds",
           "%d failed", sv[0].fails + sv[1].fails);
    swann_net *last = NULL;
    CHECK_ST(swann_load(SHARED_PATH, 4, NULL, 0, &last), SWANN_OK, "the file loads afterwards");
    if (last) {
        float *p;
        size_t c;
        swann_params(last, &p, &c);
        CHECK(c == HOT_COUNT && (!memcmp(p, HOT_A, c * sizeof(float)) || !memcmp(p, HOT_B, c * sizeof(float))),
              "... as one of the two models");
        swann_destroy(last);
    }
    unlink(SHARED_PATH);
    swann_destroy(a);
    swann_destroy(b);
}

/* ---- nets with worker threads, driven from several host threads ---------------- */

#define PIN 256
#define PHID 128
#define POUT 8
#define PB 64
static const char *POOL_SPEC =
    "{\"input\": 256, \"layers\": [{\"units\": 128, \"activation\": \"relu\"}, {\"units\": 8, \"activation\": \"softmax\"}],"
    " \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.05}, \"seed\": %d, \"threads\": %d}";

struct pool_work {
    struct work w;
    int threads;
};

static void pool_train(struct pool_work *pw)
{
    static float x[PB * PIN];  /* read-only after setup */
    static int ready;
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        uint64_t rng = 9;
        for (int i = 0; i < PB * PIN; i++) x[i] = (float)rng_uniform(&rng, -1, 1);
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    char spec[600];
    snprintf(spec, sizeof spec, POOL_SPEC, 300 + pw->w.id, pw->threads);
    swann_net *n = NULL;
    if (swann_create(spec, PB, NULL, 0, &n) != SWANN_OK) { note(&pw->w, "create: %s", swann_last_error()); return; }
    float d[PB * POUT] = {0};
    for (int r = 0; r < PB; r++) d[r * POUT + (r + pw->w.id) % POUT] = 1;
    for (int k = 0; k < 4; k++) {
        float loss = 0;
        if (swann_forward(n, x, PB, NULL) != SWANN_OK || swann_backward(n, d, &loss, NULL) != SWANN_OK ||
            swann_step(n) != SWANN_OK) {
            note(&pw->w, "training: %s", swann_last_error());
            break;
        }
        pw->w.loss_sum += loss;
        if (k == 1 && pw->threads > 1 && swann_set_threads(n, 1) != SWANN_OK) note(&pw->w, "set_threads(1)");
        if (k == 2 && pw->threads > 1 && swann_set_threads(n, 2) != SWANN_OK) note(&pw->w, "set_threads(2)");
    }
    float *p;
    size_t c;
    swann_params(n, &p, &c);
    pw->w.hash = fnv(p, c * sizeof(float), 0xcbf29ce484222325ull);
    swann_destroy(n);
}

static void *pool_thread(void *arg)
{
    pthread_barrier_wait(&barrier);
    pool_train(arg);
    return NULL;
}

static void group_pooled_nets(void)
{
    char probe[600];
    swann_net *n = NULL;
    snprintf(probe, sizeof probe, POOL_SPEC, 1, 2);
    if (swann_create(probe, 2, NULL, 0, &n) != SWANN_OK) {
        printf("# \"threads\" not accepted by this library (%s): group skipped\n", swann_last_error());
        return;
    }
    swann_destroy(n);
    enum { H = 3 };
    struct pool_work ref[H], got[H];
    pthread_t th[H];
    for (int i = 0; i < H; i++) {
        memset(&ref[i], 0, sizeof ref[i]);
        ref[i].w.id = i;
        ref[i].threads = 1;
        pool_train(&ref[i]);
    }
    pthread_barrier_init(&barrier, NULL, H);
    for (int i = 0; i < H; i++) {
        memset(&got[i], 0, sizeof got[i]);
        got[i].w.id = i;
        got[i].threads = 2;
        pthread_create(&th[i], NULL, pool_thread, &got[i]);
    }
    int same = 1, fails = 0;
    char first[400] = "";
    for (int i = 0; i < H; i++) {
        pthread_join(th[i], NULL);
        if ((got[i].w.failures || ref[i].w.failures) && !fails++)
            snprintf(first, sizeof first, "%s", got[i].w.failures ? got[i].w.first : ref[i].w.first);
        same &= got[i].w.hash == ref[i].w.hash && got[i].w.loss_sum == ref[i].w.loss_sum;
    }
    pthread_barrier_destroy(&barrier);
    CHECKF(fails == 0, "3 host threads each driving a net with 2 worker threads", "%s", first);
    CHECK(same, "... give results bit-identical to one-thread nets");
}

/* ---- parsing at once ------------------------------------------------------------- */

static const char *BAD_SPECS[] = {
    "{\"input\": 3, \"layers\": [], \"loss\": \"mse\"}",
    "{\"input\": 3, \"layers\": [{\"units\": 2, \"activation\": \"relu\"}], \"loss\": \"mse\", \"input\": 4}",
    "{\"input\": 3, \"layers\": [{\"units\": 2, \"activation\": \"swish\"}], \"loss\": \"mse\"}",
    "{\"input\": 3, \"layers\": [{\"units\": 2, \"activation\": \"relu\"}], \"loss\": \"mse\"",
    "[1, 2, 3]",
    "{\"input\": 3.5, \"layers\": [{\"units\": 2, \"activation\": \"relu\"}], \"loss\": \"mse\"}",
};

static void *parse_thread(void *arg)
{
    struct work *w = arg;
    char good[1024], garbage_path[400], missing[400];
    snprintf(good, sizeof good, SPECS[w->id % NSPECS], w->id);
    snprintf(garbage_path, sizeof garbage_path, "%s/garbage-%d", DIR_, w->id);
    snprintf(missing, sizeof missing, "%s/missing-%d/x.safetensors", DIR_, w->id);
    FILE *f = fopen(garbage_path, "wb");
    if (f) {
        fprintf(f, "%c%c%c%c%c%c%c%c{\"__metadata__\": {\"format\": \"swann\"}}", 40, 0, 0, 0, 0, 0, 0, 0);
        fclose(f);
    }
    pthread_barrier_wait(&barrier);
    for (int round = 0; round < 200; round++) {
        size_t bytes = 0, need = 0;
        const char *bad = BAD_SPECS[(round + w->id) % (sizeof BAD_SPECS / sizeof BAD_SPECS[0])];
        if (swann_arena_size(bad, 4, &bytes) != SWANN_E_SPEC) note(w, "a bad spec passed: %s", bad);
        char msg[600];
        snprintf(msg, sizeof msg, "%s", swann_last_error());
        if (swann_arena_size(good, 4, &bytes) != SWANN_OK) note(w, "a good spec failed: %s", swann_last_error());
        if (strcmp(msg, swann_last_error()) != 0) note(w, "message changed by a success");
        if (swann_load_size(garbage_path, 4, &need) != SWANN_E_FORMAT) note(w, "garbage file: %s", swann_last_error());
        if (!strstr(swann_last_error(), "garbage-")) note(w, "message not about this thread's file: %s", swann_last_error());
        if (swann_load_size(missing, 4, &need) != SWANN_E_IO) note(w, "missing file: %s", swann_last_error());
        char own[64];
        snprintf(own, sizeof own, "missing-%d/", w->id);
        if (!strstr(swann_last_error(), own)) note(w, "message not about this thread's path: %s", swann_last_error());
    }
    unlink(garbage_path);
    return NULL;
}

static void group_parse_storm(void)
{
    enum { K = 8 };
    struct work w[K];
    pthread_t th[K];
    pthread_barrier_init(&barrier, NULL, K);
    for (int i = 0; i < K; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i;
        pthread_create(&th[i], NULL, parse_thread, &w[i]);
    }
    int fails = 0;
    char first[400] = "";
    for (int i = 0; i < K; i++) {
        pthread_join(th[i], NULL);
        if (w[i].failures && !fails++) snprintf(first, sizeof first, "thread %d: %s", i, w[i].first);
    }
    pthread_barrier_destroy(&barrier);
    CHECKF(fails == 0, "8 threads parse good and bad specs and files at once: right statuses, own messages",
           "%d threads failed; %s", fails, first);
}

int main(void)
{
    check_init("threads");
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(DIR_, sizeof DIR_, "%s/swann-threads-XXXXXX", base);
    if (!mkdtemp(DIR_)) {
        CHECK(0, "mkdtemp");
        return check_finish();
    }
    RUN_GROUP(group_own_nets);
    RUN_GROUP(group_shared_model);
    RUN_GROUP(group_hot_reload);
    RUN_GROUP(group_pooled_nets);
    RUN_GROUP(group_parse_storm);
    rmdir(DIR_);
    return check_finish();
}
