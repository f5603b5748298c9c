/*
 * nomem_create.c -- swann_arena_size and swann_create when the heap runs out.
 *
 * Run with LD_PRELOAD=alloc_shim.so. For each spec and each call (arena_size,
 * create with a library arena, create into a host arena), and for n = 1, 2, ...,
 * the n-th heap allocation inside the call fails, in a forked child (so a
 * crash is one FAIL line and the sweep goes on), until the call makes fewer
 * than n allocations and succeeds. Every injected failure must:
 *   - return SWANN_E_NOMEM (the spec is valid: SWANN_E_SPEC would send the host
 *     looking for a mistake that is not there), with a message;
 *   - leave *out NULL and leak nothing (blocks allocated minus freed is back
 *     where it was);
 *   - leave the library working: the same call, with the heap back, succeeds
 *     and the net trains, and destroying it frees everything.
 * (Save, load and load_size are swept by Tests/checkpoint/test_nomem.c.)
 *
 * Prints "# points tried: N" for the report.
 */
#include "check.h"
#include "alloc_shim.h"

static const char *SPECS[] = {
    "{\"input\": 4, \"layers\": [{\"units\": 8, \"activation\": \"relu\"}, {\"units\": 3, \"activation\": \"softmax\"}],"
    " \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9}, \"seed\": 1}",
    "{\"input\": 3, \"layers\": [{\"units\": 4, \"activation\": \"identity\"}, {\"units\": 4, \"activation\": \"sigmoid\"},"
    " {\"units\": 4, \"activation\": \"tanh\"}, {\"units\": 4, \"activation\": \"leaky_relu\", \"alpha\": 0.2},"
    " {\"units\": 4, \"activation\": \"elu\", \"alpha\": 0.5}, {\"units\": 4, \"activation\": \"softplus\"},"
    " {\"units\": 4, \"activation\": \"gelu\"}, {\"units\": 2, \"activation\": \"sigmoid\"}],"
    " \"loss\": \"binary_cross_entropy\", \"init\": \"xavier\", \"seed\": 7}",
    "{\"input\": 2, \"layers\": [{\"units\": 3, \"activation\": \"tanh\"}, {\"units\": 1, \"activation\": \"identity\"}],"
    " \"loss\": \"mse\", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.001, \"amsgrad\": true, \"clip_norm\": 5.0,"
    " \"schedule\": {\"type\": \"step\", \"step_size\": 10, \"gamma\": 0.5, \"warmup_steps\": 3}}}",
    "{\"input\": 3, \"layers\": [{\"units\": 3, \"activation\": \"elu\"}, {\"units\": 2, \"activation\": \"softmax\"}],"
    " \"loss\": \"binary_cross_entropy\", \"optimizer\": {\"type\": \"rmsprop\", \"momentum\": 0.5, \"centered\": true}}",
    "{\"input\": 6, \"layers\": [{\"units\": 5, \"activation\": \"gelu\"}, {\"units\": 2, \"activation\": \"identity\"}],"
    " \"loss\": \"none\", \"optimizer\": {\"type\": \"rprop\", \"schedule\": {\"type\": \"cosine\", \"t_max\": 9}},"
    " \"threads\": 3, \"seed\": 3}",
};
#define NSPECS (sizeof SPECS / sizeof SPECS[0])
#define MB 4
#define MAX_N 5000

enum call { C_SIZE, C_CREATE, C_CREATE_HOST, C_COUNT };
static const char *CALL[] = {"arena_size", "create", "create into a host arena"};

enum {
    F_STATUS = 1,    /* not SWANN_E_NOMEM */
    F_OUT = 2,       /* *out not NULL after a failure */
    F_LEAK = 4,      /* blocks left behind */
    F_RETRY = 8,     /* the same call with the heap back failed, or its net did not train */
    F_MESSAGE = 16,  /* no message */
    F_WRONG = 32,    /* the call succeeded despite the failure, with a different net */
    DONE = 1024      /* the call made fewer than n allocations */
};

/* What a child reports (shared page). */
static struct result {
    int flags;
    char site[160];
    char note[300];
} *R;

/* The net a clean call gives, to compare with one that succeeded despite a failure. */
static struct reference {
    size_t bytes;
    char canon[2048];
    float params[256];
    size_t count;
} REF;

static swann_status run_call(enum call c, const char *spec, swann_net **out, void *arena, size_t bytes)
{
    size_t b = 0;
    swann_status st;
    switch (c) {
    case C_SIZE:
        st = swann_arena_size(spec, MB, &b);
        if (st == SWANN_OK && b != REF.bytes) R->flags |= F_WRONG;
        return st;
    case C_CREATE: return swann_create(spec, MB, NULL, 0, out);
    default: return swann_create(spec, MB, arena, bytes, out);
    }
}

