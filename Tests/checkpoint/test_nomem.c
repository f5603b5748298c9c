/*
 * test_nomem.c -- save, load and load_size when the heap runs out.
 *
 * The same for the buffer calls: save_buffer, load_buffer (both arenas),
 * load_buffer_size.
 * Run with LD_PRELOAD=alloc_shim.so. For each call, for n = 1, 2, ... the n-th
 * heap allocation inside the call fails (in a forked child, so a crash is one
 * FAIL line), until the call makes fewer than n allocations and succeeds.
 * Every injected failure must give a non-OK status (SWANN_E_NOMEM, for save
 * too: its file names are one allocation), never crash, leave
 * the target file loadable and unchanged, set *out to NULL, and leak nothing
 * (blocks allocated minus freed is back where it was).
 *
 * Also: the heap use of successful calls (load with a host arena keeps no
 * block; load with a library arena keeps exactly one; save keeps none).
 */
#include "check.h"
#include "ckpt_util.h"
#include "alloc_shim.h"
#include "specs.h"

#define MB 4
#define MAX_N 20000

static const char *DIR_;
static char PATH_OLD[600], PATH_NEW[600], PATH_NAN[600];
static unsigned char *OLD, *NEW;
static size_t OLD_LEN, NEW_LEN;
static swann_net *NET_OLD, *NET_NEW;
static unsigned char *ARENA;
static size_t ARENA_NEED;

enum op {
    OP_SAVE, OP_LOAD, OP_LOAD_HOST, OP_LOAD_SIZE, OP_LOAD_BAD,
    OP_SAVE_BUFFER, OP_LOAD_BUFFER, OP_LOAD_BUFFER_HOST, OP_LOAD_BUFFER_SIZE, OP_COUNT
};
static const char *OP_NAME[] = {"save", "load", "load into a host arena", "load_size", "load of a file with a NaN",
                                "save_buffer", "load_buffer", "load_buffer into a host arena", "load_buffer_size"};
static unsigned char *SAVEBUF; /* save_buffer's target, NEW_LEN bytes */

/* Runs the call; *net gets a loaded net. */
static swann_status run_op(enum op op, swann_net **net, size_t *bytes)
{
    switch (op) {
    case OP_SAVE: return swann_save(NET_NEW, PATH_OLD);
    case OP_LOAD: return swann_load(PATH_OLD, MB, NULL, 0, net);
    case OP_LOAD_HOST: return swann_load(PATH_OLD, MB, ARENA, ARENA_NEED, net);
    case OP_LOAD_SIZE: return swann_load_size(PATH_OLD, MB, bytes);
    case OP_LOAD_BAD: return swann_load(PATH_NAN, MB, NULL, 0, net);
    case OP_SAVE_BUFFER: return swann_save_buffer(NET_NEW, SAVEBUF, NEW_LEN, bytes);
    case OP_LOAD_BUFFER: return swann_load_buffer(OLD, OLD_LEN, MB, NULL, 0, net);
    case OP_LOAD_BUFFER_HOST: return swann_load_buffer(OLD, OLD_LEN, MB, ARENA, ARENA_NEED, net);
    case OP_LOAD_BUFFER_SIZE: return swann_load_buffer_size(OLD, OLD_LEN, MB, bytes);
    default: return SWANN_E_ARG;
    }
}

/* In a child: fail allocation n of the call. Exit 3 when the call made fewer
 * than n allocations (it then must have succeeded). */
/* 1 when two nets have the same canonical spec (hyper-parameters included). */
static int same_spec(const swann_net *a, const swann_net *b)
{
    char sa[4096], sb[4096];
    size_t na = 0, nb = 0;
    return swann_spec_json(a, sa, sizeof sa, &na) == SWANN_OK && swann_spec_json(b, sb, sizeof sb, &nb) == SWANN_OK &&
           strcmp(sa, sb) == 0;
}

enum { F_STATUS = 1, F_LEAK = 2, F_TARGET = 4, F_RECOVERED = 8, F_FORMAT = 16, DONE = 64 };

