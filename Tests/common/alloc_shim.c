/*
 * failmalloc.c -- LD_PRELOAD shim: counts live heap blocks and, when armed,
 * fails the n-th allocation (malloc, calloc, realloc, reallocarray,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc, strdup, strndup).
 * An injected failure looks like the real one: NULL with errno ENOMEM
 * (posix_memalign returns ENOMEM); a failed realloc keeps the old block.
 *
 * For the tests, found with dlsym(RTLD_DEFAULT, ...):
 *   void fm_arm(long n)    fail the n-th allocation from now on; 0 disarms
 *   long fm_seen(void)     allocations since the last fm_arm
 *   int  fm_injected(void) 1 once the armed failure has happened
 *   long fm_live(void)     blocks allocated and not yet freed
 *   const char *fm_site(void)  where the failed allocation came from: the file
 *                          of the first caller outside libc; "" if unknown
 *
 * While the real functions are looked up (dlsym may allocate), requests are
 * served from a static buffer whose blocks are never passed to the real free.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void *(*r_malloc)(size_t);
static void *(*r_calloc)(size_t, size_t);
static void *(*r_realloc)(void *, size_t);
static void (*r_free)(void *);
static int (*r_posix_memalign)(void **, size_t, size_t);
static void *(*r_aligned_alloc)(size_t, size_t);
static void *(*r_memalign)(size_t, size_t);

static _Alignas(64) unsigned char boot[1 << 16];
static size_t boot_pos;
static int resolving, ready;

static long live, armed_at, seen;
static int injected;
static void *site;
static void *frames[24];
static int nframes;

void fm_arm(long n)
{
    __atomic_store_n(&seen, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&injected, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&armed_at, n, __ATOMIC_SEQ_CST);
}
long fm_seen(void) { return __atomic_load_n(&seen, __ATOMIC_SEQ_CST); }
int fm_injected(void) { return __atomic_load_n(&injected, __ATOMIC_SEQ_CST); }
long fm_live(void) { return __atomic_load_n(&live, __ATOMIC_SEQ_CST); }
static const char *object_of(void *addr)
{
    Dl_info info;
    return (addr && dladdr(addr, &info) && info.dli_fname) ? info.dli_fname : "";
}

const char *fm_site(void)
{
    const char *self = object_of((void *)fm_site);
    for (int i = 0; i < nframes; i++) {
        const char *o = object_of(frames[i]);
        if (strcmp(o, self) != 0 && !strstr(o, "/libc.so")) return o;
    }
    return object_of(site);
}

/* backtrace() loads libgcc_s on first use (which allocates): do it up front. */
__attribute__((constructor)) static void warm_backtrace(void)
{
    void *f[2];
    backtrace(f, 2);
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
    resolving = 1;
    r_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    r_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    r_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    r_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    r_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    r_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    r_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
    resolving = 0;
    ready = 1;
}

/* 1: serve from the boot buffer */
static int booting(void)
{
    if (ready) return 0;
    if (resolving) return 1;
    resolve();
    return 0;
}

/* `caller`: the return address of the allocation call, to name its object. */
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

static void *counted(void *p)
{
    if (p) __atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
    return p;
}

static void *do_malloc(size_t n, void *caller)
{
    if (booting()) return boot_alloc(n, 16);
    if (fail_now(caller)) return NULL;
    return counted(r_malloc(n));
}

void *malloc(size_t n) { return do_malloc(n, __builtin_return_address(0)); }

void *calloc(size_t a, size_t b)
{
    if (booting()) return (b && a > SIZE_MAX / b) ? NULL : boot_alloc(a * b, 16);
    if (fail_now(__builtin_return_address(0))) return NULL;
    return counted(r_calloc(a, b));
}

void free(void *p)
{
    if (!p || in_boot(p)) return;
    __atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
    r_free(p);
}

static void *do_realloc(void *p, size_t n, void *caller)
{
    if (booting() || (p && in_boot(p))) {
        void *q = booting() ? boot_alloc(n, 16) : counted(r_malloc(n));
        if (q && p) {
            size_t room = (size_t)(boot + sizeof boot - (unsigned char *)p);
            memcpy(q, p, n < room ? n : room);
        }
        return q;
    }
    if (fail_now(caller)) return NULL;
    void *q = r_realloc(p, n);
    if (!p && q) __atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
    if (p && !q && n == 0) __atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
    return q;
}

void *realloc(void *p, size_t n) { return do_realloc(p, n, __builtin_return_address(0)); }

void *reallocarray(void *p, size_t a, size_t b)
{
    if (b && a > SIZE_MAX / b) { errno = ENOMEM; return NULL; }
    return do_realloc(p, a * b, __builtin_return_address(0));
}

int posix_memalign(void **out, size_t align, size_t n)
{
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
    if (booting()) return boot_alloc(n, align);
    if (fail_now(__builtin_return_address(0))) return NULL;
    return counted(r_aligned_alloc(align, n));
}

static void *do_memalign(size_t align, size_t n, void *caller)
{
    if (booting()) return boot_alloc(n, align);
    if (fail_now(caller)) return NULL;
    return counted(r_memalign(align, n));
}

void *memalign(size_t align, size_t n) { return do_memalign(align, n, __builtin_return_address(0)); }
void *valloc(size_t n) { return do_memalign(4096, n, __builtin_return_address(0)); }
void *pvalloc(size_t n) { return do_memalign(4096, (n + 4095) & ~(size_t)4095, __builtin_return_address(0)); }

char *strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = do_malloc(n, __builtin_return_address(0));
    if (d) memcpy(d, s, n);
    return d;
}

char *strndup(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *d = do_malloc(n + 1, __builtin_return_address(0));
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}
