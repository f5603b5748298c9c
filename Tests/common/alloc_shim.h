/*
 * fa.h -- the tests' side of failalloc.c (the LD_PRELOAD allocation shim).
 * fa_ok() is 0 when the shim is not preloaded; then leak checks are skipped.
 */
#ifndef CKPT_FA_H
#define CKPT_FA_H

#include <dlfcn.h>

static long (*fa_live_p)(void);
static long (*fa_seen_p)(void);
static int (*fa_injected_p)(void);
static void (*fa_arm_p)(long);

static inline int fa_ok(void)
{
    if (!fa_live_p) {
        fa_live_p = (long (*)(void))dlsym(RTLD_DEFAULT, "fa_live");
        fa_seen_p = (long (*)(void))dlsym(RTLD_DEFAULT, "fa_seen");
        fa_injected_p = (int (*)(void))dlsym(RTLD_DEFAULT, "fa_injected");
        fa_arm_p = (void (*)(long))dlsym(RTLD_DEFAULT, "fa_arm");
    }
    return fa_live_p && fa_seen_p && fa_injected_p && fa_arm_p;
}
static inline long fa_live_now(void) { return fa_ok() ? fa_live_p() : 0; }

#endif
