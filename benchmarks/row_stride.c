/*
 * row_stride.c -- rows a multiple of 4 KB apart against rows that are not, side by side.
 *
 * Rows 1024 or 4096 floats long start in one L1 set (64 sets of 64-byte lines on Zen 4 and
 * the Xeon), so a kernel that reads many such rows at once keeps their lines in one set of 8
 * or 12 ways. swann packs such blocks before its AVX-512 tiles read them (Gemm.rowsAlias)
 * and before its AVX-512 few-row product sums them (Gemm.fewRowsAliased; the AVX2 level's
 * Gemm.fewRows reads a whole line of each row per visit); this
 * driver shows what is left: each case beside the same net 8 inputs narrower, whose rows
 * are not aligned that way, in one process, alternating.
 *
 *   cc -O2 benchmarks/row_stride.c -Iinclude -Lbuild -lswann -o build/row_stride
 *   build/row_stride [--repeats 7]
 *
 * Cases (one thread, nets IN-256-10 and IN-512-10, relu then softmax):
 *   few   a training forward of 1 row (weights change every step: no packed copy, the
 *         few-row product reads W's rows), timed alone between backward and step;
 *   batch an inference forward of 128 rows: IN-512 with IN = 1024 on the net's packed
 *         weights (X's rows read by the tiles), with 4096 above the packed-copy limit and
 *         turned around (W's rows read by the tiles).
 * Prints one JSON line per case: the CPU level (swann_isa), the median microseconds per forward of each width over
 * the repeats and their ratio per weight (aliased / not; 1.0 is no penalty).
 */
#define _POSIX_C_SOURCE 200809L  /* clock_gettime under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swann.h>

#include "bench_time.h"

static swann_net *make(int in, int units, size_t batch)
{
    char spec[512];
    snprintf(spec, sizeof spec,
             "{\"input\": %d, \"layers\": [{\"units\": %d, \"activation\": \"relu\"}, "
             "{\"units\": 10, \"activation\": \"softmax\"}], \"loss\": \"cross_entropy\", "
             "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.0001}, \"seed\": 3, \"threads\": 1}", in, units);
    swann_net *net = NULL;
    if (swann_create(spec, batch, NULL, 0, &net) != SWANN_OK) {
        fprintf(stderr, "row_stride: create %d-%d-10: %s\n", in, units, swann_last_error());
        exit(1);
    }
    return net;
}

/* Seconds per forward of `rows` rows, `iters` times: training (forward, backward, step;
 * only the forward timed) or inference (forwards on the same weights). */
static double forwards(swann_net *net, const float *x, const float *d, float *y, size_t rows, int iters, int train)
{
    double spent = 0;
    float loss = 0;
    for (int i = 0; i < iters; i++) {
        double t = seconds();
        if (swann_forward(net, x, rows, y) != SWANN_OK) { fprintf(stderr, "%s\n", swann_last_error()); exit(1); }
        spent += seconds() - t;
        if (train && (swann_backward(net, d, &loss, NULL) != SWANN_OK || swann_step(net) != SWANN_OK)) {
            fprintf(stderr, "%s\n", swann_last_error());
            exit(1);
        }
    }
    return spent / iters;
}

static void run_case(const char *name, int in, int units, size_t rows, int iters, int train, int repeats)
{
    int widths[2] = {in, in - 8};
    swann_net *nets[2] = {make(widths[0], units, rows), make(widths[1], units, rows)};
    float *x = malloc((size_t)in * rows * sizeof(float)), *y = malloc(10 * rows * sizeof(float));
    float *d = calloc(10 * rows, sizeof(float));
    for (size_t i = 0; i < (size_t)in * rows; i++) x[i] = (float)(i % 7) * 0.1f - 0.3f;
    for (size_t r = 0; r < rows; r++) d[r * 10 + r % 10] = 1;
    double t[2][64];
    for (int w = 0; w < 2; w++) forwards(nets[w], x, d, y, rows, iters / 10 + 1, train);  /* warm, pack */
    for (int r = 0; r < repeats; r++)
        for (int k = 0; k < 2; k++) {
            int w = r % 2 ? 1 - k : k;  /* alternate which width goes first */
            t[w][r] = forwards(nets[w], x, d, y, rows, iters, train);
        }
    double m0 = sorted_median(t[0], repeats), m1 = sorted_median(t[1], repeats);
    double per0 = m0 / ((double)widths[0] * units + units * 10), per1 = m1 / ((double)widths[1] * units + units * 10);
    printf("{\"case\": \"%s\", \"isa\": \"%s\", \"rows\": %zu, \"aliased\": \"%d-%d-10\", \"aliased_us\": %.2f, "
           "\"other\": \"%d-%d-10\", \"other_us\": %.2f, \"ratio_per_weight\": %.3f}\n",
           name, swann_isa(nets[0]), rows, widths[0], units, m0 * 1e6, widths[1], units, m1 * 1e6, per0 / per1);
    swann_destroy(nets[0]);
    swann_destroy(nets[1]);
    free(x); free(y); free(d);
}

int main(int argc, char **argv)
{
    int repeats = 7;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else { fprintf(stderr, "usage: %s [--repeats N (1-64)]\n", argv[0]); return 2; }
    }
    if (repeats < 1 || repeats > 64) { fprintf(stderr, "row_stride: --repeats 1-64\n"); return 2; }
    printf("# swann %s\n", swann_version());
    run_case("few", 1024, 256, 1, 2000, 1, repeats);
    run_case("few", 4096, 256, 1, 500, 1, repeats);
    run_case("batch", 1024, 512, 128, 100, 0, repeats);
    run_case("batch", 4096, 512, 128, 20, 0, repeats);
    return 0;
}
