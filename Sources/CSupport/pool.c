/* Worker threads: the pool a net's large products and steps run on (an
 * operating system's part). */
#define _GNU_SOURCE
#include "cs_os.h"
#include <errno.h>
#include <stdlib.h>
#include <limits.h>
#include <unistd.h>
#include <pthread.h>
#include "glibc_versions.h"
#include <sys/syscall.h>
#include <linux/futex.h>
#include <time.h>

enum { CS_SPIN = 4000 };  /* polling before a worker sleeps: ~105 us on Zen 4 (pause is slow there) */
/* Going solo (cs_pool_run): the evidence needed, the window it decays over, and
 * how long a solo spell lasts. */
#define CS_EVIDENCE_NS 5000000ull
#define CS_WINDOW_NS 20000000ull
#define CS_SOLO_NS 100000000ull

static inline void cs_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t cs_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void cs_futex_wait(uint32_t *word, uint32_t value) {
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void cs_futex_wake(uint32_t *word, int count) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

static uint64_t cs_pool_now(const cs_pool *pool) {
    return pool->clock ? pool->clock(pool->clock_ctx) : cs_now_ns();
}

void cs_pool_set_clock(cs_pool *pool, cs_clock_fn clock, void *ctx) {
    pool->clock = clock;
    pool->clock_ctx = ctx;
}

/* Forks this process has been through: bumped in every child (pthread_atfork),
 * before the child's fork() returns, while it has only the forking thread. A
 * pool compares it with the count it started under, one load per job, where
 * getpid() would be a system call. The handler is registered once, at the first
 * start of a pool with workers (glibc drops it if the library is unloaded, and
 * re-runs a pthread_once cut short by a fork); should that fail (no memory),
 * pools compare pids instead. */
static uint32_t cs_forks;
static int cs_forks_counted;
static pthread_once_t cs_atfork_once = PTHREAD_ONCE_INIT;

static void cs_count_fork(void) { __atomic_add_fetch(&cs_forks, 1, __ATOMIC_RELAXED); }

static void cs_watch_forks(void) {
    if (pthread_atfork(NULL, NULL, cs_count_fork) == 0) __atomic_store_n(&cs_forks_counted, 1, __ATOMIC_RELAXED);
}

/* 1 in a process other than the one that started the workers (a fork child):
 * they do not exist there. */
static inline int cs_pool_forked(const cs_pool *pool) {
    if (__builtin_expect(__atomic_load_n(&cs_forks_counted, __ATOMIC_RELAXED), 1))
        return __atomic_load_n(&cs_forks, __ATOMIC_RELAXED) != pool->forks;
    return getpid() != (pid_t)pool->owner;
}

/* The first chunk after part p's share of `total` chunks over `parts` threads. */
static inline uint32_t cs_part_end(uint32_t p, uint32_t total, uint32_t parts) {
    return (uint32_t)((uint64_t)total * (p + 1) / parts);
}

/* Claims and runs chunks of generation `gen` until none are left, its own part
 * first, then the others' in turn; returns how many it ran. */
static uint32_t cs_pool_work(cs_pool *pool, uint32_t gen, int worker) {
    uint32_t ran = 0;
    uint32_t parts = __atomic_load_n(&pool->parts, __ATOMIC_ACQUIRE);
    if (parts == 0 || parts > CS_POOL_PARTS) return ran;
    for (uint32_t i = 0; i < parts; i++) {
        uint32_t p = ((uint32_t)worker + i) % parts;
        cs_pool_part *part = &pool->part[p];
        uint64_t w = __atomic_load_n(&part->word, __ATOMIC_ACQUIRE);
        for (;;) {
            if ((uint32_t)(w >> 32) != gen) return ran;
            uint32_t chunk = (uint32_t)w;
            /* fn, ctx, total and parts belong to `gen` once the claim below
             * succeeds: a later job replaces every part's word before it writes
             * them (cs_pool_run), so a claim on this word fails if they changed,
             * and they cannot change while a chunk of it is unfinished. */
            if (chunk >= cs_part_end(p, __atomic_load_n(&pool->total, __ATOMIC_ACQUIRE), parts)) break;
            if (!__atomic_compare_exchange_n(&part->word, &w, w + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                continue;
            /* A worker computes in the caller's floating-point mode (flush or IEEE),
             * so the bits do not depend on which thread runs a chunk; it keeps the
             * mode while idle (it runs nothing else) and sets it again only when a
             * job brings another. The caller is in its mode already. */
            if (worker != 0 && ran == 0) cs_fp_adopt(pool->fp_mode);
            pool->fn(pool->ctx, chunk, worker);
            ran++;
            uint32_t total = __atomic_load_n(&pool->total, __ATOMIC_RELAXED);
            uint32_t finished = __atomic_add_fetch(&pool->done, 1, __ATOMIC_ACQ_REL);
            if (finished == total) cs_futex_wake(&pool->done, 1);
            w = __atomic_load_n(&part->word, __ATOMIC_ACQUIRE);
        }
    }
    return ran;
}

static void *cs_pool_main(void *arg) {
    cs_pool *pool = ((struct { cs_pool *pool; int index; } *)arg)->pool;
    int index = ((struct { cs_pool *pool; int index; } *)arg)->index;
    /* The pool starts at generation 0: a worker that starts late still sees
     * every later bump, including the one that stops it. */
    uint32_t seen = 0;
    for (;;) {
        uint32_t g;
        int spins = 0;
        while ((g = __atomic_load_n(&pool->gen, __ATOMIC_ACQUIRE)) == seen) {
            if (spins < CS_SPIN) { cs_relax(); spins++; }
            else cs_futex_wait(&pool->gen, seen);
        }
        seen = g;
        if (__atomic_load_n(&pool->stop, __ATOMIC_ACQUIRE)) return NULL;
        if ((uint32_t)index <= __atomic_load_n(&pool->active, __ATOMIC_RELAXED))
            (void)cs_pool_work(pool, g, index);
    }
}

int cs_pool_start(cs_pool *pool, int workers) {
    memset(pool, 0, sizeof *pool);
    if (workers < 0 || workers > CS_POOL_MAX_WORKERS) return -1;
    if (workers > 0) pthread_once(&cs_atfork_once, cs_watch_forks);
    pool->forks = __atomic_load_n(&cs_forks, __ATOMIC_RELAXED);
    pool->owner = (int32_t)getpid();
    for (int i = 0; i < workers; i++) {
        pool->args[i].pool = pool;
        pool->args[i].index = i + 1;
        pthread_t t;
        if (pthread_create(&t, NULL, cs_pool_main, &pool->args[i]) != 0) {
            cs_pool_stop(pool);
            return -1;
        }
        pool->threads[i] = (unsigned long)t;
        pool->workers = (uint32_t)(i + 1);
    }
    pool->active = pool->workers;
    return 0;
}

void cs_pool_run(cs_pool *pool, cs_chunk_fn fn, void *ctx, int64_t chunks) {
    if (chunks <= 0) return;
    /* After a fork the caller runs every chunk itself: nobody else would take
     * one, and a chunk a worker held at fork time would never be done. */
    if (pool->active == 0 || chunks == 1 || cs_pool_forked(pool)) {
        for (int64_t i = 0; i < chunks; i++) fn(ctx, i, 0);
        return;
    }
    uint32_t gen = pool->gen + 1;
    uint32_t parts = pool->active + 1;
    /* Every part's word moves to the new generation first: a worker still in an
     * earlier job, holding that job's word, then fails its claim whatever `total`
     * and `parts` it reads. (With `total` raised first, such a worker could claim
     * a chunk of the old word, run it, and count it in `done` of the new job: a
     * chunk run twice, and `done` past `total`, which never ends the wait below.)
     * That is every word a job of this pool can have used, not only this job's:
     * a worker still in a job with more threads taking part walks more parts.
     * The release stores of `parts` and `total` publish the new words before them:
     * a worker that reads either's new value then sees the new words. */
    uint64_t t0 = cs_pool_now(pool);
    for (uint32_t p = 0; p <= pool->workers && p < CS_POOL_PARTS; p++) {
        uint32_t first = p == 0 ? 0 : p < parts ? cs_part_end(p - 1, (uint32_t)chunks, parts) : (uint32_t)chunks;
        __atomic_store_n(&pool->part[p].word, (uint64_t)gen << 32 | first, __ATOMIC_RELEASE);
    }
    pool->fn = fn;
    pool->ctx = ctx;
    pool->fp_mode = cs_fp_mode();
    __atomic_store_n(&pool->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pool->parts, parts, __ATOMIC_RELEASE);
    __atomic_store_n(&pool->total, (uint32_t)chunks, __ATOMIC_RELEASE);
    __atomic_store_n(&pool->gen, gen, __ATOMIC_RELEASE);
    cs_futex_wake(&pool->gen, INT_MAX);
    uint32_t mine = cs_pool_work(pool, gen, 0);
    uint64_t t1 = cs_pool_now(pool);
    /* Wait only for chunks that others still hold; a worker that never woke up
     * finds nothing left and costs nothing. */
    uint32_t d;
    int spins = 0;
    while ((d = __atomic_load_n(&pool->done, __ATOMIC_ACQUIRE)) != (uint32_t)chunks) {
        if (spins < CS_SPIN) { cs_relax(); spins++; }
        else cs_futex_wait(&pool->done, d);
    }
    cs_pool_note_job(pool, t0, t1, cs_pool_now(pool), mine);
}

/* A worker holding a chunk while the OS runs someone else on its core makes
 * the caller wait. Waiting up to one chunk's time is the normal end of a job
 * (three chunks on two threads: one finishes a chunk after the other), so
 * only the wait beyond the caller's own time per chunk counts as late. When
 * late waiting is over a quarter of the last 5-20 ms of jobs, products run
 * solo for the next 100 ms, then the pool tries again. (A caller that ran no
 * chunk has no time per chunk to compare with: its wait does not count.)
 * It reads no clock: it depends only on the times it is given and the pool's
 * record of earlier ones, so tests drive it exactly with recorded timings. */
void cs_pool_note_job(cs_pool *pool, uint64_t start, uint64_t own_done, uint64_t end, uint32_t own_chunks) {
    if (own_done < start) own_done = start;  /* a test's clock may hand in anything: never wrap */
    if (end < own_done) end = own_done;
    uint64_t per_chunk = own_chunks ? (own_done - start) / own_chunks : 0;
    if (own_chunks && end - own_done > per_chunk) pool->wait_ns += end - own_done - per_chunk;
    pool->busy_ns += end - start;
    if (pool->busy_ns > CS_WINDOW_NS) {
        pool->wait_ns /= 2;
        pool->busy_ns /= 2;
    }
    if (pool->busy_ns >= CS_EVIDENCE_NS && pool->wait_ns * 4 > pool->busy_ns) {
        pool->solo_until = end + CS_SOLO_NS;
        pool->wait_ns = pool->busy_ns = 0;
    }
}

int cs_pool_use(cs_pool *pool) {
    if (pool->active == 0 || cs_pool_forked(pool)) return 0;
    if (pool->solo_until != 0) {
        if (cs_pool_now(pool) < pool->solo_until) return 0;
        pool->solo_until = 0;
    }
    return 1;
}

void cs_pool_set_active(cs_pool *pool, uint32_t active) {
    __atomic_store_n(&pool->active, active, __ATOMIC_RELAXED);
}

void cs_pool_stop(cs_pool *pool) {
    if (pool->workers == 0) return;
    /* In a fork child the workers' thread records are copies describing threads
     * of the parent: joining one waits forever (or crashes), and the futex words
     * are the child's own. Forget them; the parent's workers are untouched. getpid()
     * also catches a child made without fork()'s handlers (a raw clone). */
    if (cs_pool_forked(pool) || getpid() != (pid_t)pool->owner) {
        pool->workers = 0;
        pool->active = 0;
        return;
    }
    __atomic_store_n(&pool->stop, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&pool->gen, 1, __ATOMIC_ACQ_REL);
    cs_futex_wake(&pool->gen, INT_MAX);
    for (uint32_t i = 0; i < pool->workers; i++) pthread_join((pthread_t)pool->threads[i], NULL);
    pool->workers = 0;
    pool->active = 0;
}
