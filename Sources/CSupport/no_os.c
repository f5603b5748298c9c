/* The OS part of the platform layer (cs_os.h) on a freestanding target, which has
 * none: no heap, no threads, no files, no mappings. Compiled only with
 * -DCS_FREESTANDING, instead of memory.c, pool.c, files.c and mapping.c.
 *
 * The calls that need the heap or files are refused at the boundary (cs_has_os).
 * What remains is the scratch of the size queries (swann_arena_size,
 * swann_load_buffer_size, swann_model_mem_size read the spec or a file's header
 * into a block that lives only during the call): it comes from one static block,
 * CS_SCRATCH_BYTES, handed out last in first out, as those calls nest their scratch. */
#if defined(CS_FREESTANDING)
#include "cs_os.h"
#include <errno.h>

#ifndef CS_SCRATCH_BYTES
#define CS_SCRATCH_BYTES 16384
#endif
static _Alignas(64) unsigned char scratch[CS_SCRATCH_BYTES];
static size_t scratch_used;

void *cs_aligned_alloc(size_t bytes) {
    size_t n = (bytes + 63) & ~(size_t)63;
    if (n == 0) n = 64;
    if (bytes > CS_SCRATCH_BYTES || n > CS_SCRATCH_BYTES - scratch_used) return NULL;
    void *p = scratch + scratch_used;
    scratch_used += n;
    return p;
}

/* Last in, first out: freeing a block frees it and everything after it. */
void cs_free(void *p) {
    unsigned char *b = p;
    if (b >= scratch && b < scratch + CS_SCRATCH_BYTES) scratch_used = (size_t)(b - scratch);
}

/* No workers: every job runs on the caller (a spec's threads count as 1). */
int cs_pool_start(cs_pool *pool, int workers) { (void)workers; memset(pool, 0, sizeof *pool); return 0; }
void cs_pool_run(cs_pool *pool, cs_chunk_fn fn, void *ctx, int64_t chunks) {
    (void)pool;
    for (int64_t c = 0; c < chunks; c++) fn(ctx, c, 0);
}
int cs_pool_use(cs_pool *pool) { (void)pool; return 0; }
void cs_pool_stop(cs_pool *pool) { (void)pool; }
void cs_pool_set_active(cs_pool *pool, uint32_t active) { (void)pool; (void)active; }
void cs_pool_note_job(cs_pool *pool, uint64_t start, uint64_t own_done, uint64_t end, uint32_t own_chunks) {
    (void)pool; (void)start; (void)own_done; (void)end; (void)own_chunks;
}
void cs_pool_set_clock(cs_pool *pool, cs_clock_fn clock, void *ctx) { (void)pool; (void)clock; (void)ctx; }

/* No files: never reached past the boundary's refusal; they fail as a missing system would. */
const char *cs_kind_name(uint32_t mode) { (void)mode; return NULL; }
int cs_open_read(const char *path, uint32_t *mode) { (void)path; (void)mode; errno = ENOSYS; return -1; }
int cs_file_size(int fd, uint64_t *size) { (void)fd; *size = 0; errno = ENOSYS; return -1; }
int cs_read_at(int fd, void *buf, size_t n, uint64_t offset) {
    (void)fd; (void)buf; (void)n; (void)offset; errno = ENOSYS; return -1;
}
void cs_close(int fd) { (void)fd; }
int cs_write_all(int fd, const void *buf, size_t n) { (void)fd; (void)buf; (void)n; errno = ENOSYS; return -1; }
int cs_save_open(const char *path, cs_save_file *f) {
    (void)path; memset(f, 0, sizeof *f); f->fd = -1; f->stage = CS_SAVE_CREATE; errno = ENOSYS; return -1;
}
int cs_save_commit(cs_save_file *f) { f->stage = CS_SAVE_SYNC; errno = ENOSYS; return -1; }
void cs_save_end(cs_save_file *f) { (void)f; }
void *cs_map_read(int fd, size_t length) { (void)fd; (void)length; errno = ENOSYS; return NULL; }
void cs_unmap(void *address, size_t length) { (void)address; (void)length; }
#endif
