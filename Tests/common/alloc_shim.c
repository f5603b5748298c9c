/*
 * alloc_shim.c -- the LD_PRELOAD allocation shim of every test suite: counts
 * heap calls and live blocks and, when armed, fails the n-th allocation.
 *
 *   cc -std=c11 -O2 -fPIC -shared -o alloc_shim.so Tests/common/alloc_shim.c -ldl
 *
 * Interposes malloc, calloc, realloc, reallocarray, free, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc, strdup and strndup, and forwards
 * them to the next definition (dlsym(RTLD_NEXT)). Three uses:
 *
 *   - counting heap calls (Tests/c/test_noalloc.c: no call after create may
 *     touch the heap): every call of every interposed function is counted,
 *     free only for non-NULL pointers, per function and in total;
 *   - counting live blocks (leak checks: test_corrupt, test_nomem, nomem_create,
 *     longrun): blocks allocated and not yet freed;
 *   - failing the n-th allocation (test_nomem, nomem_create): an injected
 *     failure behaves like the real one, NULL with errno ENOMEM (posix_memalign
 *     returns ENOMEM), a failed realloc keeps the old block; realloc(p, 0) of a
 *     block is a free and never fails. The shim remembers the call stack of
 *     the failed allocation to name the object it came from.
 *
 * While the real functions are being looked up (dlsym may itself allocate),
 * requests are served from a static buffer whose blocks are never passed to
 * the real free. The test side is alloc_shim.h: the functions below, found
 * with dlsym(RTLD_DEFAULT, ...), behind shim_calls(), shim_live(), shim_arm()
 * and friends. None of them touches the heap.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alloc_shim.h"

static void *(*r_malloc)(size_t);
static void *(*r_calloc)(size_t, size_t);
static void *(*r_realloc)(void *, size_t);
static void (*r_free)(void *);
static int (*r_posix_memalign)(void **, size_t, size_t);
static void *(*r_aligned_alloc)(size_t, size_t);
static void *(*r_memalign)(size_t, size_t);

/* ---- the counters ------------------------------------------------------------ */

static unsigned long calls[SHIM_N]; /* heap calls, per function */
static long live;                   /* blocks allocated and not yet freed */
static long armed_at;               /* fail when seen reaches this (0: never) */
static long seen;                   /* allocations since the last arming */
static int injected;                /* the armed failure has happened */
static void *site;                  /* return address of the failed allocation */
static void *frames[24];            /* and its call stack */
static int nframes;

unsigned long alloc_shim_calls(void)
{
    unsigned long s = 0;
    for (int i = 0; i < SHIM_N; i++) s += __atomic_load_n(&calls[i], __ATOMIC_SEQ_CST);
    return s;
}

unsigned long alloc_shim_calls_of(int fn)
{
    return fn >= 0 && fn < SHIM_N ? __atomic_load_n(&calls[fn], __ATOMIC_SEQ_CST) : 0;
}

long alloc_shim_live(void) { return __atomic_load_n(&live, __ATOMIC_SEQ_CST); }
long alloc_shim_seen(void) { return __atomic_load_n(&seen, __ATOMIC_SEQ_CST); }
int alloc_shim_injected(void) { return __atomic_load_n(&injected, __ATOMIC_SEQ_CST); }

void alloc_shim_arm(long n)
{
    __atomic_store_n(&seen, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&injected, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&armed_at, n, __ATOMIC_SEQ_CST);
}

static const char *object_of(void *addr)
{
    Dl_info info;
    return (addr && dladdr(addr, &info) && info.dli_fname) ? info.dli_fname : "";
}

const char *alloc_shim_site(void)
{
    const char *self = object_of((void *)alloc_shim_site);
    for (int i = 0; i < nframes; i++) {
        const char *o = object_of(frames[i]);
        if (strcmp(o, self) != 0 && !strstr(o, "/libc.so")) return o;
    }
    return object_of(site);
}

static void count(int fn) { __atomic_add_fetch(&calls[fn], 1, __ATOMIC_SEQ_CST); }
static void live_add(long d) { __atomic_add_fetch(&live, d, __ATOMIC_SEQ_CST); }

static void *counted(void *p)
{
    if (p) live_add(1);
    return p;
}

/* 1 when this allocation must fail (then errno is ENOMEM); `caller` is the
 * return address of the allocation call, to name its object. */
static int fail_now(void *caller)
{
    long at = __atomic_load_n(&armed_at, __ATOMIC_SEQ_CST);
    if (at <= 0) return 0;
    if (__atomic_add_fetch(&seen, 1, __ATOMIC_SEQ_CST) != at) return 0;
    __atomic_store_n(&injected, 1, __ATOMIC_SEQ_CST);
    site = caller;
    nframes = backtrace(frames, 24);
    errno = ENOMEM;
    return 1;
}

/* ---- start-up: the bootstrap buffer ---------------------------------------- */

/* a block: the size in the 8 bytes before it, 16-byte (or `align`) aligned */
static _Alignas(64) unsigned char boot[1 << 20];
static size_t boot_pos;
static volatile int resolving;
static volatile int ready;

static int in_boot(const void *p)
{
    return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof boot;
}

