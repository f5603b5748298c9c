#define _GNU_SOURCE
/* The heap: what a freestanding target without one leaves out. */
#include "cs_os.h"
#include <stdlib.h>

void *cs_aligned_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    return p;
}

void cs_free(void *p) { free(p); }
