/* The platform layer's part that only an operating system gives: the heap,
 * worker threads, files. A freestanding build leaves this part out. */
#ifndef SWANN_CS_OS_H
#define SWANN_CS_OS_H

#include "cs_text.h"

/* ---- memory ---------------------------------------------------------------- */
/* 64-byte aligned block, or NULL. */
void *cs_aligned_alloc(size_t bytes);
void cs_free(void *p);

/* ---- CPU level ---------------------------------------------------------------
 * The kernel layer is compiled once per x86-64 level (KernelTable.swift); a net
 * or session takes the widest level this CPU and OS run, or a narrower one named
 * by the environment variable SWANN_ISA ("avx512", "avx2", "baseline"). Other
 * architectures have one level, CS_CPU_NATIVE. */
#define CS_CPU_NATIVE   0   /* one level: the build's own target */
#define CS_CPU_BASELINE 1   /* x86-64 (SSE2) */
#define CS_CPU_AVX2     2   /* -target-cpu haswell: AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE */
#define CS_CPU_AVX512   3   /* -target-cpu skylake-avx512: + AVX-512 F, DQ, CD, BW, VL */
int cs_cpu_level(void);
/* 1 when the CPU has AVX512_VNNI (int8 dot products); asked only on the AVX-512 level. */
int cs_cpu_vnni(void);
/* SWANN_ISA: 0 when unset or empty, -1 for an unknown value, else its level. */
int cs_isa_request(void);
/* The tables of the avx2 and avx512 builds of the kernel layer (multi-level builds
 * only: the Makefile links them; a single-level build has only its own). */
void swannk_avx2(void *table);
void swannk_avx512(void *table);
/* The AVX512_VNNI build of the int8 kernel: replaces one entry of an AVX-512 table. */
void swannk_avx512vnni(void *table);

/* ---- worker threads ---------------------------------------------------------
 * A fixed pool started with a net and joined when it is destroyed. A job is a
 * number of chunks, shared out in contiguous parts, one per thread taking part:
 * each thread claims its own part's chunks one at a time, then what is left of
 * the others'. So a thread keeps the same rows or columns job after job (on a
 * 2-core Zen 4 VM whose cores sat on two CCDs, W1 training at two threads took
 * 0.92x the time of claiming from one shared counter), and a worker the OS has
 * descheduled (another process on its core) costs at most the chunk it holds:
 * the others take the rest of its part. Idle workers spin for a
 * bounded time, then sleep on a futex. Each job carries the caller's
 * floating-point mode (cs_fp_mode), which a worker adopts before its first chunk
 * of the job (cs_fp_adopt: a no-op when it already has it). The pool lives in caller-provided memory
 * (the net's arena); the threads' stacks come from the system.
 *
 * fork(): a child has a copy of the pool's memory but none of its threads. The
 * pool records the process that started it (its pid, and the count of forks the
 * process had seen, bumped in every child by a pthread_atfork handler); in any
 * other process every job runs on the caller alone and stop forgets the workers
 * without waking or joining them. */
#define CS_POOL_MAX_WORKERS 63
#if defined(CS_FREESTANDING)
#define CS_POOL_PARTS 1  /* no threads: the caller's share only */
#else
#define CS_POOL_PARTS (CS_POOL_MAX_WORKERS + 1)
#endif
typedef void (*cs_chunk_fn)(void *ctx, int64_t chunk, int worker);
/* Nanoseconds on a monotonic clock; tests give the pool their own (cs_pool_set_clock). */
typedef uint64_t (*cs_clock_fn)(void *ctx);
/* One thread's part of a job's chunks: generation << 32 | the next chunk to claim,
 * alone on its cache line (the other threads claim from it once theirs is done). */
typedef struct cs_pool_part {
    uint64_t word;
    char pad[56];
} cs_pool_part;
typedef struct cs_pool {
    uint32_t gen;           /* futex word: bumped to wake the workers */
    uint32_t done;          /* futex word: chunks finished in this job */
    uint32_t stop;
    uint32_t total;         /* chunks in this job */
    uint32_t workers;       /* threads started */
    uint32_t active;        /* workers that take part (set_threads) */
    uint32_t forks;         /* the process's fork count when the pool started */
    int32_t owner;          /* pid of the process that started the workers */
    cs_chunk_fn fn;
    void *ctx;
    uint32_t fp_mode;       /* the caller's floating-point mode (cs_fp_mode): workers run the job in it */
    /* Graceful degradation: when the caller spends a quarter of its recent time
     * in jobs waiting on workers the OS is not running (another process holds
     * their core), go solo for a while. Weighed in time, over at least 5 ms of
     * jobs, and counting only waits beyond one chunk's time: a count of late runs
     * also counted tiny jobs and the normal end of an uneven job (three chunks on
     * two threads), which sent an idle machine solo. */
    uint64_t wait_ns;       /* recent late waiting (beyond one chunk's time), decaying */
    uint64_t busy_ns;       /* recent time in jobs, from publishing to the last chunk, decaying */
    uint64_t solo_until;    /* pool clock, ns; until then every product runs on the caller */
    cs_clock_fn clock;      /* NULL: CLOCK_MONOTONIC */
    void *clock_ctx;
    uint32_t parts;         /* threads this job's chunks are shared out to (active + 1) */
    cs_pool_part part[CS_POOL_PARTS];  /* thread i's (the caller is 0) is the i-th contiguous share */
    struct { struct cs_pool *pool; int index; } args[CS_POOL_MAX_WORKERS];
    unsigned long threads[CS_POOL_MAX_WORKERS];  /* pthread_t */
} cs_pool;

