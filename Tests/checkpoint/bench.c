/*
 * bench.c -- save and load throughput of a large model file, and its round trip.
 *
 * The net is 1024-4096-4096-1024 (25.2 M parameters) with SGD momentum, so the
 * file holds parameters and momentum buffers (about 201 MB). Save includes the
 * fsyncs; load reads from the page cache (the file was just written).
 * Usage: bench [LAYERS], e.g. bench 1024,4096,4096,1024
 */
#include "check.h"
#include "ckpt_util.h"

#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    check_init("bench");
    const char *layers = argc > 1 ? argv[1] : "1024,4096,4096,1024";
    size_t sizes[16] = {0};
    int n = 0; /* at least input and one layer */
    for (const char *p = layers; *p && n < 16;) {
        sizes[n++] = strtoul(p, (char **)&p, 10);
        if (*p == ',') p++;
    }
    if (n < 2) {
        fprintf(stderr, "usage: bench IN,UNITS,...\n");
        return 2;
    }
    sbuf b = {0};
    sb_printf(&b, "{\"input\":%zu,\"layers\":[", sizes[0]);
    for (int i = 1; i < n; i++)
        sb_printf(&b, "%s{\"units\":%zu,\"activation\":\"%s\"}", i > 1 ? "," : "", sizes[i],
                  i == n - 1 ? "identity" : "relu");
    sb_printf(&b, "],\"loss\":\"mse\",\"optimizer\":{\"type\":\"sgd\",\"lr\":0.01,\"momentum\":0.9},\"seed\":1}");
    const char *dir = make_tmpdir("bench");
    char path[600];
    snprintf(path, sizeof path, "%s/big.safetensors", dir);

    swann_net *a = make_net(b.s, 1);
    if (!a) return check_finish();
    /* one step so the momentum buffers are not zero */
    float *x = calloc(sizes[0], sizeof *x), *t = calloc(sizes[n - 1], sizeof *t);
    for (size_t i = 0; i < sizes[0]; i++) x[i] = (float)(i % 13) * 0.01f;
    swann_forward(a, x, 1, NULL);
    swann_backward(a, t, NULL, NULL);
    swann_step(a);

    double t0 = now_s();
    swann_status st = swann_save(a, path);
    double t_save = now_s() - t0;
    CHECK_ST(st, SWANN_OK, "save the large net");
    struct stat sb;
    stat(path, &sb);
    double mb = (double)sb.st_size / 1e6;

    size_t need = 0;
    t0 = now_s();
    st = swann_load_size(path, 1, &need);
    double t_size = now_s() - t0;
    CHECK_ST(st, SWANN_OK, "load_size of the large file");

    swann_net *l = NULL;
    t0 = now_s();
    st = swann_load(path, 1, NULL, 0, &l);
    double t_load = now_s() - t0;
    CHECK_ST(st, SWANN_OK, "load the large file");
    CHECK(l && same_params(a, l), "the large net round-trips bit for bit");
    swann_destroy(l);

    void *arena = aligned_alloc(64, (need + 63) / 64 * 64);
    l = NULL;
    t0 = now_s();
    st = swann_load(path, 1, arena, need, &l);
    double t_load_host = now_s() - t0;
    CHECK(st == SWANN_OK && l && same_params(a, l), "the large file loads into a host arena");
    /* resumed training matches */
    if (l) {
        swann_forward(a, x, 1, NULL), swann_backward(a, t, NULL, NULL), swann_step(a);
        swann_forward(l, x, 1, NULL), swann_backward(l, t, NULL, NULL), swann_step(l);
        CHECK(same_params(a, l), "one more step after loading the large file matches the original");
    }
    swann_destroy(l);
    free(arena);

    printf("# bench: net %s, %zu parameters, file %.1f MB\n", layers, swann_param_count(a), mb);
    printf("# bench: save %.3f s = %.0f MB/s (with fsync); load_size %.4f s; load %.3f s = %.0f MB/s; "
           "load into a host arena %.3f s = %.0f MB/s (page cache)\n",
           t_save, mb / t_save, t_size, t_load, mb / t_load, t_load_host, mb / t_load_host);
    swann_destroy(a);
    unlink(path);
    rmdir(dir);
    free(x);
    free(t);
    free(b.s);
    return check_finish();
}