static void child(enum op op, long n)
{
    int flags = 0;
    char what[300];
    swann_net *net = (swann_net *)0x1;
    size_t bytes = 0;
    long live0 = shim_live();
    shim_arm(n);
    swann_status st = run_op(op, &net, &bytes);
    int injected = shim_injected();
    shim_arm(0);
    long live1 = shim_live();
    const char *e = swann_last_error();
    int is_load = op == OP_LOAD || op == OP_LOAD_HOST || op == OP_LOAD_BAD || op == OP_LOAD_BUFFER ||
                  op == OP_LOAD_BUFFER_HOST;
    if (!injected) {
        /* the call completed with every allocation granted */
        int ok;
        if (op == OP_LOAD_BAD)
            ok = st == SWANN_E_FORMAT && net == NULL && live1 == live0;
        else if (is_load)
            ok = st == SWANN_OK && net && same_params(net, NET_OLD) && same_spec(net, NET_OLD);
        else if (op == OP_SAVE)
            ok = st == SWANN_OK && file_equals(PATH_OLD, NEW, NEW_LEN);
        else if (op == OP_SAVE_BUFFER)
            ok = st == SWANN_OK && bytes == NEW_LEN && !memcmp(SAVEBUF, NEW, NEW_LEN);
        else
            ok = st == SWANN_OK && bytes == ARENA_NEED;
        snprintf(what, sizeof what, "%s: with all %ld allocations granted the call does its job", OP_NAME[op], n - 1);
        check_quiet = 0;
        CHECKF(ok, what, "%s: %s", st_name(st), last_err());
        _exit(DONE);
    }
    unsigned allowed = op == OP_LOAD_BAD ? SM(SWANN_E_NOMEM) | SM(SWANN_E_FORMAT) : SM(SWANN_E_NOMEM);
    int ok_status = (unsigned)st < 32 && (allowed & SM(st));
    int recovered = 0;
    static char spec_buf[4096];
    char *got_spec = NULL;
    if (st == SWANN_OK) {
        /* the library may cope with a failed allocation, if the result is right */
        if (is_load) recovered = net && net != (swann_net *)0x1 && same_params(net, NET_OLD) && same_spec(net, NET_OLD);
        else if (op == OP_SAVE) recovered = file_equals(PATH_OLD, NEW, NEW_LEN);
        else if (op == OP_SAVE_BUFFER) recovered = bytes == NEW_LEN && !memcmp(SAVEBUF, NEW, NEW_LEN);
        else recovered = bytes == ARENA_NEED;
        size_t need = 0;
        if (is_load && net && net != (swann_net *)0x1 && !recovered &&
            swann_spec_json(net, spec_buf, sizeof spec_buf, &need) == SWANN_OK)
            got_spec = spec_buf;
        if (is_load && net && net != (swann_net *)0x1) swann_destroy(net);
        live1 = shim_live();
    }
    snprintf(what, sizeof what, "%s: allocation %ld fails -> %s", OP_NAME[op], n,
             op == OP_LOAD_BAD ? "SWANN_E_NOMEM or SWANN_E_FORMAT" : "SWANN_E_NOMEM");
    CHECKF(ok_status || recovered, what, "got %s%s%s; last_error: %s", st_name(st),
           got_spec ? " with another spec than the file's: " : "", got_spec ? got_spec : "", last_err());
    if (!ok_status && !recovered) flags |= st == SWANN_E_FORMAT ? F_FORMAT : F_STATUS;
    if (recovered) flags |= F_RECOVERED;
    if (st != SWANN_OK) {
        snprintf(what, sizeof what, "%s: allocation %ld fails: a message is set", OP_NAME[op], n);
        CHECKF(e && e[0], what, "%s", "empty last_error");
        if (is_load) {
            snprintf(what, sizeof what, "%s: allocation %ld fails: *out is NULL", OP_NAME[op], n);
            CHECKF(net == NULL, what, "out = %p", (void *)net);
        }
    }
    snprintf(what, sizeof what, "%s: allocation %ld fails: nothing leaks", OP_NAME[op], n);
    CHECKF(live1 == live0, what, "%ld blocks before, %ld after", live0, live1);
    if (live1 != live0) flags |= F_LEAK;
    if (op == OP_SAVE && st != SWANN_OK) {
        snprintf(what, sizeof what, "%s: allocation %ld fails: the old file is unchanged", OP_NAME[op], n);
        CHECK(file_equals(PATH_OLD, OLD, OLD_LEN), what);
        if (!file_equals(PATH_OLD, OLD, OLD_LEN)) flags |= F_TARGET;
        snprintf(what, sizeof what, "%s: allocation %ld fails: no temporary file is left", OP_NAME[op], n);
        CHECK(tmp_leftovers(PATH_OLD, 0) == 0, what);
    }
    if (op == OP_SAVE) {
        /* the target loads, whichever file it is */
        swann_net *m = NULL;
        swann_status ls = swann_load(PATH_OLD, MB, NULL, 0, &m);
        snprintf(what, sizeof what, "%s: allocation %ld fails: the target file still loads", OP_NAME[op], n);
        CHECKF(ls == SWANN_OK, what, "%s: %s", st_name(ls), last_err());
        if (ls != SWANN_OK) flags |= F_TARGET;
        swann_destroy(m);
    }
    _exit(flags);
}

