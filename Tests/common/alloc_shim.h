/*
 * alloc_shim.h -- the tests' side of alloc_shim.c, the LD_PRELOAD allocation
 * shim every suite uses (Tests/c test_noalloc, Tests/checkpoint test_corrupt and
 * test_nomem, Tests/reliability nomem_create and longrun).
 *
 * The shim's functions are looked up with dlsym(RTLD_DEFAULT, ...), so a test
 * builds without it and finds out at run time whether it is preloaded:
 *
 *   shim_loaded()      1 when alloc_shim.so is preloaded. Looks the functions
 *                      up on the first call (dlsym may allocate): call it once
 *                      before any window that must not touch the heap.
 *   shim_calls()       heap calls so far, every interposed function (free only
 *                      for non-NULL pointers); 0 without the shim
 *   shim_calls_of(fn)  the same for one function, SHIM_MALLOC ... SHIM_STRNDUP
 *   shim_fn_name(fn)   "malloc", "calloc", ...
 *   shim_live()        blocks allocated and not yet freed; 0 without the shim
 *   shim_arm(n)        fail the n-th allocation from now on (0: never)
 *   shim_seen()        allocations since the last shim_arm
 *   shim_injected()    1 once the armed failure has happened
 *   shim_site()        the object (file) the failed allocation was called from:
 *                      the first caller outside libc and the shim; "" if unknown
 *
 * Reading the counters never calls the heap.
 */
#ifndef SWANN_TEST_ALLOC_SHIM_H
#define SWANN_TEST_ALLOC_SHIM_H

#include <dlfcn.h>

/* the interposed functions, in the order of shim_calls_of */
enum {
    SHIM_MALLOC,
    SHIM_CALLOC,
    SHIM_REALLOC,
    SHIM_REALLOCARRAY,
    SHIM_FREE,
    SHIM_POSIX_MEMALIGN,
    SHIM_ALIGNED_ALLOC,
    SHIM_MEMALIGN,
    SHIM_VALLOC,
    SHIM_PVALLOC,
    SHIM_STRDUP,
    SHIM_STRNDUP,
    SHIM_N
};

static inline const char *shim_fn_name(int fn)
{
    static const char *const names[SHIM_N] = {"malloc",         "calloc",        "realloc",  "reallocarray",
                                              "free",           "posix_memalign", "aligned_alloc", "memalign",
                                              "valloc",         "pvalloc",       "strdup",   "strndup"};
    return fn >= 0 && fn < SHIM_N ? names[fn] : "?";
}

static struct {
    int looked_up;
    unsigned long (*calls)(void);
    unsigned long (*calls_of)(int);
    long (*live)(void);
    void (*arm)(long);
    long (*seen)(void);
    int (*injected)(void);
    const char *(*site)(void);
} shim_fns;

static inline int shim_loaded(void)
{
    if (!shim_fns.looked_up) {
        shim_fns.calls = (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "alloc_shim_calls");
        shim_fns.calls_of = (unsigned long (*)(int))dlsym(RTLD_DEFAULT, "alloc_shim_calls_of");
        shim_fns.live = (long (*)(void))dlsym(RTLD_DEFAULT, "alloc_shim_live");
        shim_fns.arm = (void (*)(long))dlsym(RTLD_DEFAULT, "alloc_shim_arm");
        shim_fns.seen = (long (*)(void))dlsym(RTLD_DEFAULT, "alloc_shim_seen");
        shim_fns.injected = (int (*)(void))dlsym(RTLD_DEFAULT, "alloc_shim_injected");
        shim_fns.site = (const char *(*)(void))dlsym(RTLD_DEFAULT, "alloc_shim_site");
        shim_fns.looked_up = 1;
    }
    return shim_fns.calls && shim_fns.calls_of && shim_fns.live && shim_fns.arm && shim_fns.seen &&
           shim_fns.injected && shim_fns.site;
}

static inline unsigned long shim_calls(void) { return shim_loaded() ? shim_fns.calls() : 0; }
static inline unsigned long shim_calls_of(int fn) { return shim_loaded() ? shim_fns.calls_of(fn) : 0; }
static inline long shim_live(void) { return shim_loaded() ? shim_fns.live() : 0; }
static inline void shim_arm(long n)
{
    if (shim_loaded()) shim_fns.arm(n);
}
static inline long shim_seen(void) { return shim_loaded() ? shim_fns.seen() : 0; }
static inline int shim_injected(void) { return shim_loaded() ? shim_fns.injected() : 0; }
static inline const char *shim_site(void) { return shim_loaded() ? shim_fns.site() : ""; }

#endif
