#define _GNU_SOURCE
/* Read-only file mappings (swann_model_load with SWANN_MODEL_MAP): an
 * operating system's part, left out of a freestanding build. */
#include "cs_os.h"
#include <sys/mman.h>

void *cs_map_read(int fd, size_t length) {
    if (length == 0) return NULL;
    /* MAP_POPULATE: the model checks every weight right away, so fault the
     * pages in one pass instead of one fault per page. */
    void *p = mmap(NULL, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

void cs_unmap(void *address, size_t length) {
    if (address) munmap(address, length);
}
