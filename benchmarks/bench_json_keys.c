/*
 * bench_json_keys.c -- what JSON objects with many keys cost to read (issue #13).
 *
 * Until issue #13 the JSON reader found duplicate keys with a table hashed by
 * unseeded 32-bit FNV-1a and probed linearly. Keys whose hashes all land in the
 * first 256 slots of that table (it had the smallest power of two >= 2n slots for
 * an object of n members) made every insertion probe past all the keys before
 * it: quadratic. This program makes such keys itself, deterministically, and
 * times the calls that read untrusted JSON:
 *
 *   load_size  a safetensors file whose header is one object of N keys, each
 *              "<key>": 0 (inside the 64 MiB and 2^20-value limits), through
 *              swann_load_size: refused as a model (SWANN_E_FORMAT), after reading
 *   create     a spec of 65,535 such keys (the 2^16-value limit) through swann_create
 *              (refused, SWANN_E_SPEC, after reading)
 *   ordinary   keys of the same count and length that nobody aimed at the hash
 *   checkpoint a real header: swann_save of a 256-layer net with AMSGrad Adam
 *              (three slots: 2,049 tensors), through swann_load_size
 *
 * Up to two libraries are loaded side by side (dlopen, RTLD_LOCAL) and run
 * alternately, A B then B A, so drift of the shared machine hits both alike.
 * Each time is the median of up to 15 calls; a case whose first call takes more
 * than 2 s runs once. Every call runs in a child process, killed after --limit
 * seconds (default 60; the table then shows the limit with a ">"), since the old
 * reader spends minutes on 520,000 colliding keys.
 *
 *   cc -std=c11 -O2 benchmarks/bench_json_keys.c -o build/bench_json_keys -ldl
 *   build/bench_json_keys [--max-keys N] [--limit SECONDS] LIB_A [LIB_B]
 *   e.g. build/bench_json_keys /work/base/build/libswann.so.0 build/libswann.so.0
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "swann_dl.h"

/* ---- keys -------------------------------------------------------------------- */

#define FNV_PRIME 16777619u
#define WINDOW 256 /* every colliding key hashes into slots [0, WINDOW) */
#define PREFIX 5   /* key = 5 base-62 characters, then 2 more */
#define REPS 15

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static uint32_t fnv1a(const char *s, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * FNV_PRIME;
    return h;
}

static void put_prefix(char *key, uint64_t c)
{
    for (int i = PREFIX - 1; i >= 0; i--, c /= 62) key[i] = base62[c % 62];
}

/* A character that needs no escape in a JSON string. */
static int plain(int c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

/* The old table had `slots` (a power of two) slots: slot = hash & (slots - 1).
 * Multiplication and xor carry only upwards, so the low bits of FNV-1a's state
 * depend only on the low bits before: work modulo `slots`. last[s] is a
 * character c such that one more step from state s, (s ^ c) * P, lands in the
 * window (0: none); it comes from running that step backwards from each slot of
 * the window. Each key is then a fresh prefix, a character c1 chosen so that
 * last[] has an answer, and that answer. */
static int colliding_keys(char *keys, size_t n, uint32_t slots)
{
    uint32_t mask = slots - 1, inverse = FNV_PRIME;
    for (int i = 0; i < 5; i++) inverse *= 2 - FNV_PRIME * inverse; /* Newton: P * inverse = 1 mod 2^32 */
    unsigned char *last = calloc(slots, 1);
    if (!last) return 0;
    for (uint32_t t = 0; t < WINDOW; t++)
        for (int c = 0x20; c < 0x7f; c++)
            if (plain(c)) last[((t * inverse) & mask) ^ (uint32_t)c] = (unsigned char)c;
    size_t made = 0;
    for (uint64_t p = 0; made < n && p < 916132832u /* 62^5 */; p++) {
        char *key = keys + made * (PREFIX + 2);
        put_prefix(key, p);
        uint32_t h = fnv1a(key, PREFIX, 2166136261u);
        for (int c = 0x20; c < 0x7f; c++) {
            uint32_t s = ((h ^ (uint32_t)c) * FNV_PRIME) & mask;
            if (plain(c) && last[s]) {
                key[PREFIX] = (char)c;
                key[PREFIX + 1] = (char)last[s];
                made++;
                break;
            }
        }
    }
    free(last);
    for (size_t i = 0; i < made; i++) /* check against the hash itself */
        if ((fnv1a(keys + i * (PREFIX + 2), PREFIX + 2, 2166136261u) & mask) >= WINDOW) return 0;
    return made == n;
}

/* Keys of the same length in no particular order: prefixes p -> (p * 1000003 + 12345) mod 62^5,
 * a bijection, then "aa". */
static void ordinary_keys(char *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *key = keys + i * (PREFIX + 2);
        put_prefix(key, ((uint64_t)i * 1000003u + 12345u) % 916132832u);
        key[PREFIX] = key[PREFIX + 1] = 'a';
    }
}

