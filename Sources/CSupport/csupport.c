#define _GNU_SOURCE
#include "csupport.h"
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <pthread.h>
#include <limits.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <time.h>
#include <locale.h>

#define CS_ERR_CAP 512

static _Thread_local char cs_err_buf[CS_ERR_CAP];
static _Thread_local size_t cs_err_len;

void cs_err_begin(const char *text) {
    cs_err_len = 0;
    cs_err_buf[0] = '\0';
    cs_err_append(text);
}

void cs_err_append(const char *text) {
    if (text == NULL) return;
    while (*text != '\0' && cs_err_len + 1 < CS_ERR_CAP) {
        char c = *text++;
        /* one line: control characters (from JSON keys, file names) become '?' */
        cs_err_buf[cs_err_len++] = ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
    }
    cs_err_buf[cs_err_len] = '\0';
}

void cs_err_append_uint(uint64_t value) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)value);
    cs_err_append(tmp);
}

void cs_err_append_int(int64_t value) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%lld", (long long)value);
    cs_err_append(tmp);
}

void cs_err_append_double(double value) {
    char tmp[32];
    cs_format_double(value, tmp);
    cs_err_append(tmp);
}

const char *cs_err_text(void) { return cs_err_buf; }

/* The "C" locale, for number text. glibc hands out its static C locale object for
 * newlocale(LC_ALL_MASK, "C", 0) without allocating; should that ever fail, the
 * calls below fall back to the thread's own locale. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static locale_t use_c_locale(void) {
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale ? uselocale(c_locale) : (locale_t)0;
}

static void restore_locale(locale_t old) {
    if (old) uselocale(old);
}

void cs_format_double(double value, char out[32]) {
    if (isnan(value)) { memcpy(out, "nan", 4); return; }
    if (isinf(value)) { memcpy(out, value > 0 ? "inf" : "-inf", value > 0 ? 4 : 5); return; }
    locale_t old = use_c_locale();
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, 32, "%.*g", precision, value);
        if (strtod(out, NULL) == value) break;
    }
    restore_locale(old);
}

double cs_parse_double(const char *text) {
    locale_t old = use_c_locale();
    double v = strtod(text, NULL);
    restore_locale(old);
    return v;
}

void *cs_aligned_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    return p;
}

void cs_free(void *p) { free(p); }

void cs_err_prefix(const char *text) {
    char old[CS_ERR_CAP];
    const char *rest = cs_err_buf;
    /* "spec: ..." becomes "<text>: the file's spec: ..." */
    memcpy(old, rest, cs_err_len + 1);
    cs_err_begin(text);
    cs_err_append(": the file's ");
    cs_err_append(old);
}

/* ---- files ---------------------------------------------------------------- */

void cs_err_append_errno(void) {
    int e = errno;
    char tmp[128];
    /* GNU strerror_r returns the text (maybe not in tmp); XSI returns an int. */
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *t = strerror_r(e, tmp, sizeof tmp);
#else
    const char *t = strerror_r(e, tmp, sizeof tmp) == 0 ? tmp : "unknown error";
#endif
    cs_err_append(": ");
    cs_err_append(t);
}

const char *cs_kind_name(uint32_t mode) {
    switch (mode & S_IFMT) {
    case S_IFREG: return NULL;
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFDIR: return "a folder";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
    default: return "not a regular file";
    }
}

int cs_open_read(const char *path, uint32_t *mode) {
    struct stat st;
    *mode = 0;
    /* open() itself would block on a FIFO until a writer comes, and opening a
     * device can have effects: refuse them before opening. */
    if (stat(path, &st) != 0) return -1;
    if (!S_ISREG(st.st_mode)) { *mode = (uint32_t)st.st_mode; return -2; }
    int fd;
    /* O_NONBLOCK: should the path have become a FIFO since stat, open returns
     * at once and fstat refuses it. (It changes nothing for a regular file.) */
    do { fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); } while (fd < 0 && errno == EINTR);
    if (fd < 0) return -1;
    if (fstat(fd, &st) != 0) { int e = errno; close(fd); errno = e; return -1; }
    if (!S_ISREG(st.st_mode)) { close(fd); *mode = (uint32_t)st.st_mode; return -2; }
    return fd;
}

int cs_file_size(int fd, uint64_t *size) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    *size = (uint64_t)st.st_size;
    return 0;
}

