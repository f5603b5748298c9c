/*
 * ckpt_util.h -- helpers of the checkpoint tests: files, temporary folders,
 * deterministic training, and a small safetensors writer that rebuilds (and
 * corrupts) swann model files.
 *
 * Include after check.h.
 */
#ifndef CKPT_UTIL_H
#define CKPT_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>

/* ---- files ---------------------------------------------------------------- */

/* The whole file, malloc'ed (plus a NUL); NULL if it cannot be read. */
static inline unsigned char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return NULL; }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n + 1);
    if (!buf) { close(fd); return NULL; }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { free(buf); close(fd); return NULL; }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *len = n;
    return buf;
}

static inline int write_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { close(fd); return -1; }
        p += w;
        len -= (size_t)w;
    }
    return close(fd);
}

/* 1 when the file at path holds exactly buf[0..len). */
static inline int file_equals(const char *path, const void *buf, size_t len)
{
    size_t n = 0;
    unsigned char *b = read_file(path, &n);
    int eq = b && n == len && memcmp(b, buf, len) == 0;
    free(b);
    return eq;
}

static inline int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A fresh folder under $CKPT_TMP (or /tmp); the name is static storage. */
static inline const char *make_tmpdir(const char *tag)
{
    static char dir[4][512];
    static int next;
    char *d = dir[next++ & 3];
    const char *base = getenv("CKPT_TMP");
    snprintf(d, 512, "%s/ckpt-%s-XXXXXX", base && base[0] ? base : "/tmp", tag);
    if (!mkdtemp(d)) {
        fprintf(stderr, "mkdtemp %s: %s\n", d, strerror(errno));
        exit(2);
    }
    return d;
}

/* Counts (and with remove, deletes) swann's temporary files ".swann-XXXXXX.tmp"
 * in the folder of path. */
static inline int tmp_leftovers(const char *path, int remove)
{
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (slash) {
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) < 1000 ? (int)(slash - path) : 1000, path);
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    if (slash == path) snprintf(dir, sizeof dir, "/");
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len == 17 && strncmp(e->d_name, ".swann-", 7) == 0 && strcmp(e->d_name + 13, ".tmp") == 0) {
            n++;
            if (remove) {
                char full[1400];
                snprintf(full, sizeof full, "%.1000s/%.256s", dir, e->d_name);
                unlink(full);
            }
        }
    }
    closedir(d);
    return n;
}

/* Removes a folder and the files in it (one level). */
static inline void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char full[1400];
            snprintf(full, sizeof full, "%.1000s/%.256s", dir, e->d_name);
            if (unlink(full) != 0) rmdir(full);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* ---- nets and training ---------------------------------------------------- */

static inline swann_net *make_net(const char *spec, size_t max_batch)
{
    swann_net *n = NULL;
    swann_status st = swann_create(spec, max_batch, NULL, 0, &n);
    if (st != SWANN_OK) {
        CHECKF(0, "create a net for the test", "%s: %s; spec %s", st_name(st), last_err(), spec);
        return NULL;
    }
    return n;
}

static inline swann_net *load_net(const char *path, size_t max_batch)
{
    swann_net *n = NULL;
    swann_status st = swann_load(path, max_batch, NULL, 0, &n);
    if (st != SWANN_OK) {
        CHECKF(0, "load a net for the test", "%s: %s", st_name(st), last_err());
        return NULL;
    }
    return n;
}

/* Copy of a net's parameters (malloc'ed). */
static inline float *params_copy(swann_net *net, size_t *count)
{
    float *p = NULL;
    size_t n = 0;
    if (swann_params(net, &p, &n) != SWANN_OK) return NULL;
    float *c = malloc(n * sizeof *c + 1);
    if (c) memcpy(c, p, n * sizeof *c);
    if (count) *count = n;
    return c;
}

/* 1 when two nets have bit-identical parameters. */
static inline int same_params(swann_net *a, swann_net *b)
{
    float *pa, *pb;
    size_t na, nb;
    if (swann_params(a, &pa, &na) != SWANN_OK || swann_params(b, &pb, &nb) != SWANN_OK) return 0;
    return na == nb && memcmp(pa, pb, na * sizeof(float)) == 0;
}

/* The canonical spec of a net (malloc'ed). */
static inline char *spec_of(const swann_net *net)
{
    size_t need = 0;
    swann_spec_json(net, NULL, 0, &need);
    char *s = malloc(need + 1);
    if (!s || swann_spec_json(net, s, need, &need) != SWANN_OK) {
        free(s);
        return NULL;
    }
    return s;
}

