/* What every target needs: failure messages and the thread's error text, numbers
 * as text in the C locale, the floating-point mode, tensor names. No files, threads or heap. */
#define _GNU_SOURCE
#include "cs_text.h"
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#if !defined(CS_FREESTANDING)
#include <locale.h>
#include <pthread.h>
#if defined(__GLIBC__)
#include "glibc_versions.h"
#endif
#define CS_THREAD_LOCAL _Thread_local
#else
/* No threads: one error text (deploy.md, "Targets"), no thread-pointer register needed. */
#define CS_THREAD_LOCAL
#endif

/* ---- messages and the thread's error text ---------------------------------- */

static CS_THREAD_LOCAL char cs_err_buf[CS_MESSAGE_CAP];
static CS_THREAD_LOCAL cs_message cs_pending_message;

static void cs_message_put(cs_message *m, const char *text) {
    if (text == NULL) return;
    while (*text != '\0' && m->length + 1 < CS_MESSAGE_CAP) {
        char c = *text++;
        /* one line: control characters (from JSON keys, file names) become '?' */
        m->text[m->length++] = ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
    }
    m->text[m->length] = '\0';
}

void cs_message_begin(cs_message *m, const char *text) {
    m->length = 0;
    m->text[0] = '\0';
    cs_message_put(m, text);
}

void cs_message_append(cs_message *m, const char *text) { cs_message_put(m, text); }

void cs_message_append_uint(cs_message *m, uint64_t value) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)value);
    cs_message_put(m, tmp);
}

void cs_message_append_int(cs_message *m, int64_t value) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%lld", (long long)value);
    cs_message_put(m, tmp);
}

void cs_message_append_double(cs_message *m, double value) {
    char tmp[32];
    cs_format_double(value, tmp);
    cs_message_put(m, tmp);
}

void cs_message_append_errno(cs_message *m, int error) {
    char tmp[128];
    /* GNU strerror_r returns the text (maybe not in tmp); XSI returns an int. */
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *t = strerror_r(error, tmp, sizeof tmp);
#elif defined(CS_FREESTANDING)
    const char *t = strerror(error);  /* one thread */
    (void)tmp;
#else
    const char *t = strerror_r(error, tmp, sizeof tmp) == 0 ? tmp : "unknown error";
#endif
    cs_message_put(m, ": ");
    cs_message_put(m, t);
}

void cs_message_prefix(cs_message *m, const char *text, const char *joint) {
    cs_message old = *m;
    cs_message_begin(m, text);
    cs_message_put(m, joint);
    cs_message_put(m, old.text);
}

int cs_errno(void) { return errno; }

cs_message *cs_pending(void) { return &cs_pending_message; }

const char *cs_pending_text(void) { return cs_pending_message.text; }

void cs_err_publish(void) {
    memcpy(cs_err_buf, cs_pending_message.text, cs_pending_message.length + 1);
}

const char *cs_err_text(void) { return cs_err_buf; }

/* ---- numbers as text -------------------------------------------------------- */

#if defined(CS_FREESTANDING)
/* A freestanding C library (picolibc) has only the "C" locale. */
typedef int cs_locale;
static cs_locale use_c_locale(void) { return 0; }
static void restore_locale(cs_locale old) { (void)old; }
#else
/* The "C" locale, for number text. glibc hands out its static C locale object for
 * newlocale(LC_ALL_MASK, "C", 0) without allocating; should that ever fail, the
 * calls below fall back to the thread's own locale. */
typedef locale_t cs_locale;
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static locale_t use_c_locale(void) {
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale ? uselocale(c_locale) : (locale_t)0;
}

static void restore_locale(locale_t old) {
    if (old) uselocale(old);
}
#endif

void cs_format_double(double value, char out[32]) {
    if (isnan(value)) { memcpy(out, "nan", 4); return; }
    if (isinf(value)) { memcpy(out, value > 0 ? "inf" : "-inf", value > 0 ? 4 : 5); return; }
    cs_locale old = use_c_locale();
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, 32, "%.*g", precision, value);
        if (strtod(out, NULL) == value) break;
    }
    restore_locale(old);
}

double cs_parse_double(const char *text) {
    cs_locale old = use_c_locale();
    double v = strtod(text, NULL);
    restore_locale(old);
    return v;
}

/* ---- floating-point mode ---------------------------------------------------- */

#if defined(__x86_64__)
#include <immintrin.h>
enum {
    CS_FP_FLAGS = 0x3F,       /* the sticky exception flags */
    CS_FP_IEEE = 0x1F80,      /* round to nearest, every exception masked */
    CS_FP_FTZ_DAZ = 0x8040    /* flush-to-zero (bit 15), denormals-are-zero (bit 6) */
};

uint64_t cs_fp_enter(int flush) {
    uint32_t saved = _mm_getcsr();
    uint32_t want = CS_FP_IEEE | (flush ? CS_FP_FTZ_DAZ : 0u);
    /* ldmxcsr costs more than the read: skip it when the mode is already ours
     * (the flags do not change results; cs_fp_leave puts the host's back) */
    if ((saved & ~(uint32_t)CS_FP_FLAGS) != want) _mm_setcsr(want);
    return saved;
}