/* {"key": 0, ...}, NUL-terminated; *len gets its length. */
static char *object_text(const char *keys, size_t n, size_t *len)
{
    char *t = malloc(n * (PREFIX + 2 + 6) + 3), *p = t;
    if (!t) return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i) *p++ = ',';
        *p++ = '"';
        memcpy(p, keys + i * (PREFIX + 2), PREFIX + 2);
        p += PREFIX + 2;
        memcpy(p, "\":0", 3);
        p += 3;
    }
    *p++ = '}';
    *p = 0;
    *len = (size_t)(p - t);
    return t;
}

static int write_model(const char *path, const char *header, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    unsigned char n8[8];
    for (int i = 0; i < 8; i++) n8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    int ok = fwrite(n8, 1, 8, f) == 8 && fwrite(header, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* ---- timing ------------------------------------------------------------------- */

enum call { LOAD_SIZE, CREATE };

static double limit = 60;

/* Seconds one call takes, timed in a child process that is killed after `limit`
 * seconds (then the result is -1). */
static double one_call(struct lib *l, enum call what, const char *arg, int *status)
{
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        size_t bytes;
        void *net = NULL;
        double r[2], t0 = now();
        r[1] = what == LOAD_SIZE ? l->load_size(arg, 64, &bytes) : l->create(arg, 1, NULL, 0, &net);
        r[0] = now() - t0;
        if (net) l->destroy(net);
        _exit(write(fd[1], r, sizeof r) == sizeof r ? 0 : 1);
    }
    close(fd[1]);
    double r[2] = {-1, -1};
    struct pollfd p = {.fd = fd[0], .events = POLLIN};
    if (pid < 0 || poll(&p, 1, (int)(limit * 1000)) != 1 || read(fd[0], r, sizeof r) != sizeof r) r[0] = -1;
    if (pid > 0) {
        if (r[0] < 0) kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    close(fd[0]);
    *status = (int)r[1];
    return r[0];
}

static void run_case(struct lib *libs, int nlibs, const char *name, size_t keys, size_t bytes, enum call what,
                     const char *arg)
{
    double t[2][REPS], median[2];
    int reps[2] = {0, 0}, status[2] = {0, 0}, want = REPS;
    for (int r = 0; r < want; r++)
        for (int v = 0; v < nlibs; v++) {
            int which = r & 1 ? nlibs - 1 - v : v; /* A B, then B A, ... */
            if (reps[which] == want) continue;
            double s = one_call(&libs[which], what, arg, &status[which]);
            t[which][reps[which]++] = s < 0 ? limit : s;
            if (r == 0 && (s < 0 || s > 2.0)) reps[which] = want = 1; /* far too slow to repeat */
            if (s < 0) status[which] = -1;
        }
    for (int v = 0; v < nlibs; v++) {
        qsort(t[v], (size_t)reps[v], sizeof(double), cmp);
        median[v] = t[v][reps[v] / 2];
    }
    printf("%-34s %8zu %10zu", name, keys, bytes);
    for (int v = 0; v < nlibs; v++)
        printf(status[v] < 0 ? "  >%9.0f (-)" : "  %10.4f (%d)", median[v], status[v]);
    if (nlibs == 2) printf("  %s%8.3f", status[0] < 0 ? "<" : status[1] < 0 ? ">" : " ", median[1] / median[0]);
    printf("\n");
    fflush(stdout);
}

/* A real checkpoint: 256 layers of 2 units, AMSGrad Adam after one step: 2,049 tensors. */
static int save_checkpoint(struct lib *l, const char *path)
{
    static char spec[64 * 1024];
    int n = snprintf(spec, sizeof spec, "{\"input\": 2, \"layers\": [");
    for (int k = 0; k < 256; k++)
        n += snprintf(spec + n, sizeof spec - (size_t)n, "%s{\"units\": 2, \"activation\": \"tanh\"}", k ? ", " : "");
    snprintf(spec + n, sizeof spec - (size_t)n,
             "], \"loss\": \"mse\", \"optimizer\": {\"type\": \"adam\", \"amsgrad\": true}}");
    void *net = NULL;
    float x[2] = {0.5f, -0.5f}, d[2] = {0.25f, 0.75f};
    int ok = l->create(spec, 1, NULL, 0, &net) == 0 && l->forward(net, x, 1, NULL) == 0 &&
             l->backward(net, d, NULL, NULL) == 0 && l->step(net) == 0 && l->save(net, path) == 0;
    if (!ok) fprintf(stderr, "checkpoint: %s\n", l->error());
    if (net) l->destroy(net);
    return ok;
}

static uint32_t table_slots(size_t members)
{
    uint32_t s = 1;
    while (s < 2 * members) s *= 2;
    return s;
}

int main(int argc, char **argv)
{
    size_t max_keys = 520000;
    int a = 1;
    for (; a + 1 < argc && !strncmp(argv[a], "--", 2); a += 2) {
        if (!strcmp(argv[a], "--max-keys")) max_keys = strtoul(argv[a + 1], NULL, 10);
        else if (!strcmp(argv[a], "--limit")) limit = atof(argv[a + 1]);
        else break;
    }
    int nlibs = argc - a;
    if (nlibs < 1 || nlibs > 2 || !(limit > 0)) {
        fprintf(stderr, "usage: %s [--max-keys N] [--limit SECONDS] LIB_A [LIB_B]\n", argv[0]);
        return 2;
    }
    struct lib libs[2];
    for (int v = 0; v < nlibs; v++)
        if (!open_lib(&libs[v], argv[a + v])) return 1;

    char dir[] = "/tmp/bench_json_keys.XXXXXX", path[64];
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);

    for (int v = 0; v < nlibs; v++) printf("# %s: %s\n", v ? "B" : "A", libs[v].path);
    printf("# seconds per call, median of up to %d (status returned)\n", REPS);
    printf("%-34s %8s %10s", "case", "keys", "bytes");
    for (int v = 0; v < nlibs; v++) printf("  %14s", v ? "B" : "A");
    if (nlibs == 2) printf("  %9s", "B/A");
    printf("\n");

    int rc = 0;
    if (save_checkpoint(&libs[0], path)) {
        FILE *f = fopen(path, "rb");
        unsigned char n8[8] = {0};
        size_t header = f && fread(n8, 1, 8, f) == 8 ? (size_t)n8[0] | (size_t)n8[1] << 8 | (size_t)n8[2] << 16 : 0;
        if (f) fclose(f);
        run_case(libs, nlibs, "checkpoint header (load_size)", 2049, header, LOAD_SIZE, path);
    } else {
        rc = 1;
    }

    size_t counts[] = {2049, 65536, 520000};
    for (int c = 0; c < 3; c++) {
        size_t n = counts[c], len;
        if (n > max_keys) continue;
        char *keys = malloc(n * (PREFIX + 2));
        if (!keys) return 1;
        for (int crafted = 0; crafted < 2; crafted++) {
            if (crafted ? !colliding_keys(keys, n, table_slots(n)) : (ordinary_keys(keys, n), 0)) {
                fprintf(stderr, "could not make %zu colliding keys\n", n);
                return 1;
            }
            char *text = object_text(keys, n, &len);
            if (!text || !write_model(path, text, len)) return 1;
            char name[64];
            snprintf(name, sizeof name, "%s keys (load_size)", crafted ? "colliding" : "ordinary");
            run_case(libs, nlibs, name, n, len, LOAD_SIZE, path);
            free(text);
        }
        free(keys);
    }

    size_t n = 65535, len; /* with the spec's object: 2^16 values */
    char *keys = malloc(n * (PREFIX + 2));
    if (!keys) return 1;
    for (int crafted = 0; crafted < 2; crafted++) {
        if (crafted ? !colliding_keys(keys, n, table_slots(n)) : (ordinary_keys(keys, n), 0)) return 1;
        char *text = object_text(keys, n, &len);
        if (!text) return 1;
        run_case(libs, nlibs, crafted ? "colliding keys (create)" : "ordinary keys (create)", n, len, CREATE, text);
        free(text);
    }
    free(keys);
    unlink(path);
    rmdir(dir);
    return rc;
}
