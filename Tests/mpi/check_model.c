/*
 * check_model.c -- checks a digits checkpoint written by an MPI example.
 *
 *   check_model MODEL DIGITS_CSV MIN_ACCURACY [OTHER_MODEL]
 *
 * Loads MODEL with swann_load (no MPI involved: any process can use what rank
 * 0 saved), runs it on every row of the digits CSV and prints its accuracy;
 * fails below MIN_ACCURACY. With OTHER_MODEL, also compares the two models'
 * parameters: they must agree to float32 rounding (relative difference below
 * 1e-3, values under 1e-2 measured against 1e-2), as the same training run on
 * a different number of ranks does. Exit status 0 when every check passes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swann.h"

#define IN 64
#define OUT 10
#define BATCH 128

static swann_net *load(const char *path)
{
    swann_net *net = NULL;
    swann_status st = swann_load(path, BATCH, NULL, 0, &net);
    if (st != SWANN_OK) {
        fprintf(stderr, "check_model: swann_load(%s): %s: %s\n", path, swann_status_name(st),
                swann_last_error());
        return NULL;
    }
    if (swann_input_size(net) != IN || swann_output_size(net) != OUT) {
        fprintf(stderr, "check_model: %s: %zu inputs, %zu outputs; expected %d and %d\n", path,
                swann_input_size(net), swann_output_size(net), IN, OUT);
        swann_destroy(net);
        return NULL;
    }
    return net;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s MODEL DIGITS_CSV MIN_ACCURACY [OTHER_MODEL]\n", argv[0]);
        return 2;
    }
    double min_acc = atof(argv[3]);
    swann_net *net = load(argv[1]);
    if (!net)
        return 1;
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        fprintf(stderr, "check_model: cannot open %s\n", argv[2]);
        return 1;
    }
    static float x[BATCH * IN], y[BATCH * OUT];
    int labels[BATCH];
    size_t total = 0, correct = 0, b = 0;
    int done = 0;
    while (!done) {
        int v = 0, c;
        for (c = 0; c <= IN; c++) {
            if (fscanf(f, c < IN ? "%d ," : "%d", &v) != 1)
                break;
            if (c < IN)
                x[b * IN + c] = (float)v / 16.0f;
        }
        if (c <= IN)
            done = 1;
        else
            labels[b++] = v;
        if (b == BATCH || (done && b > 0)) {
            swann_status st = swann_forward(net, x, b, y);
            if (st != SWANN_OK) {
                fprintf(stderr, "check_model: forward: %s\n", swann_last_error());
                return 1;
            }
            for (size_t r = 0; r < b; r++) {
                size_t best = 0;
                for (size_t k = 1; k < OUT; k++)
                    if (y[r * OUT + k] > y[r * OUT + best])
                        best = k;
                correct += (int)best == labels[r];
            }
            total += b;
            b = 0;
        }
    }
    fclose(f);
    double acc = total ? (double)correct / (double)total : 0.0;
    int ok = total > 0 && acc >= min_acc;
    printf("%s: loaded, %zu parameters, accuracy %.4f on all %zu digits (minimum %.2f)\n", argv[1],
           swann_param_count(net), acc, total, min_acc);

    if (argc == 5) {
        swann_net *other = load(argv[4]);
        if (!other)
            return 1;
        float *p, *q;
        size_t n, m;
        if (swann_params(net, &p, &n) != SWANN_OK || swann_params(other, &q, &m) != SWANN_OK || n != m) {
            fprintf(stderr, "check_model: the two models differ in shape\n");
            return 1;
        }
        double worst = 0.0, worst_abs = 0.0;
        size_t same = 0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)p[i] - (double)q[i]);
            double rel = d / (fabs((double)q[i]) + 1e-2);
            if (rel > worst) worst = rel;
            if (d > worst_abs) worst_abs = d;
            same += p[i] == q[i];
        }
        int close = worst < 1e-3;
        printf("%s vs %s: worst relative difference %.2g, absolute %.2g, %zu of %zu bit-identical: %s\n",
               argv[1], argv[4], worst, worst_abs, same, n, close ? "equal to float32 rounding" : "DIFFERENT");
        ok &= close;
        swann_destroy(other);
    }
    swann_destroy(net);
    return ok ? 0 : 1;
}