void cs_fp_leave(uint64_t saved) {
    if (_mm_getcsr() != (uint32_t)saved) _mm_setcsr((uint32_t)saved);
}

uint32_t cs_fp_mode(void) { return _mm_getcsr() & ~(uint32_t)CS_FP_FLAGS; }

void cs_fp_adopt(uint32_t mode) {
    if ((_mm_getcsr() & ~(uint32_t)CS_FP_FLAGS) != mode) _mm_setcsr(mode);
}
#elif defined(__aarch64__)
/* FPCR holds the mode: FZ (bit 24) flushes subnormal operands and results to zero
 * (x86's FTZ and DAZ in one bit, for NEON too); zero elsewhere is round to nearest,
 * IEEE NaNs, no traps. The sticky flags are in FPSR, saved beside it. */
enum { CS_FPCR_FZ = 1u << 24 };

static uint64_t get_fpcr(void) { uint64_t v; __asm__ volatile("mrs %0, fpcr" : "=r"(v)); return v; }
static void set_fpcr(uint64_t v) { __asm__ volatile("msr fpcr, %0" : : "r"(v)); }
static uint64_t get_fpsr(void) { uint64_t v; __asm__ volatile("mrs %0, fpsr" : "=r"(v)); return v; }
static void set_fpsr(uint64_t v) { __asm__ volatile("msr fpsr, %0" : : "r"(v)); }

uint64_t cs_fp_enter(int flush) {
    uint64_t fpcr = get_fpcr() & 0xFFFFFFFFu, fpsr = get_fpsr() & 0xFFFFFFFFu;
    uint64_t want = flush ? CS_FPCR_FZ : 0u;
    if (fpcr != want) set_fpcr(want);  /* a write costs more than the read */
    return fpsr << 32 | fpcr;
}

void cs_fp_leave(uint64_t saved) {
    uint64_t fpcr = saved & 0xFFFFFFFFu, fpsr = saved >> 32;
    if ((get_fpcr() & 0xFFFFFFFFu) != fpcr) set_fpcr(fpcr);
    if ((get_fpsr() & 0xFFFFFFFFu) != fpsr) set_fpsr(fpsr);
}

uint32_t cs_fp_mode(void) { return (uint32_t)get_fpcr(); }

void cs_fp_adopt(uint32_t mode) {
    if ((uint32_t)get_fpcr() != mode) set_fpcr(mode);
}
#elif defined(__arm__) && defined(__ARM_FP)
/* 32-bit ARM with a VFP unit (Cortex-M4F/M7): one register, FPSCR, holds the mode
 * (FZ, bit 24: subnormal operands and results are zero; zero elsewhere is round to
 * nearest, IEEE NaNs) and the sticky flags; the caller's whole value goes back. */
enum { CS_FPSCR_FZ = 1u << 24 };

static uint32_t get_fpscr(void) { uint32_t v; __asm__ volatile("vmrs %0, fpscr" : "=r"(v)); return v; }
static void set_fpscr(uint32_t v) { __asm__ volatile("vmsr fpscr, %0" : : "r"(v)); }

uint64_t cs_fp_enter(int flush) {
    uint32_t saved = get_fpscr();
    uint32_t want = flush ? CS_FPSCR_FZ : 0u;
    if ((saved & ~(uint32_t)0xF000009Fu) != want) set_fpscr(want);  /* NZCV and flags aside */
    return saved;
}

void cs_fp_leave(uint64_t saved) {
    if (get_fpscr() != (uint32_t)saved) set_fpscr((uint32_t)saved);
}

uint32_t cs_fp_mode(void) { return get_fpscr() & ~(uint32_t)0xF000009Fu; }

void cs_fp_adopt(uint32_t mode) {
    if ((get_fpscr() & ~(uint32_t)0xF000009Fu) != mode) set_fpscr(mode);
}
#else
/* Other targets compute in the host's mode. */
uint64_t cs_fp_enter(int flush) { (void)flush; return 0; }
void cs_fp_leave(uint64_t saved) { (void)saved; }
uint32_t cs_fp_mode(void) { return 0; }
void cs_fp_adopt(uint32_t mode) { (void)mode; }
#endif

/* ---- tensor names ----------------------------------------------------------- */

void cs_tensor_name(char out[128], int64_t layer, int is_bias, const char *slot) {
    const char *which = is_bias ? "bias" : "weight";
    if (layer < 0)
        snprintf(out, 128, "optimizer.step");
    else if (slot == NULL)
        snprintf(out, 128, "layers.%lld.%s", (long long)layer, which);
    else
        snprintf(out, 128, "optimizer.%lld.%s.%s", (long long)layer, which, slot);
}

char *cs_empty_text(void)
{
    static char empty[1];
    return empty;
}