enum target_kind { T_REAL, T_ONEHOT, T_BINARY };

/* Deterministic data for step number `step`: batch rows of x, and targets. */
static inline void make_batch(uint64_t seed, int step, size_t batch, size_t in, size_t out,
                              enum target_kind kind, float *x, float *t)
{
    uint64_t s = seed * 1000003u + (uint64_t)step * 7919u + 1;
    for (size_t i = 0; i < batch * in; i++) x[i] = (float)rng_uniform(&s, -1.5, 1.5);
    for (size_t r = 0; r < batch; r++) {
        size_t hot = (size_t)(rng_next(&s) % out);
        for (size_t j = 0; j < out; j++) {
            float v;
            switch (kind) {
            case T_ONEHOT: v = j == hot ? 1.0f : 0.0f; break;
            case T_BINARY: v = (rng_next(&s) & 1) ? 1.0f : 0.0f; break;
            default: v = (float)rng_uniform(&s, -1, 1); break;
            }
            t[r * out + j] = v;
        }
    }
}

/* Steps first..first+count-1 of deterministic training, each step with `pairs`
 * forward/backward pairs of `batch` rows. Returns the first non-OK status. */
static inline swann_status train(swann_net *net, uint64_t seed, int first, int count, size_t batch,
                                 int pairs, enum target_kind kind)
{
    size_t in = swann_input_size(net), out = swann_output_size(net);
    float *x = malloc(batch * in * sizeof *x), *t = malloc(batch * out * sizeof *t);
    swann_status st = (x && t) ? SWANN_OK : SWANN_E_NOMEM;
    for (int k = first; st == SWANN_OK && k < first + count; k++) {
        for (int p = 0; st == SWANN_OK && p < pairs; p++) {
            make_batch(seed, k * 16 + p, batch, in, out, kind, x, t);
            st = swann_forward(net, x, batch, NULL);
            if (st == SWANN_OK) st = swann_backward(net, t, NULL, NULL);
        }
        if (st == SWANN_OK) st = swann_step(net);
    }
    free(x);
    free(t);
    return st;
}

/* ---- safetensors ----------------------------------------------------------- */

/* Splits a model file: header text (not NUL-terminated) and data section. */
static inline int st_split(const unsigned char *file, size_t len, const char **header, size_t *header_len,
                           const unsigned char **data, size_t *data_len)
{
    if (len < 8) return -1;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | file[i];
    if (n > len - 8) return -1;
    *header = (const char *)file + 8;
    *header_len = (size_t)n;
    *data = file + 8 + n;
    *data_len = len - 8 - (size_t)n;
    return 0;
}

/* A file from raw header bytes (used as given: no padding added) and data. */
static inline unsigned char *st_raw(uint64_t length_field, const char *header, size_t header_len,
                                    const void *data, size_t data_len, size_t *out_len)
{
    unsigned char *f = malloc(8 + header_len + data_len + 1);
    for (int i = 0; i < 8; i++) f[i] = (unsigned char)(length_field >> (8 * i));
    memcpy(f + 8, header, header_len);
    if (data_len) memcpy(f + 8 + header_len, data, data_len);
    *out_len = 8 + header_len + data_len;
    return f;
}

/* A file from header JSON text, padded with spaces to a multiple of 8 and then
 * `extra` more bytes of `pad`, with the given data section. */
static inline unsigned char *st_file(const char *header, size_t extra, char pad, const void *data,
                                     size_t data_len, size_t *out_len)
{
    size_t n = strlen(header);
    size_t padded = (n + 7) / 8 * 8;
    size_t total = padded + extra;
    char *h = malloc(total + 1);
    memcpy(h, header, n);
    memset(h + n, ' ', padded - n);
    memset(h + padded, pad, extra);
    unsigned char *f = st_raw(total, h, total, data, data_len, out_len);
    free(h);
    return f;
}

/* One tensor for the writer below. */
typedef struct {
    char name[96];
    char dtype[16];
    char shape[64];           /* JSON text, e.g. "[4,3]" */
    const unsigned char *bytes;
    size_t nbytes;
    const char *raw_entry;    /* when set, the header value verbatim */
    int omit;                 /* leave out of header and data */
    int no_header;            /* in the data section only (a gap) */
    int no_data;              /* in the header only (raw_entry gives its offsets) */
    long long begin, end;     /* filled by st_build */
} tdesc;