int cs_read_at(int fd, void *buf, size_t n, uint64_t offset) {
    char *p = buf;
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        ssize_t got = pread(fd, p, chunk, (off_t)offset);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (got == 0) { errno = EIO; return -1; }  /* the file is shorter than its header says */
        p += got;
        n -= (size_t)got;
        offset += (uint64_t)got;
    }
    return 0;
}

void cs_close(int fd) { if (fd >= 0) close(fd); }

int cs_write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        ssize_t put = write(fd, p, chunk);
        if (put < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += put;
        n -= (size_t)put;
    }
    return 0;
}

/* Follows the symbolic links of path's last component (and of the targets they
 * name) into out[PATH_MAX], so a save replaces the file a link points to and
 * keeps the link. The folders on the way need no resolving: a relative link
 * target is read relative to the link's folder, which "<link's folder>/<target>"
 * is. *st gets lstat of the final target; st_mode 0 when nothing is there (a
 * new file, or the target a dangling link names). */
static int cs_resolve(const char *path, char *out, struct stat *st) {
    size_t n = strlen(path);
    if (n >= PATH_MAX) { errno = ENAMETOOLONG; return -1; }
    memcpy(out, path, n + 1);
    for (int links = 0;; links++) {
        if (lstat(out, st) != 0) {
            if (errno != ENOENT) return -1;
            st->st_mode = 0;
            return 0;
        }
        if (!S_ISLNK(st->st_mode)) return 0;
        if (links == 40) { errno = ELOOP; return -1; }  /* the kernel's own limit */
        char link[PATH_MAX];
        ssize_t k = readlink(out, link, sizeof link);
        if (k < 0) return -1;
        if ((size_t)k >= sizeof link) { errno = ENAMETOOLONG; return -1; }
        link[k] = '\0';
        const char *slash = strrchr(out, '/');
        size_t keep = (link[0] == '/' || slash == NULL) ? 0 : (size_t)(slash - out) + 1;
        if (keep + (size_t)k >= PATH_MAX) { errno = ENAMETOOLONG; return -1; }
        memcpy(out + keep, link, (size_t)k + 1);
    }
}

/* fsyncs the folder holding path, so a rename in it is durable. */
static int cs_sync_parent(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (slash == NULL) {
        memcpy(dir, ".", 2);
    } else if (slash == path) {
        memcpy(dir, "/", 2);
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) { errno = ENAMETOOLONG; return -1; }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r;
    do { r = fsync(fd); } while (r != 0 && errno == EINTR);
    int e = errno;
    close(fd);
    errno = e;
    /* Some file systems refuse fsync on a folder; the rename is done either way. */
    return (r != 0 && errno != EINVAL && errno != EROFS) ? -1 : 0;
}

/* The temporary file's name: short (".swann-XXXXXX.tmp", whatever the target's
 * name: a 255-byte target name leaves no room for a suffix) and hidden. */
#define CS_TEMP_NAME ".swann-XXXXXX.tmp"

