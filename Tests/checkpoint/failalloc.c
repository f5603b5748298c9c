/*
 * failalloc.c -- LD_PRELOAD shim that counts heap blocks and, when armed,
 * fails the n-th allocation.
 *
 * Interposes malloc, calloc, realloc, reallocarray, free, posix_memalign,
 * aligned_alloc, memalign, valloc and pvalloc and forwards them to the next
 * definition (dlsym(RTLD_NEXT)). While those are being looked up (dlsym may
 * itself allocate) requests come from a static buffer that is never freed.
 *
 * For the tests (found with dlsym(RTLD_DEFAULT, ...)):
 *   long fa_live(void)          blocks allocated and not yet freed
 *   void fa_arm(long n)         fail the n-th allocation from now on (0: off)
 *   long fa_seen(void)          allocations since the last fa_arm
 *   int  fa_injected(void)      1 once the armed failure has happened
 *
 * An injected failure behaves like the real one: NULL with errno ENOMEM, or
 * ENOMEM from posix_memalign; realloc leaves the old block alone.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void *(*r_malloc)(size_t);
static void *(*r_calloc)(size_t, size_t);
static void *(*r_realloc)(void *, size_t);
static void *(*r_reallocarray)(void *, size_t, size_t);
static void (*r_free)(void *);
static int (*r_posix_memalign)(void **, size_t, size_t);
static void *(*r_aligned_alloc)(size_t, size_t);
static void *(*r_memalign)(size_t, size_t);
static void *(*r_valloc)(size_t);
static void *(*r_pvalloc)(size_t);

static _Alignas(64) unsigned char boot[1 << 16];
static size_t boot_pos;
static int resolving, ready;

static long live;      /* blocks outstanding */
static long armed_at;  /* fail when seen reaches this (0: never) */
static long seen;      /* allocations since arming */
static int injected;

long fa_live(void) { return __atomic_load_n(&live, __ATOMIC_SEQ_CST); }
long fa_seen(void) { return __atomic_load_n(&seen, __ATOMIC_SEQ_CST); }
int fa_injected(void) { return __atomic_load_n(&injected, __ATOMIC_SEQ_CST); }
void fa_arm(long n)
{
    __atomic_store_n(&seen, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&injected, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&armed_at, n, __ATOMIC_SEQ_CST);
}

static int in_boot(const void *p)
{
    return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof boot;
}

static void *boot_alloc(size_t n, size_t align)
{
    if (align < 16) align = 16;
    size_t start = (boot_pos + align - 1) & ~(align - 1);
    if (start + n > sizeof boot) return NULL;
    boot_pos = start + ((n + 15) & ~(size_t)15);
    return boot + start;
}

static void resolve(void)
{
    if (ready) return;
    resolving = 1;
    r_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    r_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    r_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    r_reallocarray = (void *(*)(void *, size_t, size_t))dlsym(RTLD_NEXT, "reallocarray");
    r_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    r_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    r_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    r_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
    r_valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
    r_pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
    resolving = 0;
    ready = 1;
}

/* 1 when this allocation must fail. */
static int should_fail(void)
{
    long at = __atomic_load_n(&armed_at, __ATOMIC_SEQ_CST);
    if (at <= 0) return 0;
    long n = __atomic_add_fetch(&seen, 1, __ATOMIC_SEQ_CST);
    if (n == at) {
        __atomic_store_n(&injected, 1, __ATOMIC_SEQ_CST);
        return 1;
    }
    return 0;
}

static void *counted(void *p)
{
    if (p) __atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
    return p;
}

void *malloc(size_t n)
{
    if (!ready) {
        if (resolving) return boot_alloc(n, 16);
        resolve();
    }
    if (should_fail()) { errno = ENOMEM; return NULL; }
    return counted(r_malloc(n));
}

void *calloc(size_t a, size_t b)
{
    if (!ready) {
        if (resolving) {
            if (b && a > SIZE_MAX / b) return NULL;
            return boot_alloc(a * b, 16); /* static: already zero */
        }
        resolve();
    }
    if (should_fail()) { errno = ENOMEM; return NULL; }
    return counted(r_calloc(a, b));
}

void free(void *p)
{
    if (!p || in_boot(p)) return;
    if (!ready) resolve();
    __atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
    r_free(p);
}

void *realloc(void *p, size_t n)
{
    if (!ready) resolve();
    if (p && in_boot(p)) {
        void *q = malloc(n);
        size_t room = (size_t)(boot + sizeof boot - (unsigned char *)p);
        if (q) memcpy(q, p, n < room ? n : room);
        return q;
    }
    if (!p) return malloc(n);
    if (n == 0) { /* glibc: frees and returns NULL */
        free(p);
        return NULL;
    }
    if (should_fail()) { errno = ENOMEM; return NULL; }
    return r_realloc(p, n);
}

void *reallocarray(void *p, size_t a, size_t b)
{
    if (b && a > SIZE_MAX / b) { errno = ENOMEM; return NULL; }
    return realloc(p, a * b);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (!ready) resolve();
    if (should_fail()) return ENOMEM;
    int r = r_posix_memalign(out, align, n);
    if (r == 0) counted(*out);
    return r;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (!ready) resolve();
    if (should_fail()) { errno = ENOMEM; return NULL; }
    return counted(r_aligned_alloc(align, n));
}

void *memalign(size_t align, size_t n)
{
    if (!ready) resolve();
    if (should_fail()) { errno = ENOMEM; return NULL; }
    return counted(r_memalign(align, n));
}

void *valloc(size_t n)
{
    if (!ready) resolve();
    if (should_fail()) { errno = ENOMEM; return NULL; }
    return counted(r_valloc(n));
}

void *pvalloc(size_t n)
{
    if (!ready) resolve();
    if (should_fail()) { errno = ENOMEM; return NULL; }
    return counted(r_pvalloc(n));
}
