/* The platform layer's part that every target needs: failure messages and the
 * thread's error text, numbers as text in the C locale, tensor names, the
 * floating-point mode, cache hints. No files, threads or heap: a freestanding build keeps this part. */
#ifndef SWANN_CS_TEXT_H
#define SWANN_CS_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

/* ---- the target ---------------------------------------------------------------
 * A freestanding build (-DCS_FREESTANDING: no operating system) leaves the OS part
 * out (cs_os.h's calls come from no_os.c instead). The core asks cs_has_os() before
 * a call that needs files or the heap and refuses it naming cs_target_name(); both
 * are constants, so the refused paths compile away. */
#if defined(CS_FREESTANDING)
static inline int cs_has_os(void) { return 0; }
#if defined(__ARM_ARCH_7EM__)
static inline const char *cs_target_name(void) { return "armv7em-none-eabi"; }
#else
static inline const char *cs_target_name(void) { return "this freestanding target"; }
#endif
#else
static inline int cs_has_os(void) { return 1; }
static inline const char *cs_target_name(void) { return "this target"; }
#endif

/* ---- messages -----------------------------------------------------------------
 * A failure's one-line message, built piece by piece in a fixed buffer, so
 * failing calls never allocate; pieces beyond the buffer are cut, control
 * characters become '?'. The core builds it in the calling thread's pending
 * message (cs_pending), beside the failure it throws; the boundary publishes it
 * as the thread's error text (swann_last_error) when it returns the status. */
#define CS_MESSAGE_CAP 512
typedef struct cs_message {
    uint32_t length;
    char text[CS_MESSAGE_CAP];
} cs_message;
/* A one-byte empty text that is never written: the base of a TextBuffer that
 * has no memory (a measure, or a failed allocation). In C, so that threads
 * sharing it make no Swift access to a global (ThreadSanitizer reports those). */
char *cs_empty_text(void);

void cs_message_begin(cs_message *m, const char *text);
void cs_message_append(cs_message *m, const char *text);  /* NULL appends nothing */
void cs_message_append_uint(cs_message *m, uint64_t value);
void cs_message_append_int(cs_message *m, int64_t value);
void cs_message_append_double(cs_message *m, double value);
/* Appends ": <strerror(error)>". */
void cs_message_append_errno(cs_message *m, int error);
/* Turns the message M into "<text><joint>M". */
void cs_message_prefix(cs_message *m, const char *text, const char *joint);
/* errno, for the Swift side. */
int cs_errno(void);
/* The calling thread's pending message: the one of the failure in flight. */
cs_message *cs_pending(void);
/* Its text. */
const char *cs_pending_text(void);
/* Makes the pending message the calling thread's error text. */
void cs_err_publish(void);
const char *cs_err_text(void);

/* ---- numbers as text ------------------------------------------------------ */
/* Both use the "C" locale's '.', whatever locale the host has set (setlocale or
 * uselocale with a ',' decimal point would otherwise break every JSON number). */
/* The shortest "%.Ng" text that reads back as the same double (at most 31 chars). */
void cs_format_double(double value, char out[32]);
/* strtod of a NUL-terminated JSON number (already checked against RFC 8259). */
double cs_parse_double(const char *text);

/* ---- tensor names ---------------------------------------------------------- */
/* A model file's tensor name: "optimizer.step" when layer < 0, else
 * "layers.{layer}.{weight|bias}", or with a slot "optimizer.{layer}.{weight|bias}.{slot}". */
void cs_tensor_name(char out[128], int64_t layer, int is_bias, const char *slot);

/* ---- floating-point mode ----------------------------------------------------
 * swann computes in its own mode, whatever the host has set, and gives the host
 * its own back: round to nearest, every exception masked, and (flush != 0)
 * flush-to-zero and denormals-are-zero, so that gradients decaying into float's
 * subnormal range do not take x86's slow path; flush == 0 is plain IEEE. One
 * fixed mode also keeps the bits independent of the host's rounding mode and of
 * which thread runs a chunk. x86-64: MXCSR; aarch64: FPCR.FZ (the FPSR flags
 * saved beside it); 32-bit ARM with VFP (Cortex-M4F/M7): FPSCR.FZ; elsewhere these
 * do nothing and return 0.
 *   cs_fp_enter  sets the mode, returns the caller's state for cs_fp_leave
 *   cs_fp_leave  restores it (its status flags included: the host never sees
 *                swann's inexact or underflow flags)
 *   cs_fp_mode   the calling thread's mode without the status flags, for a job
 *                that workers run (cs_fp_adopt sets it on a worker) */
uint64_t cs_fp_enter(int flush);
void cs_fp_leave(uint64_t saved);
uint32_t cs_fp_mode(void);
void cs_fp_adopt(uint32_t mode);

/* ---- cache hints ------------------------------------------------------------ */
/* Asks for the line holding p, to be written soon (the GEMM's C tiles). */
static inline void cs_prefetch_write(const void *p) { __builtin_prefetch(p, 1, 3); }

#endif
