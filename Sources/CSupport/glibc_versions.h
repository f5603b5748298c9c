/* The glibc symbol versions the library binds to: at most those of glibc 2.28
 * (manylinux_2_28), so that one libswann.so loads on every Linux from there on.
 * Included by each platform-layer file that calls one of these functions: a
 * .symver directive binds the references of the object it is assembled in.
 * Linking against a newer glibc would otherwise pick the newest default
 * versions: pthread_* @GLIBC_2.34 (when libpthread merged into libc), stat &
 * co. @GLIBC_2.33 (before, inline calls of __xstat), pow @GLIBC_2.29. The old
 * versions are the same code on a new glibc (kept as compat symbols). */
#ifndef SWANN_GLIBC_VERSIONS_H
#define SWANN_GLIBC_VERSIONS_H

#include <sys/stat.h>

/* Sanitizer builds (tools/build-sanitized.sh, never shipped) keep the default
 * versions: their runtimes intercept pthread_create & co. by those. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CS_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CS_SANITIZED 1
#endif

#if defined(__GLIBC__) && defined(__x86_64__) && !defined(CS_SANITIZED)
/* libpthread.so.0 defines these below glibc 2.34: the Makefile links it (a stub since). */
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
__asm__(".symver pthread_once,pthread_once@GLIBC_2.2.5");
__asm__(".symver pow,pow@GLIBC_2.2.5");

/* _STAT_VER_LINUX on x86-64: glibc's struct stat is the kernel's. */
extern int __xstat(int ver, const char *path, struct stat *st);
extern int __lxstat(int ver, const char *path, struct stat *st);
extern int __fxstat(int ver, int fd, struct stat *st);
__asm__(".symver __xstat,__xstat@GLIBC_2.2.5");
__asm__(".symver __lxstat,__lxstat@GLIBC_2.2.5");
__asm__(".symver __fxstat,__fxstat@GLIBC_2.2.5");
static inline int cs_stat(const char *path, struct stat *st) { return __xstat(1, path, st); }
static inline int cs_lstat(const char *path, struct stat *st) { return __lxstat(1, path, st); }
static inline int cs_fstat(int fd, struct stat *st) { return __fxstat(1, fd, st); }
#else
static inline int cs_stat(const char *path, struct stat *st) { return stat(path, st); }
static inline int cs_lstat(const char *path, struct stat *st) { return lstat(path, st); }
static inline int cs_fstat(int fd, struct stat *st) { return fstat(fd, st); }
#endif

#endif
