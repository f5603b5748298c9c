/*
 * malloc_count.c -- LD_PRELOAD shim that counts heap calls.
 *
 * Interposes malloc, calloc, realloc, reallocarray, free, posix_memalign,
 * aligned_alloc, memalign, valloc and pvalloc, forwards them to the next
 * definition (dlsym(RTLD_NEXT)), and counts every call (free only for
 * non-NULL pointers). While the real functions are being looked up (dlsym
 * itself may call calloc/malloc), requests are served from a static bump
 * buffer whose blocks are never handed to the real free.
 *
 * Exposed for tests (found with dlsym(RTLD_DEFAULT, ...)):
 *   unsigned long malloc_count_get(void);            total heap calls so far
 *   unsigned long malloc_count_get_detail(int which); per function, MC_* below
 *   long          malloc_count_live(void);           allocations minus frees
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { MC_MALLOC, MC_CALLOC, MC_REALLOC, MC_REALLOCARRAY, MC_FREE, MC_POSIX_MEMALIGN,
       MC_ALIGNED_ALLOC, MC_MEMALIGN, MC_VALLOC, MC_PVALLOC, MC_N };

static unsigned long mc_counts[MC_N];
static long mc_live;

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

/* bootstrap arena: 16-byte header holding the block size, then the block */
static _Alignas(64) unsigned char mc_boot[1 << 20];
static size_t mc_boot_pos;
static volatile int mc_resolving;
static volatile int mc_ready;

static int mc_in_boot(const void *p)
{
    return (const unsigned char *)p >= mc_boot && (const unsigned char *)p < mc_boot + sizeof mc_boot;
}

static void *mc_boot_alloc(size_t n, size_t align)
{
    if (align < 16) align = 16;
    size_t pos = __atomic_load_n(&mc_boot_pos, __ATOMIC_SEQ_CST);
    for (;;) {
        size_t start = (pos + 16 + align - 1) & ~(align - 1);
        size_t end = start + ((n + 15) & ~(size_t)15);
        if (end > sizeof mc_boot || end < start) return NULL;
        if (__atomic_compare_exchange_n(&mc_boot_pos, &pos, end, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            memcpy(mc_boot + start - sizeof(size_t), &n, sizeof n);
            return mc_boot + start;
        }
    }
}

static size_t mc_boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const unsigned char *)p - sizeof(size_t), sizeof n);
    return n;
}

static void mc_resolve(void)
{
    if (mc_ready) return;
    mc_resolving = 1;
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
    mc_resolving = 0;
    mc_ready = r_malloc && r_calloc && r_realloc && r_free;
}

__attribute__((constructor)) static void mc_init(void) { mc_resolve(); }

static void mc_count(int which) { __atomic_add_fetch(&mc_counts[which], 1, __ATOMIC_SEQ_CST); }
static void mc_live_add(long d) { __atomic_add_fetch(&mc_live, d, __ATOMIC_SEQ_CST); }

/* true when the call must be served from the bootstrap buffer */
static int mc_booting(void)
{
    if (mc_ready) return 0;
    if (mc_resolving) return 1;
    mc_resolve();
    return !mc_ready;
}

void *malloc(size_t n)
{
    mc_count(MC_MALLOC);
    if (mc_booting()) return mc_boot_alloc(n, 16);
    void *p = r_malloc(n);
    if (p) mc_live_add(1);
    return p;
}

void *calloc(size_t a, size_t b)
{
    mc_count(MC_CALLOC);
    if (mc_booting()) {
        if (b && a > SIZE_MAX / b) return NULL;
        return mc_boot_alloc(a * b, 16); /* static storage: already zero */
    }
    void *p = r_calloc(a, b);
    if (p) mc_live_add(1);
    return p;
}

void free(void *p)
{
    if (!p) return;
    mc_count(MC_FREE);
    if (mc_in_boot(p)) return;
    if (mc_booting()) return; /* cannot happen for real pointers */
    mc_live_add(-1);
    r_free(p);
}

void *realloc(void *p, size_t n)
{
    mc_count(MC_REALLOC);
    if (mc_booting() || (p && mc_in_boot(p))) {
        void *q;
        if (mc_booting()) q = mc_boot_alloc(n, 16);
        else {
            q = r_malloc(n);
            if (q) mc_live_add(1);
        }
        if (q && p) {
            size_t old = mc_boot_size(p);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    void *q = r_realloc(p, n);
    if (!p && q) mc_live_add(1);
    else if (p && n == 0 && !q) mc_live_add(-1);
    return q;
}

void *reallocarray(void *p, size_t a, size_t b)
{
    mc_count(MC_REALLOCARRAY);
    if (b && a > SIZE_MAX / b) {
        errno = ENOMEM;
        return NULL;
    }
    if (mc_booting() || (p && mc_in_boot(p)) || !r_reallocarray) {
        /* route through realloc's logic without counting twice */
        __atomic_sub_fetch(&mc_counts[MC_REALLOC], 1, __ATOMIC_SEQ_CST);
        return realloc(p, a * b);
    }
    void *q = r_reallocarray(p, a, b);
    if (!p && q) mc_live_add(1);
    else if (p && a * b == 0 && !q) mc_live_add(-1);
    return q;
}

int posix_memalign(void **out, size_t align, size_t n)
{
    mc_count(MC_POSIX_MEMALIGN);
    if (mc_booting() || !r_posix_memalign) {
        void *p = mc_boot_alloc(n, align);
        if (!p) return ENOMEM;
        *out = p;
        return 0;
    }
    int r = r_posix_memalign(out, align, n);
    if (r == 0) mc_live_add(1);
    return r;
}

void *aligned_alloc(size_t align, size_t n)
{
    mc_count(MC_ALIGNED_ALLOC);
    if (mc_booting() || !r_aligned_alloc) return mc_boot_alloc(n, align);
    void *p = r_aligned_alloc(align, n);
    if (p) mc_live_add(1);
    return p;
}

void *memalign(size_t align, size_t n)
{
    mc_count(MC_MEMALIGN);
    if (mc_booting() || !r_memalign) return mc_boot_alloc(n, align);
    void *p = r_memalign(align, n);
    if (p) mc_live_add(1);
    return p;
}

void *valloc(size_t n)
{
    mc_count(MC_VALLOC);
    if (mc_booting() || !r_valloc) return mc_boot_alloc(n, 4096);
    void *p = r_valloc(n);
    if (p) mc_live_add(1);
    return p;
}

void *pvalloc(size_t n)
{
    mc_count(MC_PVALLOC);
    if (mc_booting() || !r_pvalloc) return mc_boot_alloc((n + 4095) & ~(size_t)4095, 4096);
    void *p = r_pvalloc(n);
    if (p) mc_live_add(1);
    return p;
}

unsigned long malloc_count_get(void)
{
    unsigned long s = 0;
    for (int i = 0; i < MC_N; i++) s += __atomic_load_n(&mc_counts[i], __ATOMIC_SEQ_CST);
    return s;
}

unsigned long malloc_count_get_detail(int which)
{
    if (which < 0 || which >= MC_N) return 0;
    return __atomic_load_n(&mc_counts[which], __ATOMIC_SEQ_CST);
}

long malloc_count_live(void) { return __atomic_load_n(&mc_live, __ATOMIC_SEQ_CST); }
