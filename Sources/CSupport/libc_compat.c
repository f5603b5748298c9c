/* What the Embedded Swift objects take from libc, at versions glibc 2.28 has
 * (glibc_versions.h): pow for Adam's bias corrections, and arc4random_buf. */
#define _GNU_SOURCE
#include "csupport.h"
#include <math.h>
#if defined(__GLIBC__)
#include "glibc_versions.h"
#endif

double cs_pow(double x, double y) { return pow(x, y); }

#if defined(__linux__)
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>

/* Embedded Swift's standard library seeds its hashing with arc4random_buf
 * (glibc 2.36). The library never hashes on a path that matters (the enums'
 * synthesized Hashable conformances are emitted, not used), but the reference
 * must resolve: this hidden definition answers it inside libswann from the
 * getrandom system call (Linux 3.17), and with fixed bytes should that fail. */
__attribute__((visibility("hidden"))) void arc4random_buf(void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        long got = syscall(SYS_getrandom, p, n, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        p += got;
        n -= (size_t)got;
    }
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(0x9e + 0x37 * i);
}
#endif