static void sweep(enum op op)
{
    long n, recovered = 0, crashes = 0, wrong = 0, format = 0, leaks = 0, target = 0;
    int finished = 0;
    check_quiet = 1;
    check_limit_fail_lines(12);
    for (n = 1; n <= MAX_N; n++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(20);
            child(op, n);
        }
        int ws = 0;
        waitpid(pid, &ws, 0);
        /* a save child may have replaced the file: put the old one back */
        if (op == OP_SAVE) {
            write_file(PATH_OLD, OLD, OLD_LEN);
            tmp_leftovers(PATH_OLD, 1);
        }
        if (WIFSIGNALED(ws)) {
            check_report(0, __FILE__, __LINE__, "a failed allocation never crashes", "%s: allocation %ld: signal %d (%s)",
                         OP_NAME[op], n, WTERMSIG(ws), strsignal(WTERMSIG(ws)));
            crashes++;
            continue;
        }
        int f = WEXITSTATUS(ws);
        if (f == DONE) {
            finished = 1;
            break;
        }
        recovered += (f & F_RECOVERED) != 0;
        wrong += (f & F_STATUS) != 0;
        format += (f & F_FORMAT) != 0;
        leaks += (f & F_LEAK) != 0;
        target += (f & F_TARGET) != 0;
    }
    check_quiet = 0;
    check_limit_fail_lines(0);
    char what[200];
    snprintf(what, sizeof what, "%s: the sweep reached a call with every allocation granted", OP_NAME[op]);
    CHECKF(finished, what, "still failing at %ld allocations", n);
    printf("# %s: %ld heap allocations, each failed in turn: %ld crashes, %ld wrong statuses (%ld of them "
           "SWANN_E_FORMAT), %ld leaks, %ld broken or changed targets, %ld absorbed with a correct result\n",
           OP_NAME[op], n - 1, crashes, wrong + format, format, leaks, target, recovered);
}

static void group_heap_use(void)
{
    long live0 = shim_live();
    swann_net *n = NULL;
    CHECK_ST(swann_load(PATH_OLD, MB, ARENA, ARENA_NEED, &n), SWANN_OK, "load into a host arena");
    CHECKF(shim_live() == live0, "load into a host arena keeps no heap block", "%ld blocks kept", shim_live() - live0);
    swann_destroy(n);
    CHECKF(shim_live() == live0, "... and destroy frees nothing more", "%ld", shim_live() - live0);
    n = NULL;
    CHECK_ST(swann_load(PATH_OLD, MB, NULL, 0, &n), SWANN_OK, "load with a library arena");
    CHECKF(shim_live() == live0 + 1, "load with a library arena keeps exactly one block (the arena)",
           "%ld blocks kept", shim_live() - live0);
    swann_destroy(n);
    CHECKF(shim_live() == live0, "destroy frees it", "%ld blocks kept", shim_live() - live0);
    char p[700];
    snprintf(p, sizeof p, "%s/heap.safetensors", DIR_);
    CHECK_ST(swann_save(NET_NEW, p), SWANN_OK, "save");
    CHECKF(shim_live() == live0, "save keeps no heap block", "%ld blocks kept", shim_live() - live0);
    size_t bytes;
    CHECK_ST(swann_load_size(PATH_OLD, MB, &bytes), SWANN_OK, "load_size");
    CHECKF(shim_live() == live0, "load_size keeps no heap block", "%ld blocks kept", shim_live() - live0);
}

