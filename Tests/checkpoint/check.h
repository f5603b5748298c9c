/*
 * check.h -- the check macros shared by the checkpoint tests (Tests/checkpoint).
 *
 * Every check prints one line,
 *     ok   file:line what
 *     FAIL file:line what [detail]
 * and a program ends with "# <program>: P passed, F failed" (check_finish),
 * which run.sh adds up. Groups run in forked children (RUN_GROUP): a crash or
 * hang there is one FAIL line and the other groups still run. The counters
 * live in a shared mapping so children's checks count in the parent.
 *
 * stdout uses a static buffer, so printing never calls malloc (the allocation
 * tests count every heap call).
 *
 * Include this header first: it defines _GNU_SOURCE.
 */
#ifndef CKPT_CHECK_H
#define CKPT_CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "swann.h"

struct check_counters {
    long passed;
    long failed;
    long fail_lines;      /* FAIL lines printed since check_limit_fail_lines */
    long fail_line_limit; /* print at most this many FAIL lines (0: no limit) */
};

static struct check_counters *check_ctr;
static struct check_counters check_local_ctr;
static char check_stdout_buf[1 << 16];
static const char *check_prog = "test";
static int check_quiet; /* 1: print only FAIL lines (for checks in loops) */

static inline void check_init(const char *prog)
{
    setvbuf(stdout, check_stdout_buf, _IOLBF, sizeof check_stdout_buf);
    setvbuf(stderr, NULL, _IONBF, 0);
    check_prog = prog;
    void *m = mmap(NULL, sizeof *check_ctr, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check_ctr = m == MAP_FAILED ? &check_local_ctr : (struct check_counters *)m;
    check_ctr->passed = 0;
    check_ctr->failed = 0;
    check_ctr->fail_lines = 0;
    check_ctr->fail_line_limit = 0;
}

/* From now on print at most `limit` FAIL lines (0: all); failures still count. */
static inline void check_limit_fail_lines(long limit)
{
    const char *all = getenv("CKPT_ALL_FAILS"); /* set: print every FAIL line */
    check_ctr->fail_lines = 0;
    check_ctr->fail_line_limit = all && all[0] ? 0 : limit;
}

static inline const char *st_name(swann_status s)
{
    static const char *names[] = {"SWANN_OK", "SWANN_E_ARG", "SWANN_E_SPEC", "SWANN_E_SHAPE",
                                  "SWANN_E_STATE", "SWANN_E_ARENA", "SWANN_E_NOMEM", "SWANN_E_IO",
                                  "SWANN_E_FORMAT", "SWANN_E_NUMERIC"};
    return (int)s >= 0 && (int)s < 10 ? names[(int)s] : "(not a status)";
}

static inline const char *last_err(void)
{
    const char *e = swann_last_error();
    return e ? e : "(NULL)";
}

static inline void check_report(int ok, const char *file, int line, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static inline void check_report(int ok, const char *file, int line, const char *what, const char *fmt, ...)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (ok) {
        __atomic_add_fetch(&check_ctr->passed, 1, __ATOMIC_SEQ_CST);
        if (!check_quiet) printf("ok %s:%d %s\n", base, line, what);
    } else {
        __atomic_add_fetch(&check_ctr->failed, 1, __ATOMIC_SEQ_CST);
        long shown = __atomic_add_fetch(&check_ctr->fail_lines, 1, __ATOMIC_SEQ_CST);
        if (check_ctr->fail_line_limit > 0 && shown > check_ctr->fail_line_limit) {
            if (shown == check_ctr->fail_line_limit + 1) printf("# (further FAIL lines of this part not shown)\n");
            fflush(stdout);
            return;
        }
        printf("FAIL %s:%d %s", base, line, what);
        if (fmt && fmt[0]) {
            va_list ap;
            va_start(ap, fmt);
            fputs(" [", stdout);
            vprintf(fmt, ap);
            fputs("]", stdout);
            va_end(ap);
        }
        putchar('\n');
    }
    fflush(stdout);
}

/* CHECK(cond, what) */
#define CHECK(cond, what) check_report(!!(cond), __FILE__, __LINE__, (what), "%s", "")
/* CHECKF(cond, what, fmt, ...): the detail is printed only on failure */
#define CHECKF(cond, what, ...) check_report(!!(cond), __FILE__, __LINE__, (what), __VA_ARGS__)
/* status equality, naming both codes and the last error on failure */
#define CHECK_ST(got, want, what)                                                              \
    do {                                                                                       \
        swann_status cg_ = (got), cw_ = (want);                                                \
        check_report(cg_ == cw_, __FILE__, __LINE__, (what), "expected %s, got %s; last_error: %s", \
                     st_name(cw_), st_name(cg_), last_err());                                  \
    } while (0)
/* status in a set: mask of SM(code) */
#define SM(code) (1u << (unsigned)(code))
#define CHECK_STM(got, mask, what)                                                             \
    do {                                                                                       \
        swann_status cg_ = (got);                                                              \
        check_report((unsigned)cg_ < 32 && ((mask) & SM(cg_)), __FILE__, __LINE__, (what),      \
                     "got %s; last_error: %s", st_name(cg_), last_err());                      \
    } while (0)

/* Runs fn in a forked child with a time limit. */
static inline void check_run_group(const char *name, void (*fn)(void), unsigned seconds)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("# group %s in-process (fork: %s)\n", name, strerror(errno));
        fn();
        return;
    }
    if (pid == 0) {
        alarm(seconds);
        printf("# group %s\n", name);
        fn();
        fflush(stdout);
        _exit(0);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(st))
        check_report(0, __FILE__, __LINE__, "group ends without crashing", "group %s: signal %d (%s)%s",
                     name, WTERMSIG(st), strsignal(WTERMSIG(st)),
                     WTERMSIG(st) == SIGALRM ? ", timed out" : "");
    else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        check_report(0, __FILE__, __LINE__, "group ends without crashing", "group %s: exit status %d", name,
                     WEXITSTATUS(st));
}
#define RUN_GROUP(fn) check_run_group(#fn, fn, 120)

static inline int check_finish(void)
{
    printf("# %s: %ld passed, %ld failed\n", check_prog, check_ctr->passed, check_ctr->failed);
    fflush(stdout);
    return check_ctr->failed ? 1 : 0;
}

/* splitmix64: deterministic numbers independent of libc */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline double rng_uniform(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0));
}

#endif
