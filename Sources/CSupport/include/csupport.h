/* The one C module of swann's Swift core: libc, libm and json-c imports, plus the
 * few helpers Swift cannot express in Embedded mode (thread-local error text,
 * number formatting without heap use, aligned allocation). Nothing here is
 * exported from libswann.so: the linker version script keeps only swann_*. */
#ifndef SWANN_CSUPPORT_H
#define SWANN_CSUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <json-c/json.h>

/* ---- thread-local last-error text ---------------------------------------- */
/* The message is built in place, piece by piece, into a fixed thread-local
 * buffer, so failing calls never allocate. Pieces beyond the buffer are cut. */
void cs_err_begin(const char *text);
void cs_err_append(const char *text);
void cs_err_append_uint(uint64_t value);
void cs_err_append_int(int64_t value);
void cs_err_append_double(double value);
const char *cs_err_text(void);

/* ---- numbers as text ------------------------------------------------------ */
/* The shortest "%.Ng" text that reads back as the same double (at most 31 chars). */
void cs_format_double(double value, char out[32]);

/* ---- memory ---------------------------------------------------------------- */
/* 64-byte aligned block, or NULL. */
void *cs_aligned_alloc(size_t bytes);
void cs_free(void *p);

#endif
