/* The platform layer under swann's Swift core, its one C module: libc and libm,
 * plus what Swift cannot express in Embedded mode. Two parts:
 *   cs_text.h  what every target needs (messages and error text, numbers as
 *              text, tensor names): text.c
 *   cs_os.h    what only an operating system gives (heap, threads and the
 *              pool, files, mappings, atomics): memory.c, pool.c,
 *              files.c, mapping.c, atomics.c
 * Nothing here is exported from libswann.so: the linker version script keeps
 * only swann_*. */
#ifndef SWANN_CSUPPORT_H
#define SWANN_CSUPPORT_H

#include <stdlib.h>
#include "cs_text.h"
#include "cs_os.h"

/* pow, bound to a version every supported libc has (libc_compat.c). */
double cs_pow(double x, double y);

#endif