static uint64_t cs_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int cs_save_open(const char *path, cs_save_file *f) {
    static _Thread_local uint64_t counter;
    memset(f, 0, sizeof *f);
    f->fd = -1;
    char *block = malloc(2 * (size_t)PATH_MAX);
    if (block == NULL) { f->stage = CS_SAVE_NOMEM; errno = ENOMEM; return -1; }
    f->target = block;
    f->temp = block + PATH_MAX;
    f->target[0] = f->temp[0] = '\0';
    struct stat st;
    if (cs_resolve(path, f->target, &st) != 0) { f->stage = CS_SAVE_RESOLVE; return -1; }
    int exists = st.st_mode != 0;
    /* A FIFO, device, socket or folder is refused without opening it (no blocking). */
    if (exists && !S_ISREG(st.st_mode)) { f->stage = CS_SAVE_KIND; f->mode = (uint32_t)st.st_mode; return -1; }
    f->stage = CS_SAVE_CREATE;
    const char *slash = strrchr(f->target, '/');
    size_t dir = slash ? (size_t)(slash - f->target) + 1 : 0;
    if (dir + sizeof CS_TEMP_NAME > PATH_MAX) { errno = ENAMETOOLONG; return -1; }
    memcpy(f->temp, f->target, dir);
    memcpy(f->temp + dir, CS_TEMP_NAME, sizeof CS_TEMP_NAME);
    char *x = f->temp + dir + 7;  /* the XXXXXX */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t seed = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&counter ^
                    ((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
    /* Created with the old file's bits (umask may only narrow them; fchmod below
     * sets them exactly), so the new model is never more open than the old one. */
    mode_t mode = exists ? (st.st_mode & 0777) : 0666;
    for (int attempt = 0;; attempt++) {
        uint64_t h = cs_mix(seed + 0x9E3779B97F4A7C15ull * ++counter);
        for (int i = 0; i < 6; i++, h /= 36) x[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[h % 36];
        f->fd = open(f->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (f->fd >= 0) break;
        if ((errno != EEXIST && errno != EINTR) || attempt == 99) return -1;
    }
    f->temp_exists = 1;
    if (exists) {
        /* The group too (a 0640 model shared with a group) when the process may
         * set it; when it may not, the new file has the process's group. */
        struct stat made;
        if (fstat(f->fd, &made) == 0 && made.st_gid != st.st_gid) {
            int refused = fchown(f->fd, (uid_t)-1, st.st_gid);
            (void)refused;
        }
        if (fchmod(f->fd, st.st_mode & 0777) != 0) { f->stage = CS_SAVE_MODE; return -1; }
    }
    f->stage = 0;
    return 0;
}

int cs_save_commit(cs_save_file *f) {
    int r;
    do { r = fsync(f->fd); } while (r != 0 && errno == EINTR);
    if (r != 0) { f->stage = CS_SAVE_SYNC; return -1; }
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0 && errno != EINTR) { f->stage = CS_SAVE_SYNC; return -1; }
    if (rename(f->temp, f->target) != 0) { f->stage = CS_SAVE_RENAME; return -1; }
    f->temp_exists = 0;
    if (cs_sync_parent(f->target) != 0) { f->stage = CS_SAVE_DIRSYNC; return -1; }
    return 0;
}

void cs_save_end(cs_save_file *f) {
    int e = errno;
    if (f->fd >= 0) close(f->fd);
    if (f->temp_exists) unlink(f->temp);
    free(f->target);
    memset(f, 0, sizeof *f);
    f->fd = -1;
    errno = e;
}

void cs_tensor_name(char out[128], int64_t layer, int is_bias, const char *slot) {
    const char *which = is_bias ? "bias" : "weight";
    if (layer < 0)
        snprintf(out, 128, "optimizer.step");
    else if (slot == NULL)
        snprintf(out, 128, "layers.%lld.%s", (long long)layer, which);
    else
        snprintf(out, 128, "optimizer.%lld.%s.%s", (long long)layer, which, slot);
}

/* ---- worker threads ------------------------------------------------------------ */

enum { CS_SPIN = 4000 };  /* ~10-50 us of polling before a worker sleeps */
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

/* Claims and runs chunks of generation `gen` until none are left; returns how
 * many it ran. */
static uint32_t cs_pool_work(cs_pool *pool, uint32_t gen, int worker) {
    uint32_t ran = 0;
    uint64_t w = __atomic_load_n(&pool->work, __ATOMIC_ACQUIRE);
    for (;;) {
        if ((uint32_t)(w >> 32) != gen) return ran;
        uint32_t chunk = (uint32_t)w;
        /* fn, ctx and total belong to `gen` once the claim below succeeds: a
         * later job replaces the work word before it writes them (cs_pool_run),
         * so a claim on this word fails if they changed, and they cannot change
         * while a chunk of it is unfinished. */
        if (chunk >= __atomic_load_n(&pool->total, __ATOMIC_ACQUIRE)) return ran;
        if (!__atomic_compare_exchange_n(&pool->work, &w, w + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue;
        pool->fn(pool->ctx, chunk, worker);
        ran++;
        uint32_t total = __atomic_load_n(&pool->total, __ATOMIC_RELAXED);
        uint32_t finished = __atomic_add_fetch(&pool->done, 1, __ATOMIC_ACQ_REL);
        if (finished == total) cs_futex_wake(&pool->done, 1);
        w = __atomic_load_n(&pool->work, __ATOMIC_ACQUIRE);
    }
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
    /* The work word moves to the new generation first: a worker still in the
     * last job, holding that job's word, then fails its claim whatever `total`
     * it reads. (With `total` raised first, such a worker could claim a chunk
     * of the old word, run it, and count it in `done` of the new job: a chunk
     * run twice, and `done` past `total`, which never ends the wait below.)
     * The release store of `total` publishes the new word before it. */
    uint64_t t0 = cs_pool_now(pool);
    __atomic_store_n(&pool->work, (uint64_t)gen << 32, __ATOMIC_RELEASE);
    pool->fn = fn;
    pool->ctx = ctx;
    __atomic_store_n(&pool->done, 0, __ATOMIC_RELAXED);
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
