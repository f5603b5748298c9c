/*
 * test_atomic.c -- swann_save is atomic.
 *
 * 1. Crash and resume: a child loads the checkpoint, trains and saves to the
 *    same path over and over; the parent SIGKILLs it at a random moment,
 *    checks the file, and starts the next child, which resumes from it. After
 *    every kill the file loads, its step count never goes back, and its
 *    parameters are bit for bit those of uninterrupted training to that step.
 *    Temporary files ".swann-XXXXXX.tmp" may be left behind; the target never breaks.
 * 2. Write failures: with RLIMIT_FSIZE (SIGXFSZ ignored) a write fails with
 *    EFBIG at any chosen offset; save must return SWANN_E_IO, remove its
 *    temporary file and leave the previous file byte for byte as it was.
 *
 * Environment: CKPT_KILLS (default 200). No verdict depends on timing: the
 * random delay only spreads the kills over the save.
 */
#include "check.h"
#include "ckpt_util.h"

#include <sys/resource.h>
#include <time.h>

#define MB 8
#define SEED 4242
static const char *SPEC =
    "{\"input\":32,\"layers\":[{\"units\":128,\"activation\":\"relu\"},{\"units\":128,\"activation\":\"tanh\"},"
    "{\"units\":10,\"activation\":\"softmax\"}],\"loss\":\"cross_entropy\","
    "\"optimizer\":{\"type\":\"sgd\",\"lr\":0.05,\"momentum\":0.9,\"nesterov\":true},\"seed\":21}";

static const char *DIR_;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* optimizer.step of a swann file (swann writes it first in the data section). */
static long long file_step(const char *path)
{
    size_t len, hl, dl;
    unsigned char *f = read_file(path, &len);
    const char *h;
    const unsigned char *d;
    long long step = -1;
    if (f && st_split(f, len, &h, &hl, &d, &dl) == 0 && dl >= 8) {
        int64_t s;
        memcpy(&s, d, 8);
        step = s;
    }
    free(f);
    return step;
}

/* The child: resume from path, then train one step and save, forever, writing
 * one byte to ready_fd after each save returns. */
static void trainer(const char *path, int ready_fd)
{
    alarm(60);
    swann_net *n = NULL;
    if (swann_load(path, MB, NULL, 0, &n) != SWANN_OK) _exit(20);
    long long k = file_step(path);
    if (k < 0) _exit(21);
    if (write(ready_fd, "r", 1) != 1) _exit(22);
    for (;;) {
        if (train(n, SEED, (int)k, 1, MB, 1, T_ONEHOT) != SWANN_OK) _exit(23);
        k++;
        if (swann_save(n, path) != SWANN_OK) _exit(24);
        if (write(ready_fd, "s", 1) != 1) _exit(25);
    }
}

static void group_kill_resume(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/atomic.safetensors", DIR_);
    swann_net *ref = make_net(SPEC, MB);
    if (!ref) return;
    CHECK_ST(swann_save(ref, path), SWANN_OK, "initial save");
    long long ref_step = 0;

    /* calibrate: how long one train+save takes */
    swann_net *tmp = make_net(SPEC, MB);
    char cal[600];
    snprintf(cal, sizeof cal, "%s/calibrate.safetensors", DIR_);
    double t0 = now_s();
    for (int i = 0; i < 10; i++) {
        train(tmp, 1, i, 1, MB, 1, T_ONEHOT);
        swann_save(tmp, cal);
    }
    double per_save = (now_s() - t0) / 10;
    swann_destroy(tmp);
    unlink(cal);
    size_t flen = 0;
    free(read_file(path, &flen));
    printf("# one train step + save of a %zu-byte file takes %.2f ms\n", flen, per_save * 1e3);

    const char *ek = getenv("CKPT_KILLS");
    int kills = ek ? atoi(ek) : 200;
    uint64_t rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    printf("# kill loop: %d kills, rng seed %llu\n", kills, (unsigned long long)rng);
    int done = 0, loads_ok = 0, monotonic = 0, exact = 0, leftovers_total = 0, kills_in_save = 0, kept = 0;
    long long last_step = 0;
    double start = now_s();
    char why[512] = "";
    for (int i = 0; i < kills; i++) {
        int pfd[2];
        if (pipe(pfd) != 0) break;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(pfd[0]);
            trainer(path, pfd[1]);
        }
        close(pfd[1]);
        char c;
        ssize_t r = read(pfd[0], &c, 1);
        /* Wait for `saves` finished saves (counted, not timed: on a busy machine
         * a sleep may pass with no save), then kill at a random moment of the
         * next; the file must then hold every save the child finished. */
        int saves = i % 4, seen = 0;
        while (r == 1 && seen < saves && read(pfd[0], &c, 1) == 1) seen++;
        double delay = rng_uniform(&rng, 0, per_save);
        if (r == 1) usleep((useconds_t)(delay * 1e6));
        kill(pid, SIGKILL);
        close(pfd[0]);
        int ws = 0;
        waitpid(pid, &ws, 0);
        done++;
        if (!(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL)) {
            snprintf(why, sizeof why, "kill %d: the trainer ended by itself (status %d)", i, ws);
            break;
        }
        int left = tmp_leftovers(path, 1);
        leftovers_total += left > 0 ? left : 0;
        kills_in_save += left > 0;
        swann_net *n = NULL;
        swann_status st = swann_load(path, MB, NULL, 0, &n);
        if (st != SWANN_OK) {
            snprintf(why, sizeof why, "kill %d: load %s: %s", i, st_name(st), last_err());
            break;
        }
        loads_ok++;
        long long k = file_step(path);
        if (k < last_step) {
            snprintf(why, sizeof why, "kill %d: step went back from %lld to %lld", i, last_step, k);
            swann_destroy(n);
            break;
        }
        monotonic++;
        if (seen < saves || k < last_step + saves) {
            snprintf(why, sizeof why, "kill %d: the child reported %d of %d saves after step %lld, the file has step %lld",
                     i, seen, saves, last_step, k);
            swann_destroy(n);
            break;
        }
        kept++;
        last_step = k;
        if (k > ref_step) {
            train(ref, SEED, (int)ref_step, (int)(k - ref_step), MB, 1, T_ONEHOT);
            ref_step = k;
        }
        if (!same_params(ref, n)) {
            snprintf(why, sizeof why, "kill %d: parameters at step %lld differ from uninterrupted training", i, k);
            swann_destroy(n);
            break;
        }
        exact++;
        swann_destroy(n);
    }
    printf("# %d kills in %.1f s; the checkpoint reached step %lld; %d kills left a temporary file (%d files)\n",
           done, now_s() - start, last_step, kills_in_save, leftovers_total);
    CHECKF(done == kills && why[0] == 0, "the kill loop ran (CKPT_KILLS kills, each child killed while training)",
           "%d of %d kills; %s", done, kills, why);
    CHECKF(loads_ok == done, "after every SIGKILL the checkpoint loads (SWANN_OK)", "%d of %d; %s", loads_ok, done, why);
    CHECKF(monotonic == done, "after every SIGKILL the step count never went back", "%d of %d; %s", monotonic, done, why);
    CHECKF(exact == done, "after every SIGKILL the checkpoint equals uninterrupted training to its step, bit for bit",
           "%d of %d; %s", exact, done, why);
    CHECKF(kept == done, "after every SIGKILL the file holds every save the child had finished",
           "%d of %d; %s", kept, done, why);
    CHECKF(last_step > 0, "the children made progress between kills", "step %lld", last_step);
    swann_destroy(ref);
}

