/*
 * test_fork.c -- nets with worker threads across fork(). The child has the
 * net's memory but not its workers: calls there run on the calling thread
 * alone, with the same bits as the parent's (results never depend on the
 * thread count), and destroy frees the net without joining or waking workers
 * that do not exist (it used to crash the child, or hang it). The parent's net
 * keeps its workers. Each child runs under alarm(), so a regression fails as a
 * SIGALRM instead of hanging the suite. run.sh preloads alloc_shim.so, so a
 * child also checks that destroy freed the net's arena (skipped without it).
 */
#include "check.h"

#include <dlfcn.h>
#include "alloc_shim.h"

enum { B = 64, IN = 300, H1 = 520, H2 = 130, OUT = 10, STEPS = 3, CHILD_SECONDS = 60 };

/* 225k parameters and products of 64 x 520 x 300: the products and the step
 * go to the pool when the net has workers. */
static const char *spec_with(int threads, char *buf, size_t cap)
{
    snprintf(buf, cap, "{\"input\": %d, \"layers\": [{\"units\": %d, \"activation\": \"relu\"},"
             " {\"units\": %d, \"activation\": \"tanh\"}, {\"units\": %d, \"activation\": \"softmax\"}],"
             " \"loss\": \"cross_entropy\", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.001, \"clip_norm\": 1},"
             " \"seed\": 9, \"threads\": %d}", IN, H1, H2, OUT, threads);
    return buf;
}

/* What a run of STEPS forward/backward/step pairs produces, to compare bit for bit. */
struct trace {
    float y[STEPS][B * OUT];
    float loss[STEPS];
    float dx[STEPS][B * IN];
    size_t params;
    float p[IN * H1 + H1 + H1 * H2 + H2 + H2 * OUT + OUT];
    int status;  /* 0 when every call returned SWANN_OK */
};

static float x[B * IN], d[B * OUT];

