/* Files: model save and load (an operating system's part). */
#define _GNU_SOURCE
#include "cs_os.h"
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>
#include "glibc_versions.h"
#include <time.h>

const char *cs_kind_name(uint32_t mode) {
    switch (mode & S_IFMT) {
    case S_IFREG: return NULL;
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFDIR: return "a folder";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
    default: return "not a regular file";
    }
}

int cs_open_read(const char *path, uint32_t *mode) {
    struct stat st;
    *mode = 0;
    /* open() itself would block on a FIFO until a writer comes, and opening a
     * device can have effects: refuse them before opening. */
    if (cs_stat(path, &st) != 0) return -1;
    if (!S_ISREG(st.st_mode)) { *mode = (uint32_t)st.st_mode; return -2; }
    int fd;
    /* O_NONBLOCK: should the path have become a FIFO since stat, open returns
     * at once and fstat refuses it. (It changes nothing for a regular file.) */
    do { fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); } while (fd < 0 && errno == EINTR);
    if (fd < 0) return -1;
    if (cs_fstat(fd, &st) != 0) { int e = errno; close(fd); errno = e; return -1; }
    if (!S_ISREG(st.st_mode)) { close(fd); *mode = (uint32_t)st.st_mode; return -2; }
    return fd;
}

int cs_file_size(int fd, uint64_t *size) {
    struct stat st;
    if (cs_fstat(fd, &st) != 0) return -1;
    *size = (uint64_t)st.st_size;
    return 0;
}

int cs_read_at(int fd, void *buf, size_t n, uint64_t offset) {
    char *p = buf;
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        ssize_t got = pread(fd, p, chunk, (off_t)offset);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (got == 0) { errno = EIO; return -1; }  /* the file is shorter than its header says */
        p += got;
        n -= (size_t)got;
        offset += (uint64_t)got;
    }
    return 0;
}

void cs_close(int fd) { if (fd >= 0) close(fd); }

int cs_write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        ssize_t put = write(fd, p, chunk);
        if (put < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += put;
        n -= (size_t)put;
    }
    return 0;
}

/* Follows the symbolic links of path's last component (and of the targets they
 * name) into out[PATH_MAX], so a save replaces the file a link points to and
 * keeps the link. The folders on the way need no resolving: a relative link
 * target is read relative to the link's folder, which "<link's folder>/<target>"
 * is. *st gets lstat of the final target; st_mode 0 when nothing is there (a
 * new file, or the target a dangling link names). */
static int cs_resolve(const char *path, char *out, struct stat *st) {
    size_t n = strlen(path);
    if (n >= PATH_MAX) { errno = ENAMETOOLONG; return -1; }
    memcpy(out, path, n + 1);
    for (int links = 0;; links++) {
        if (cs_lstat(out, st) != 0) {
            if (errno != ENOENT) return -1;
            st->st_mode = 0;
            return 0;
        }
        if (!S_ISLNK(st->st_mode)) return 0;
        if (links == 40) { errno = ELOOP; return -1; }  /* the kernel's own limit */
        char link[PATH_MAX];
        ssize_t k = readlink(out, link, sizeof link);
        if (k < 0) return -1;
        if ((size_t)k >= sizeof link) { errno = ENAMETOOLONG; return -1; }
        link[k] = '\0';
        const char *slash = strrchr(out, '/');
        size_t keep = (link[0] == '/' || slash == NULL) ? 0 : (size_t)(slash - out) + 1;
        if (keep + (size_t)k >= PATH_MAX) { errno = ENAMETOOLONG; return -1; }
        memcpy(out + keep, link, (size_t)k + 1);
    }
}

/* fsyncs the folder holding path, so a rename in it is durable. */
static int cs_sync_parent(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (slash == NULL) {
        memcpy(dir, ".", 2);
    } else if (slash == path) {
        memcpy(dir, "/", 2);
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) { errno = ENAMETOOLONG; return -1; }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r;
    do { r = fsync(fd); } while (r != 0 && errno == EINTR);
    int e = errno;
    close(fd);
    errno = e;
    /* Some file systems refuse fsync on a folder; the rename is done either way. */
    return (r != 0 && errno != EINVAL && errno != EROFS) ? -1 : 0;
}