static void group_save(void) { sweep(OP_SAVE); }
static void group_load(void) { sweep(OP_LOAD); }
static void group_load_host(void) { sweep(OP_LOAD_HOST); }
static void group_load_size(void) { sweep(OP_LOAD_SIZE); }
static void group_load_bad(void) { sweep(OP_LOAD_BAD); }
static void group_save_buffer(void) { sweep(OP_SAVE_BUFFER); }
static void group_load_buffer(void) { sweep(OP_LOAD_BUFFER); }
static void group_load_buffer_host(void) { sweep(OP_LOAD_BUFFER_HOST); }
static void group_load_buffer_size(void) { sweep(OP_LOAD_BUFFER_SIZE); }

int main(void)
{
    check_init("test_nomem");
    if (!shim_loaded()) {
        CHECK(0, "alloc_shim.so is preloaded (run with LD_PRELOAD=alloc_shim.so)");
        return check_finish();
    }
    DIR_ = make_tmpdir("nomem");
    snprintf(PATH_OLD, sizeof PATH_OLD, "%s/old.safetensors", DIR_);
    snprintf(PATH_NEW, sizeof PATH_NEW, "%s/new.safetensors", DIR_);
    snprintf(PATH_NAN, sizeof PATH_NAN, "%s/nan.safetensors", DIR_);
    NET_OLD = make_net(SMALL_SPEC, MB);
    NET_NEW = make_net(SMALL_SPEC, MB);
    if (!NET_OLD || !NET_NEW) return check_finish();
    train(NET_OLD, 1, 0, 2, MB, 1, T_ONEHOT);
    train(NET_NEW, 2, 0, 3, MB, 1, T_ONEHOT);
    CHECK_ST(swann_save(NET_OLD, PATH_OLD), SWANN_OK, "save the old file");
    CHECK_ST(swann_save(NET_NEW, PATH_NEW), SWANN_OK, "save the new file (the expected bytes)");
    OLD = read_file(PATH_OLD, &OLD_LEN);
    NEW = read_file(PATH_NEW, &NEW_LEN);
    /* a file whose last tensor value is NaN: refused after the arena is made */
    unsigned char *bad = malloc(OLD_LEN);
    memcpy(bad, OLD, OLD_LEN);
    const float nan_ = NAN;
    memcpy(bad + OLD_LEN - 4, &nan_, 4);
    write_file(PATH_NAN, bad, OLD_LEN);
    free(bad);
    CHECK_ST(swann_load_size(PATH_OLD, MB, &ARENA_NEED), SWANN_OK, "load_size");
    ARENA = aligned_alloc(64, (ARENA_NEED + 63) / 64 * 64);
    SAVEBUF = malloc(NEW_LEN);
    /* warm up lasting state (stdio, the thread's error buffer, the C locale) */
    for (int op = 0; op < OP_COUNT; op++) {
        swann_net *n = NULL;
        size_t b;
        run_op((enum op)op, &n, &b);
        swann_destroy(n);
        write_file(PATH_OLD, OLD, OLD_LEN);
    }
    RUN_GROUP(group_heap_use);
    RUN_GROUP(group_save);
    RUN_GROUP(group_load);
    RUN_GROUP(group_load_host);
    RUN_GROUP(group_load_size);
    RUN_GROUP(group_load_bad);
    RUN_GROUP(group_save_buffer);
    RUN_GROUP(group_load_buffer);
    RUN_GROUP(group_load_buffer_host);
    RUN_GROUP(group_load_buffer_size);
    remove_tree(DIR_);
    return check_finish();
}