/* Results a child writes and the parent reads. */
static struct trace *shared_trace(void)
{
    void *m = mmap(NULL, sizeof(struct trace), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

static void make_data(void)
{
    uint64_t rng = 31;
    for (int i = 0; i < B * IN; i++) x[i] = (float)rng_uniform(&rng, -1, 1);
    memset(d, 0, sizeof d);
    for (int r = 0; r < B; r++) d[r * OUT + (r * 7) % OUT] = 1;
}

static void train(swann_net *net, struct trace *t)
{
    t->status = 0;
    for (int s = 0; s < STEPS; s++) {
        t->status |= swann_forward(net, x, B, t->y[s]) != SWANN_OK;
        t->status |= swann_backward(net, d, &t->loss[s], t->dx[s]) != SWANN_OK;
        t->status |= swann_step(net) != SWANN_OK;
    }
    float *p = NULL;
    t->status |= swann_params(net, &p, &t->params) != SWANN_OK;
    if (p && t->params <= sizeof t->p / sizeof t->p[0]) memcpy(t->p, p, t->params * sizeof(float));
    else t->status = 1;
}

static int same(const struct trace *a, const struct trace *b)
{
    return a->status == 0 && b->status == 0 && a->params == b->params &&
           memcmp(a->y, b->y, sizeof a->y) == 0 && memcmp(a->loss, b->loss, sizeof a->loss) == 0 &&
           memcmp(a->dx, b->dx, sizeof a->dx) == 0 && memcmp(a->p, b->p, a->params * sizeof(float)) == 0;
}

/* Forks; the child runs body(arg) under an alarm and exits with its result.
 * Returns the child's wait status, or -1 when fork failed. */
static int in_child(int (*body)(void *), void *arg)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        alarm(CHILD_SECONDS);
        _exit(body(arg));
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return st;
}

/* The child exited 0; otherwise how it ended. */
#define CHECK_EXIT(st, what) check_exit((st), (what), __LINE__)
static void check_exit(int st, const char *what, int line)
{
    check_report(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, __FILE__, line, what, "%s",
           st == -1 ? "fork failed"
           : WIFSIGNALED(st) ? (WTERMSIG(st) == SIGALRM ? "child hung (killed by its alarm)" : strsignal(WTERMSIG(st)))
           : WEXITSTATUS(st) == 6 ? "destroy in the child did not free the arena"
           : "child exited with a non-zero status");
}

struct use_args {
    swann_net *net;
    struct trace *out;  /* shared with the parent */
};

/* Destroys a net that owns its arena; with the allocation shim preloaded, 0 only
 * if that freed exactly one block (the arena), else 6. */
static int destroy_frees_arena(swann_net *net)
{
    long before = shim_live();
    swann_destroy(net);
    return shim_loaded() && shim_live() != before - 1 ? 6 : 0;
}

/* The child trains the inherited net, hands its results to the parent, then
 * destroys the net: each must return. */
static int child_trains_then_destroys(void *arg)
{
    struct use_args *a = arg;
    train(a->net, a->out);
    return destroy_frees_arena(a->net);
}

static int child_destroys(void *arg)
{
    return destroy_frees_arena(arg);
}

/* A host arena is the host's to free: destroy frees nothing. */
static int child_trains_then_destroys_host_arena(void *arg)
{
    struct use_args *a = arg;
    train(a->net, a->out);
    swann_destroy(a->net);
    return 0;
}

/* A net made in the child has workers of its own, joined by its destroy. */
static int child_makes_its_own(void *arg)
{
    (void)arg;
    char s[640];
    swann_net *net = NULL;
    if (swann_create(spec_with(4, s, sizeof s), B, NULL, 0, &net) != SWANN_OK) return 2;
    struct trace *t = test_aligned_block(sizeof *t);
    if (!t) return 3;
    train(net, t);
    swann_destroy(net);
    int bad = t->status;
    test_free_block(t, sizeof *t);
    return bad ? 4 : 0;
}

/* The child forks again: the grandchild's copy is just as workerless. */
static int child_forks_again(void *arg)
{
    struct use_args *a = arg;
    int st = in_child(child_trains_then_destroys, a);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 5;
    return destroy_frees_arena(a->net);
}

static void fork_with_worker_threads(void)
{
    make_data();
    if (!shim_loaded())  /* looks the shim up now, before any count is read */
        printf("# alloc_shim.so is not preloaded: whether destroy frees the arena in a child is not checked\n");
    char s[640];
    swann_net *net = NULL, *ref = NULL;
    CHECK_ST(swann_create(spec_with(4, s, sizeof s), B, NULL, 0, &net), SWANN_OK, "create, 4 threads");
    CHECK_ST(swann_create(spec_with(1, s, sizeof s), B, NULL, 0, &ref), SWANN_OK, "create, 1 thread");
    if (!net || !ref) return;
    struct trace *mine = test_aligned_block(sizeof *mine), *theirs = shared_trace();
    struct trace *solo = test_aligned_block(sizeof *solo);
    CHECK(mine && theirs && solo, "shared result buffers");
    if (!mine || !theirs || !solo) return;

    /* used before the fork, so the workers have run and sit idle */
    train(net, mine);
    train(ref, solo);
    CHECK(same(mine, solo), "before the fork: 4 threads give the bits of 1 thread");

    /* The child trains its copy from the same state the parent trains from next. */
    theirs->status = -1;
    struct use_args a = {net, theirs};
    CHECK_EXIT(in_child(child_trains_then_destroys, &a),
               "a child uses the inherited 4-thread net (forward, backward, step), destroys it, exits 0");
    train(net, mine);
    train(ref, solo);
    CHECK(same(mine, theirs), "the child's outputs, losses, dx and parameters equal the parent's, bit for bit");
    CHECK(same(mine, solo), "the parent's net, after the child, still gives the bits of 1 thread");

    CHECK_EXIT(in_child(child_destroys, net), "a child that only destroys the inherited net exits 0");

    theirs->status = -1;
    CHECK_EXIT(in_child(child_forks_again, &a), "a grandchild uses and destroys the net, its parent destroys it");
    train(net, mine);
    train(ref, solo);
    CHECK(same(mine, theirs), "the grandchild's results equal the parent's");

    CHECK_EXIT(in_child(child_makes_its_own, NULL), "a net created in the child runs its own workers and joins them");

    /* The parent still owns its workers: set_threads, more training, destroy joins them. */
    CHECK_ST(swann_set_threads(net, 3), SWANN_OK, "set_threads(3) in the parent afterwards");
    train(net, mine);
    train(ref, solo);
    CHECK(same(mine, solo), "the parent keeps training with its workers, same bits as 1 thread");
    swann_destroy(net);
    swann_destroy(ref);
    CHECK(1, "the parent's destroy joined its workers");
    test_free_block(mine, sizeof *mine);
    munmap(theirs, sizeof *theirs);
    test_free_block(solo, sizeof *solo);
}

/* The same with the host's arena: the child's destroy frees nothing and waits for nothing. */
static void fork_with_host_arena(void)
{
    make_data();
    char s[640];
    size_t bytes = 0;
    CHECK_ST(swann_arena_size(spec_with(4, s, sizeof s), B, &bytes), SWANN_OK, "arena_size, 4 threads");
    void *arena = test_aligned_block(bytes);
    swann_net *net = NULL;
    CHECK_ST(swann_create(s, B, arena, bytes, &net), SWANN_OK, "create in a host arena, 4 threads");
    if (!net) return;
    struct trace *mine = test_aligned_block(sizeof *mine), *theirs = shared_trace();
    if (!mine || !theirs) return;
    theirs->status = -1;
    struct use_args a = {net, theirs};
    CHECK_EXIT(in_child(child_trains_then_destroys_host_arena, &a), "host arena: the child trains, destroys, exits 0");
    train(net, mine);
    CHECK(same(mine, theirs), "host arena: the child's results equal the parent's");
    swann_destroy(net);
    test_free_block(arena, bytes);
    test_free_block(mine, sizeof *mine);
    munmap(theirs, sizeof *theirs);
}

int main(void)
{
    check_init("test_fork");
    RUN_GROUP(fork_with_worker_threads);
    RUN_GROUP(fork_with_host_arena);
    return check_finish();
}
