/*
 * fuzz_common.h -- helpers shared by the libFuzzer harnesses of Tests/reliability.
 *
 * A violated property prints what was expected and what happened, then aborts:
 * libFuzzer reports the abort as a crash and saves the input. ASan, UBSan and
 * LeakSanitizer report memory errors, undefined behaviour and leaks themselves.
 */
#ifndef SWANN_FUZZ_COMMON_H
#define SWANN_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swann.h"

#define SM(code) (1u << (unsigned)(code))
#define ALL_STATUSES 0x3ffu

static const char *fz_name(int s)
{
    static const char *names[] = {"SWANN_OK", "SWANN_E_ARG", "SWANN_E_SPEC", "SWANN_E_SHAPE",
                                  "SWANN_E_STATE", "SWANN_E_ARENA", "SWANN_E_NOMEM", "SWANN_E_IO",
                                  "SWANN_E_FORMAT", "SWANN_E_NUMERIC"};
    return (s >= 0 && s < 10) ? names[s] : "(undocumented status)";
}

__attribute__((noreturn, format(printf, 1, 2))) static void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("PROPERTY VIOLATED: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  last_error: \"%s\"\n", swann_last_error());
    fflush(stderr);
    abort();
}

/* The message of a failing call: set, one line, bounded. */
static void fz_check_message(const char *call)
{
    const char *e = swann_last_error();
    if (e == NULL) fz_fail("%s failed and swann_last_error() is NULL", call);
    size_t n = strnlen(e, 4096);
    if (n == 0) fz_fail("%s failed without a message", call);
    if (n >= 4096) fz_fail("%s: message longer than 4 KiB", call);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)e[i] < 0x20) fz_fail("%s: message has a control character at %zu", call, i);
}

/* got must be in `allowed` (a mask of SM(status)); a failure must set a message,
 * a success must leave the message as it was. `before` is the text before the call. */
static int fz_trace = -1;
static void fz_expect(const char *call, swann_status got, unsigned allowed, const char *before)
{
    if (fz_trace < 0) fz_trace = getenv("FUZZ_TRACE") != NULL;
    if (fz_trace) fprintf(stderr, "  %s -> %s %s\n", call, fz_name((int)got), got ? swann_last_error() : "");
    if ((unsigned)got >= 10 || !(allowed & SM(got))) {
        char want[200] = "";
        for (int i = 0; i < 10; i++)
            if (allowed & SM(i)) {
                size_t n = strlen(want);
                snprintf(want + n, sizeof want - n, "%s%s", n ? "|" : "", fz_name(i));
            }
        fz_fail("%s returned %s (%d); documented here: %s", call, fz_name((int)got), (int)got, want);
    }
    if (got != SWANN_OK) fz_check_message(call);
    else if (before && strcmp(before, swann_last_error()) != 0)
        fz_fail("%s succeeded but changed the last-error text (\"%s\" -> \"%s\")", call, before,
                swann_last_error());
}

/* Reads the fuzzer's bytes as a stream of small choices; past the end, zeros. */
typedef struct {
    const uint8_t *p;
    size_t n, i;
} fz_reader;

static inline unsigned fz_u8(fz_reader *r) { return r->i < r->n ? r->p[r->i++] : 0; }
static inline unsigned fz_pick(fz_reader *r, unsigned n) { return n ? fz_u8(r) % n : 0; }
static inline uint32_t fz_u32(fz_reader *r)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) v = (v << 8) | fz_u8(r);
    return v;
}

static int fz_all_finite(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) return 0;
    return 1;
}

#endif