/* Starts `workers` threads (0 is fine: everything then runs on the caller).
 * Returns 0, or -1 when a thread could not be started (none are left running). */
int cs_pool_start(cs_pool *pool, int workers);
/* Runs fn(ctx, chunk, worker) for chunk = 0 ..< chunks, on the caller
 * (worker 0) and the active workers (1 ...), and returns when all are done. */
void cs_pool_run(cs_pool *pool, cs_chunk_fn fn, void *ctx, int64_t chunks);
/* 1 when the next product should be split across the pool; 0 when there are no
 * active workers, in a process the workers are not in (after fork), or while the
 * pool runs solo after workers kept arriving late. */
int cs_pool_use(cs_pool *pool);
/* Stops and joins the workers; after a fork, only forgets them. */
void cs_pool_stop(cs_pool *pool);
/* Sets how many workers take part in later jobs; atomic, as idle workers read it. */
void cs_pool_set_active(cs_pool *pool, uint32_t active);
/* The solo decision, fed the times of one finished job (pool clock, ns): it was
 * published at `start`, the caller ran `own_chunks` chunks and was done with them
 * at `own_done`, the last chunk finished at `end`. cs_pool_run feeds it; tests
 * feed it recorded timings. */
void cs_pool_note_job(cs_pool *pool, uint64_t start, uint64_t own_done, uint64_t end, uint32_t own_chunks);
/* The clock cs_pool_run and cs_pool_use read (NULL: CLOCK_MONOTONIC); for tests. */
void cs_pool_set_clock(cs_pool *pool, cs_clock_fn clock, void *ctx);

/* ---- files (model save and load) ------------------------------------------
 * Thin wrappers so the Swift side never touches errno or variadic open().
 * Each returns 0 on success and -1 on failure with errno set; the caller
 * appends the reason to the message (cs_message_append_errno). */
/* What a file of this st_mode is, for messages ("a FIFO", "a character device",
 * "a block device", "a folder", "a socket", "a symbolic link"); NULL for a regular file. */
const char *cs_kind_name(uint32_t mode);
/* Opens a regular file for reading without ever blocking: a FIFO or device is
 * refused before it is opened (stat), and what was opened is checked again
 * (fstat). Returns the descriptor; -1 with errno; -2 with *mode set when the
 * path is not a regular file. */
int cs_open_read(const char *path, uint32_t *mode);
int cs_file_size(int fd, uint64_t *size);
/* Reads exactly n bytes at offset; -1 on error or a short file. */
int cs_read_at(int fd, void *buf, size_t n, uint64_t offset);
void cs_close(int fd);
int cs_write_all(int fd, const void *buf, size_t n);

/* An atomic save: cs_save_open, cs_write_all to fd, cs_save_commit, and in
 * every case cs_save_end, which removes the temporary file unless it was
 * renamed, and frees the paths. On failure `stage` says which step failed and
 * errno why (except for CS_SAVE_KIND); the paths stay readable until cs_save_end. */
enum {
    CS_SAVE_NOMEM = 1,  /* the block for the two paths */
    CS_SAVE_RESOLVE,    /* following the symbolic links of path (ELOOP, ENAMETOOLONG, ...) */
    CS_SAVE_KIND,       /* the target exists and is not a regular file: mode says what it is */
    CS_SAVE_CREATE,     /* creating the temporary file */
    CS_SAVE_MODE,       /* giving it the old file's permission bits */
    CS_SAVE_SYNC,       /* fsync or close of the temporary file */
    CS_SAVE_RENAME,     /* renaming it over the target */
    CS_SAVE_DIRSYNC     /* fsync of the folder (the new file is in place) */
};
typedef struct cs_save_file {
    int fd;             /* the temporary file, open for writing; -1 */
    int stage;          /* the step that failed */
    int temp_exists;    /* the temporary file is on disk (cs_save_end removes it) */
    uint32_t mode;      /* CS_SAVE_KIND: st_mode of what is at the target */
    char *target;       /* path with its symbolic links followed: the file to replace */
    char *temp;         /* "<target's folder>/.swann-XXXXXX.tmp" */
} cs_save_file;
/* Follows path's symbolic links to the final target (a dangling link names the
 * target to create), refuses a target that exists and is not a regular file
 * (without opening it), and creates the temporary file exclusively in the
 * target's folder with the old file's permission bits (and group, when the
 * process may set it), or 0666 & ~umask for a new file. Returns 0 or -1. */
int cs_save_open(const char *path, cs_save_file *f);
/* fsyncs and closes the temporary file, renames it over the target and fsyncs
 * the folder. Returns 0 or -1. */
int cs_save_commit(cs_save_file *f);
/* Closes and removes the temporary file if it is still there, frees the paths;
 * keeps errno. Call once after cs_save_open, whatever happened. */
void cs_save_end(cs_save_file *f);

/* ---- file mappings (swann_model_load with SWANN_MODEL_MAP) -----------------
 * Maps `length` bytes of an open file read-only and private (the pages read in
 * now); NULL with errno on failure or when length is 0. The mapping outlives fd. */
void *cs_map_read(int fd, size_t length);
/* Ends a mapping of cs_map_read; NULL is a no-op. */
void cs_unmap(void *address, size_t length);

/* ---- atomics -----------------------------------------------------------------
 * A counter in caller-provided memory (a model's live sessions), safe between
 * threads: add returns the new value; load reads it (acquire). */
long cs_atomic_add(long *p, long delta);
long cs_atomic_load(const long *p);

#endif