static void *boot_alloc(size_t n, size_t align)
{
    if (align < 16) align = 16;
    size_t pos = __atomic_load_n(&boot_pos, __ATOMIC_SEQ_CST);
    for (;;) {
        size_t start = (pos + 16 + align - 1) & ~(align - 1);
        size_t end = start + ((n + 15) & ~(size_t)15);
        if (end > sizeof boot || end < start) return NULL;
        if (__atomic_compare_exchange_n(&boot_pos, &pos, end, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            memcpy(boot + start - sizeof(size_t), &n, sizeof n);
            return boot + start;
        }
    }
}

static size_t boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const unsigned char *)p - sizeof(size_t), sizeof n);
    return n;
}

static void resolve(void)
{
    if (ready) return;
    resolving = 1;
    r_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    r_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    r_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    r_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    r_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    r_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    r_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
    resolving = 0;
    ready = r_malloc && r_calloc && r_realloc && r_free && r_posix_memalign && r_aligned_alloc && r_memalign;
}

/* 1 while the call must be served from the bootstrap buffer */
static int booting(void)
{
    if (ready) return 0;
    if (resolving) return 1;
    resolve();
    return !ready;
}

/* backtrace() loads libgcc_s on first use, which allocates: do it up front. */
__attribute__((constructor)) static void shim_init(void)
{
    void *f[2];
    resolve();
    backtrace(f, 2);
}

/* ---- the interposed functions ------------------------------------------------ */

static void *do_malloc(size_t n, void *caller)
{
    if (booting()) return boot_alloc(n, 16);
    if (fail_now(caller)) return NULL;
    return counted(r_malloc(n));
}

static void *do_realloc(void *p, size_t n, void *caller)
{
    if (booting() || (p && in_boot(p))) {
        void *q;
        if (booting()) {
            q = boot_alloc(n, 16);
        } else {
            if (fail_now(caller)) return NULL;
            q = counted(r_malloc(n));
        }
        if (q && p) {
            size_t old = boot_size(p);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    if (p && n == 0) { /* glibc: frees the block, returns NULL */
        live_add(-1);
        r_free(p);
        return NULL;
    }
    if (fail_now(caller)) return NULL;
    void *q = r_realloc(p, n);
    if (!p && q) live_add(1);
    return q;
}

static void *do_memalign(size_t align, size_t n, void *caller)
{
    if (booting()) return boot_alloc(n, align);
    if (fail_now(caller)) return NULL;
    return counted(r_memalign(align, n));
}

void *malloc(size_t n)
{
    count(SHIM_MALLOC);
    return do_malloc(n, __builtin_return_address(0));
}

void *calloc(size_t a, size_t b)
{
    count(SHIM_CALLOC);
    if (booting()) {
        if (b && a > SIZE_MAX / b) return NULL;
        return boot_alloc(a * b, 16); /* static storage: already zero */
    }
    if (fail_now(__builtin_return_address(0))) return NULL;
    return counted(r_calloc(a, b));
}

void free(void *p)
{
    if (!p) return;
    count(SHIM_FREE);
    if (in_boot(p)) return;
    if (booting()) return; /* cannot happen for a block the real malloc gave */
    live_add(-1);
    r_free(p);
}

void *realloc(void *p, size_t n)
{
    count(SHIM_REALLOC);
    return do_realloc(p, n, __builtin_return_address(0));
}

void *reallocarray(void *p, size_t a, size_t b)
{
    count(SHIM_REALLOCARRAY);
    if (b && a > SIZE_MAX / b) {
        errno = ENOMEM;
        return NULL;
    }
    return do_realloc(p, a * b, __builtin_return_address(0));
}

int posix_memalign(void **out, size_t align, size_t n)
{
    count(SHIM_POSIX_MEMALIGN);
    if (booting()) {
        void *p = boot_alloc(n, align);
        if (!p) return ENOMEM;
        *out = p;
        return 0;
    }
    if (fail_now(__builtin_return_address(0))) return ENOMEM;
    int r = r_posix_memalign(out, align, n);
    if (r == 0) counted(*out);
    return r;
}

void *aligned_alloc(size_t align, size_t n)
{
    count(SHIM_ALIGNED_ALLOC);
    if (booting()) return boot_alloc(n, align);
    if (fail_now(__builtin_return_address(0))) return NULL;
    return counted(r_aligned_alloc(align, n));
}

void *memalign(size_t align, size_t n)
{
    count(SHIM_MEMALIGN);
    return do_memalign(align, n, __builtin_return_address(0));
}

void *valloc(size_t n)
{
    count(SHIM_VALLOC);
    return do_memalign(4096, n, __builtin_return_address(0));
}

void *pvalloc(size_t n)
{
    count(SHIM_PVALLOC);
    return do_memalign(4096, (n + 4095) & ~(size_t)4095, __builtin_return_address(0));
}

char *strdup(const char *s)
{
    count(SHIM_STRDUP);
    size_t n = strlen(s) + 1;
    char *d = do_malloc(n, __builtin_return_address(0));
    if (d) memcpy(d, s, n);
    return d;
}

char *strndup(const char *s, size_t max)
{
    count(SHIM_STRNDUP);
    size_t n = strnlen(s, max);
    char *d = do_malloc(n + 1, __builtin_return_address(0));
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}