/* Appends printf text to a growing buffer. */
typedef struct { char *s; size_t len, cap; } sbuf;
static inline void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* JSON string body of s (quotes and backslashes escaped). */
static inline void sb_json_escaped(sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') sb_printf(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) sb_printf(b, "\\u%04x", (unsigned char)*s);  /* JSON forbids them raw */
        else sb_printf(b, "%c", *s);
    }
}

/* The metadata object swann writes for a spec. */
static inline char *st_meta(const char *spec)
{
    sbuf b = {0};
    sb_printf(&b, "{\"format\":\"swann\",\"swann.version\":\"%s\",\"swann.spec\":\"", swann_version());
    sb_json_escaped(&b, spec);
    sb_printf(&b, "\"}");
    return b.s;
}

/* Header text and data section for tensors t[0..n): data laid out in data_order,
 * entries written in header_order (NULL: 0..n-1). meta NULL: no __metadata__. */
static inline char *st_build(const char *meta, tdesc *t, int n, const int *header_order,
                             const int *data_order, unsigned char **data, size_t *data_len)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (t[i].omit || t[i].no_data) ? 0 : t[i].nbytes;
    unsigned char *d = malloc(total + 1);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        tdesc *x = &t[data_order ? data_order[i] : i];
        if (x->omit || x->no_data) continue;
        x->begin = (long long)at;
        memcpy(d + at, x->bytes, x->nbytes);
        at += x->nbytes;
        x->end = (long long)at;
    }
    sbuf b = {0};
    sb_printf(&b, "{");
    int first = 1;
    if (meta) {
        sb_printf(&b, "\"__metadata__\":%s", meta);
        first = 0;
    }
    for (int i = 0; i < n; i++) {
        tdesc *x = &t[header_order ? header_order[i] : i];
        if (x->omit || x->no_header) continue;
        sb_printf(&b, "%s\"%s\":", first ? "" : ",", x->name);
        first = 0;
        if (x->raw_entry)
            sb_printf(&b, "%s", x->raw_entry);
        else
            sb_printf(&b, "{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%lld,%lld]}", x->dtype, x->shape,
                      x->begin, x->end);
    }
    sb_printf(&b, "}");
    *data = d;
    *data_len = total;
    return b.s;
}

/* The tensors of a swann file in swann's write order, pointing into its data
 * section. sizes[0] is the input, sizes[1..layers] the layer widths; slots is
 * the number of optimizer slots (momentum_buffer). Returns the count. */
static inline int swann_tensors(const size_t *sizes, int layers, int slots, const unsigned char *data, tdesc *t)
{
    int n = 0;
    size_t at = 0;
    memset(&t[n], 0, sizeof t[n]);
    snprintf(t[n].name, sizeof t[n].name, "optimizer.step");
    snprintf(t[n].dtype, sizeof t[n].dtype, "I64");
    snprintf(t[n].shape, sizeof t[n].shape, "[]");
    t[n].bytes = data + at;
    t[n].nbytes = 8;
    at += 8;
    n++;
    for (int s = -1; s < slots; s++) {
        for (int k = 0; k < layers; k++) {
            for (int bias = 0; bias < 2; bias++) {
                tdesc *x = &t[n++];
                memset(x, 0, sizeof *x);
                const char *which = bias ? "bias" : "weight";
                if (s < 0)
                    snprintf(x->name, sizeof x->name, "layers.%d.%s", k, which);
                else
                    snprintf(x->name, sizeof x->name, "optimizer.%d.%s.momentum_buffer", k, which);
                snprintf(x->dtype, sizeof x->dtype, "F32");
                if (bias)
                    snprintf(x->shape, sizeof x->shape, "[%zu]", sizes[k + 1]);
                else
                    snprintf(x->shape, sizeof x->shape, "[%zu,%zu]", sizes[k + 1], sizes[k]);
                x->nbytes = 4 * sizes[k + 1] * (bias ? 1 : sizes[k]);
                x->bytes = data + at;
                at += x->nbytes;
            }
        }
    }
    return n;
}

/* New string: s with the first occurrence of from replaced by to; NULL if absent. */
static inline char *str_replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    if (!p) return NULL;
    size_t a = (size_t)(p - s), fl = strlen(from), tl = strlen(to), sl = strlen(s);
    char *r = malloc(sl - fl + tl + 1);
    memcpy(r, s, a);
    memcpy(r + a, to, tl);
    memcpy(r + a + tl, p + fl, sl - a - fl + 1);
    return r;
}

#endif