/* 1 when `net` is the reference net. */
static int same_as_reference(swann_net *net)
{
    char canon[2048];
    size_t need = 0;
    float *p;
    size_t count;
    if (swann_spec_json(net, canon, sizeof canon, &need) != SWANN_OK || strcmp(canon, REF.canon) != 0) return 0;
    if (swann_params(net, &p, &count) != SWANN_OK || count != REF.count) return 0;
    return memcmp(p, REF.params, count * sizeof(float)) == 0;
}

/* A child that crashes still says where the failed allocation was. */
static void on_crash(int sig)
{
    snprintf(R->site, sizeof R->site, "%s", shim_site());
    R->flags |= 2048 | (sig << 16);
    _exit(3);
}

/* In a child: fail allocation n of the call. */
static void child(enum call c, const char *spec, long n, void *arena, size_t bytes)
{
    swann_net *sentinel = (swann_net *)&R, *net = sentinel;
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGABRT, on_crash);
    signal(SIGILL, on_crash);
    signal(SIGTRAP, on_crash);
    long live0 = shim_live();
    shim_arm(n);
    swann_status st = run_call(c, spec, &net, arena, bytes);
    int injected = shim_injected();
    shim_arm(0);
    if (!injected) {
        /* fewer than n allocations: the call ran to the end */
        if (st != SWANN_OK) {
            R->flags |= F_STATUS;
            snprintf(R->note, sizeof R->note, "made %ld allocations, none failed, and returned %s (%s)", shim_seen(),
                     swann_status_name(st), swann_last_error());
        }
        if (st == SWANN_OK && c != C_SIZE) swann_destroy(net);
        R->flags |= DONE;
        _exit(0);
    }
    snprintf(R->site, sizeof R->site, "%s", shim_site());
    if (st == SWANN_OK) {
        /* the library got by without the block: fine if the result is right */
        char canon[2048] = "";
        if (c != C_SIZE) {
            size_t need;
            if (!same_as_reference(net)) R->flags |= F_WRONG;
            swann_spec_json(net, canon, sizeof canon, &need);
            swann_destroy(net);
        }
        if (R->flags & F_WRONG)
            snprintf(R->note, sizeof R->note, "succeeded with a different net%s%.240s", canon[0] ? "; its spec: " : "",
                     canon);
    } else {
        if (st != SWANN_E_NOMEM) R->flags |= F_STATUS;
        if (swann_last_error()[0] == 0) R->flags |= F_MESSAGE;
        if (c != C_SIZE && net != NULL) R->flags |= F_OUT;
        snprintf(R->note, sizeof R->note, "%s (%s)", swann_status_name(st), swann_last_error());
    }
    if (shim_live() != live0) {
        R->flags |= F_LEAK;
        size_t k = strlen(R->note);
        snprintf(R->note + k, sizeof R->note - k, "; %ld blocks leaked", shim_live() - live0);
    }
    /* with the heap back, the call works and the net trains */
    long live1 = shim_live();
    net = NULL;
    st = run_call(c, spec, &net, arena, bytes);
    if (st != SWANN_OK) R->flags |= F_RETRY;
    if (st == SWANN_OK && c != C_SIZE) {
        size_t in = swann_input_size(net), out = swann_output_size(net);
        float x[MB * 8] = {0}, t[MB * 8] = {0};
        for (size_t i = 0; i < MB * in; i++) x[i] = 0.1f * (float)(i % 5);
        for (size_t r = 0; r < MB; r++) t[r * out] = 1;
        if (!same_as_reference(net) || swann_forward(net, x, MB, NULL) != SWANN_OK) R->flags |= F_RETRY;
        swann_status bs = strstr(spec, "\"none\"") ? swann_backward_grad(net, t, NULL) : swann_backward(net, t, NULL, NULL);
        if (bs != SWANN_OK || swann_step(net) != SWANN_OK) R->flags |= F_RETRY;
        swann_destroy(net);
    }
    if (shim_live() != live1) R->flags |= F_LEAK;
    _exit(0);
}

static long points, absorbed;

static const char *flag_text(int f, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s%s%s%s", f & F_STATUS ? " wrong-status" : "", f & F_OUT ? " out-not-NULL" : "",
             f & F_LEAK ? " leak" : "", f & F_RETRY ? " no-recovery" : "", f & F_MESSAGE ? " no-message" : "",
             f & F_WRONG ? " wrong-net" : "");
    return buf;
}

