/*
 * lsan_exit.c -- leak checks in forked children.
 *
 * The C tests run each group in a forked child that ends with _exit(0), which
 * skips LeakSanitizer's check at exit. Linked with -Wl,--wrap=_exit into an
 * ASan build of a test, this runs the check first: a child that leaked exits
 * with status 23 instead of 0, which the parent reports as a failed group.
 */
#include <sanitizer/lsan_interface.h>

void __real__exit(int status) __attribute__((noreturn));

void __wrap__exit(int status)
{
    if (status == 0 && __lsan_do_recoverable_leak_check()) status = 23;
    __real__exit(status);
}