/* Save with the file size limited to `limit` bytes; returns the status, and the
 * message through msg. Runs in a child so the limit stays there. */
static swann_status save_limited(swann_net *net, const char *path, rlim_t limit, char *msg, size_t cap)
{
    int pfd[2];
    if (pipe(pfd) != 0) return SWANN_E_ARG;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {limit, limit};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(100);
        swann_status st = swann_save(net, path);
        const char *e = swann_last_error();
        if (write(pfd[1], e, strlen(e)) < 0) _exit(101);
        _exit((int)st);
    }
    close(pfd[1]);
    ssize_t n = read(pfd[0], msg, cap - 1);
    msg[n > 0 ? n : 0] = 0;
    close(pfd[0]);
    int ws = 0;
    waitpid(pid, &ws, 0);
    if (!WIFEXITED(ws)) {
        snprintf(msg, cap, "child killed by signal %d", WIFSIGNALED(ws) ? WTERMSIG(ws) : -1);
        return (swann_status)99;
    }
    return (swann_status)WEXITSTATUS(ws);
}

static void group_write_failures(void)
{
    char path[600], what[300], msg[1024];
    snprintf(path, sizeof path, "%s/efbig.safetensors", DIR_);
    swann_net *a = make_net(SPEC, MB), *b = make_net(SPEC, MB);
    if (!a || !b) return;
    train(b, 9, 0, 2, MB, 1, T_ONEHOT);
    CHECK_ST(swann_save(a, path), SWANN_OK, "save the old file");
    size_t alen = 0, blen = 0;
    unsigned char *old = read_file(path, &alen);
    char bpath[600];
    snprintf(bpath, sizeof bpath, "%s/efbig-new.safetensors", DIR_);
    swann_save(b, bpath);
    unsigned char *newf = read_file(bpath, &blen);
    const char *h;
    size_t hl = 0, dl = 0;
    const unsigned char *d;
    if (!newf || st_split(newf, blen, &h, &hl, &d, &dl) != 0) {
        CHECK(0, "read the new file");
        return;
    }
    rlim_t limits[] = {0, 1, 7, 8, 9, 8 + hl / 2, 8 + hl - 1, 8 + hl, 8 + hl + 7, 8 + hl + 8, 8 + hl + 100,
                       blen / 2, blen - 1};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        swann_status st = save_limited(b, path, limits[i], msg, sizeof msg);
        snprintf(what, sizeof what, "file size limit %llu of %zu: save -> SWANN_E_IO with a message",
                 (unsigned long long)limits[i], blen);
        CHECKF(st == SWANN_E_IO && msg[0], what, "got %s (%d): %s", st_name(st), (int)st, msg);
        snprintf(what, sizeof what, "file size limit %llu: the old file is untouched", (unsigned long long)limits[i]);
        CHECK(file_equals(path, old, alen), what);
        snprintf(what, sizeof what, "file size limit %llu: no temporary file is left", (unsigned long long)limits[i]);
        CHECKF(tmp_leftovers(path, 1) == 0, what, "%s", "temporary file left behind");
    }
    swann_net *n = NULL;
    CHECK_ST(swann_load(path, MB, NULL, 0, &n), SWANN_OK, "after the failed saves the old file loads");
    CHECK(n && same_params(a, n), "... with the old parameters");
    swann_destroy(n);
    /* the limit at exactly the file size is enough */
    swann_status st = save_limited(b, path, blen, msg, sizeof msg);
    CHECKF(st == SWANN_OK, "file size limit = the file's size: save succeeds", "%s: %s", st_name(st), msg);
    CHECK(file_equals(path, newf, blen), "... and writes the new file");
    free(old);
    free(newf);
    swann_destroy(a);
    swann_destroy(b);
}

int main(void)
{
    check_init("test_atomic");
    DIR_ = make_tmpdir("atomic");
    RUN_GROUP(group_write_failures);
    RUN_GROUP(group_kill_resume);
    remove_tree(DIR_);
    return check_finish();
}