static void sweep(size_t si, enum call c)
{
    const char *spec = SPECS[si];
    size_t bytes = 0;
    void *arena = NULL;
    if (c == C_CREATE_HOST) {
        if (swann_arena_size(spec, MB, &bytes) != SWANN_OK || posix_memalign(&arena, 64, bytes) != 0) {
            CHECK(0, "arena_size for the host arena");
            return;
        }
    }
    int bad = 0, done = 0;
    long n;
    char what[300], first[700] = "", fl[200];
    for (n = 1; n <= MAX_N && !done; n++) {
        memset(R, 0, sizeof *R);
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) { CHECK(0, "fork"); break; }
        if (pid == 0) {
            alarm(20);
            child(c, spec, n, arena, bytes);
        }
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        int f = R->flags;
        if (R->flags & DONE) done = 1;
        else points++;
        if (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0)) {
            int sig = WIFSIGNALED(st) ? WTERMSIG(st) : (R->flags & 2048) ? R->flags >> 16 : 0;
            bad++;
            snprintf(first, sizeof first, "allocation %ld (in %s): the call crashed (%s)", n,
                     R->site[0] ? R->site : "?", sig ? strsignal(sig) : "exit status");
            if (bad <= 5) printf("#   %s\n", first);
            continue;
        }
        if (!done && f == 0 && R->note[0] == 0) absorbed++;
        if (f & ~DONE) {
            char line[700];
            snprintf(line, sizeof line, "allocation %ld (in %s):%s: %s", n, R->site, flag_text(f, fl, sizeof fl),
                     R->note);
            if (!bad++) memcpy(first, line, sizeof first);
            if (bad <= 5) printf("#   %s\n", line);
        }
    }
    snprintf(what, sizeof what, "spec %zu, %s: each of its %ld allocations failed in turn gives SWANN_E_NOMEM, "
             "*out NULL, no leak, and the retry works", si, CALL[c], n - 1);
    CHECKF(done && bad == 0, what, "%d of %ld points wrong; first: %s%s", bad, n - 1, first,
           done ? "" : " (sweep did not finish)");
    free(arena);
}

static void group_sweeps(void)
{
    for (size_t si = 0; si < NSPECS; si++) {
        swann_net *probe = NULL;
        if (swann_create(SPECS[si], MB, NULL, 0, &probe) != SWANN_OK) {
            printf("# spec %zu not accepted by this library (%s): skipped\n", si, swann_last_error());
            continue;
        }
        /* the reference: what a clean call gives */
        size_t need = 0;
        float *p;
        memset(&REF, 0, sizeof REF);
        swann_arena_size(SPECS[si], MB, &REF.bytes);
        swann_spec_json(probe, REF.canon, sizeof REF.canon, &need);
        swann_params(probe, &p, &REF.count);
        if (REF.count > sizeof REF.params / sizeof REF.params[0]) REF.count = 0;
        memcpy(REF.params, p, REF.count * sizeof(float));
        swann_destroy(probe);
        for (int c = 0; c < C_COUNT; c++) sweep(si, (enum call)c);
    }
    printf("# points tried: %ld (%ld where the call got by without the block)\n", points, absorbed);
}

/* The calls' own heap use: a host-arena create keeps nothing, a library-arena
 * create keeps one block (the arena), and destroy returns both to zero. */
static void group_heap_use(void)
{
    long live0 = shim_live();
    size_t bytes = 0;
    swann_net *net = NULL;
    CHECK_ST(swann_arena_size(SPECS[0], MB, &bytes), SWANN_OK, "arena_size");
    CHECKF(shim_live() == live0, "arena_size keeps no heap block", "%ld kept", shim_live() - live0);
    CHECK_ST(swann_create(SPECS[0], MB, NULL, 0, &net), SWANN_OK, "create");
    CHECKF(shim_live() == live0 + 1, "a library-arena net holds exactly one heap block", "%ld held", shim_live() - live0);
    swann_destroy(net);
    CHECKF(shim_live() == live0, "destroy frees it", "%ld left", shim_live() - live0);
    void *arena = NULL;
    if (posix_memalign(&arena, 64, bytes) != 0) return;
    long live1 = shim_live();
    CHECK_ST(swann_create(SPECS[0], MB, arena, bytes, &net), SWANN_OK, "create into a host arena");
    CHECKF(shim_live() == live1, "a host-arena net holds no heap block", "%ld held", shim_live() - live1);
    swann_destroy(net);
    CHECKF(shim_live() == live1, "destroy of a host-arena net frees nothing of the host's", "%ld", shim_live() - live1);
    free(arena);
}

int main(void)
{
    check_init("nomem_create");
    R = mmap(NULL, sizeof *R, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (R == MAP_FAILED) return 1;
    if (!shim_loaded()) {
        CHECK(0, "alloc_shim.so is preloaded (LD_PRELOAD)");
        return check_finish();
    }
    group_heap_use();
    group_sweeps();
    return check_finish();
}