/* The temporary file's name: short (".swann-XXXXXX.tmp", whatever the target's
 * name: a 255-byte target name leaves no room for a suffix) and hidden. */
#define CS_TEMP_NAME ".swann-XXXXXX.tmp"

static uint64_t cs_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int cs_save_open(const char *path, cs_save_file *f) {
    static _Thread_local uint64_t counter;
    memset(f, 0, sizeof *f);
    f->fd = -1;
    char *block = malloc(2 * (size_t)PATH_MAX);
    if (block == NULL) { f->stage = CS_SAVE_NOMEM; errno = ENOMEM; return -1; }
    f->target = block;
    f->temp = block + PATH_MAX;
    f->target[0] = f->temp[0] = '\0';
    struct stat st;
    if (cs_resolve(path, f->target, &st) != 0) { f->stage = CS_SAVE_RESOLVE; return -1; }
    int exists = st.st_mode != 0;
    /* A FIFO, device, socket or folder is refused without opening it (no blocking). */
    if (exists && !S_ISREG(st.st_mode)) { f->stage = CS_SAVE_KIND; f->mode = (uint32_t)st.st_mode; return -1; }
    f->stage = CS_SAVE_CREATE;
    const char *slash = strrchr(f->target, '/');
    size_t dir = slash ? (size_t)(slash - f->target) + 1 : 0;
    if (dir + sizeof CS_TEMP_NAME > PATH_MAX) { errno = ENAMETOOLONG; return -1; }
    memcpy(f->temp, f->target, dir);
    memcpy(f->temp + dir, CS_TEMP_NAME, sizeof CS_TEMP_NAME);
    char *x = f->temp + dir + 7;  /* the XXXXXX */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t seed = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&counter ^
                    ((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
    /* Created with the old file's bits (umask may only narrow them; fchmod below
     * sets them exactly), so the new model is never more open than the old one. */
    mode_t mode = exists ? (st.st_mode & 0777) : 0666;
    for (int attempt = 0;; attempt++) {
        uint64_t h = cs_mix(seed + 0x9E3779B97F4A7C15ull * ++counter);
        for (int i = 0; i < 6; i++, h /= 36) x[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[h % 36];
        f->fd = open(f->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (f->fd >= 0) break;
        if ((errno != EEXIST && errno != EINTR) || attempt == 99) return -1;
    }
    f->temp_exists = 1;
    if (exists) {
        /* The group too (a 0640 model shared with a group) when the process may
         * set it; when it may not, the new file has the process's group. */
        struct stat made;
        if (cs_fstat(f->fd, &made) == 0 && made.st_gid != st.st_gid) {
            int refused = fchown(f->fd, (uid_t)-1, st.st_gid);
            (void)refused;
        }
        if (fchmod(f->fd, st.st_mode & 0777) != 0) { f->stage = CS_SAVE_MODE; return -1; }
    }
    f->stage = 0;
    return 0;
}

int cs_save_commit(cs_save_file *f) {
    int r;
    do { r = fsync(f->fd); } while (r != 0 && errno == EINTR);
    if (r != 0) { f->stage = CS_SAVE_SYNC; return -1; }
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0 && errno != EINTR) { f->stage = CS_SAVE_SYNC; return -1; }
    if (rename(f->temp, f->target) != 0) { f->stage = CS_SAVE_RENAME; return -1; }
    f->temp_exists = 0;
    if (cs_sync_parent(f->target) != 0) { f->stage = CS_SAVE_DIRSYNC; return -1; }
    return 0;
}

void cs_save_end(cs_save_file *f) {
    int e = errno;
    if (f->fd >= 0) close(f->fd);
    if (f->temp_exists) unlink(f->temp);
    free(f->target);
    memset(f, 0, sizeof *f);
    f->fd = -1;
    errno = e;
}
