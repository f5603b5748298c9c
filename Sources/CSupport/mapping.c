#define _GNU_SOURCE
/* Read-only file mappings (swann_model_load with SWANN_MODEL_MAP): an
 * operating system's part, left out of a freestanding build. */
#include "cs_os.h"
#include <sys/mman.h>

void *cs_map_read(int fd, size_t length) {
    if (length == 0) return NULL;
    /* No MAP_POPULATE: it would map every page, the optimizer state a model
     * never reads included (a W4 file with momentum: twice the weights'
     * resident memory). The weights' check faults their pages in, the kernel
     * mapping the neighbours of each fault from the page cache. */
    void *p = mmap(NULL, length, PROT_READ, MAP_PRIVATE, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

void cs_unmap(void *address, size_t length) {
    if (address) munmap(address, length);
}
