/*
 * core_latency.c -- how far apart the machine's first two CPUs are right now: the round
 * trip of one cache line between a thread pinned to CPU 0 and one pinned to CPU 1.
 *
 * On these VMs the host moves the two virtual CPUs between its physical cores while a run
 * goes on. On the AMD EPYC (Zen 4) kind, two cores of one CCX share an L3 and a line goes
 * back and forth in 55-120 ns; on two CCDs it crosses the I/O die, 320-410 ns (2026-12-05).
 * Two-thread steps that hand data between threads run slower in the second placement (W1
 * training, swann's: a median 47k samples/s against 66k; torch's read 36-55k between runs);
 * run.sh records this reading around the two-thread steps so a table can say which
 * placement a number came from.
 *
 *   cc -O2 benchmarks/core_latency.c -o build/core_latency -lpthread
 *   build/core_latency [--label NAME] [--repeats 5]
 *
 * Prints one JSON line: the label, the median / min / max round trip in ns over the
 * repeats (100,000 round trips each), or an error where two CPUs cannot be pinned.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_time.h"

enum { TRIPS = 100000 };

static _Alignas(64) _Atomic long line;
static _Alignas(64) _Atomic int pinned_ok = 1;

static int pin(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return pthread_setaffinity_np(pthread_self(), sizeof s, &s) == 0;
}

/* CPU 1's side: answers each odd value with the next even one. */
static void *answer(void *arg) {
    (void)arg;
    if (!pin(1)) atomic_store(&pinned_ok, 0);
    for (long i = 0; i < TRIPS; i++) {
        while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 1)
            if (!atomic_load_explicit(&pinned_ok, memory_order_relaxed)) return NULL;
        atomic_store_explicit(&line, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

/* ns per round trip, or -1 where CPU 0 or 1 cannot be pinned. */
static double round_trip(void) {
    atomic_store(&line, 0);
    atomic_store(&pinned_ok, 1);
    pthread_t t;
    if (pthread_create(&t, NULL, answer, NULL) != 0) return -1;
    if (!pin(0)) atomic_store(&pinned_ok, 0);
    double t0 = seconds();
    for (long i = 0; i < TRIPS && atomic_load(&pinned_ok); i++) {
        atomic_store_explicit(&line, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 2)
            if (!atomic_load_explicit(&pinned_ok, memory_order_relaxed)) break;
    }
    double dt = seconds() - t0;
    pthread_join(t, NULL);
    return atomic_load(&pinned_ok) ? dt / TRIPS * 1e9 : -1;
}

int main(int argc, char **argv) {
    const char *label = "";
    int repeats = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--label") && i + 1 < argc) label = argv[++i];
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--label NAME] [--repeats 5]\n", argv[0]);
            return 2;
        }
    }
    if (repeats < 1 || repeats > 100 || strpbrk(label, "\"\\")) {
        fprintf(stderr, "bad --repeats (1-100) or --label (no quotes or backslashes)\n");
        return 2;
    }
    double ns[100];
    for (int r = 0; r < repeats; r++) {
        ns[r] = round_trip();
        if (ns[r] < 0) {
            printf("{\"label\": \"%s\", \"error\": \"cannot pin threads to CPUs 0 and 1\"}\n", label);
            return 1;
        }
    }
    double med = sorted_median(ns, repeats);
    printf("{\"label\": \"%s\", \"round_trip_ns_median\": %.1f, \"round_trip_ns_min\": %.1f, "
           "\"round_trip_ns_max\": %.1f, \"repeats\": %d, \"trips\": %d}\n",
           label, med, ns[0], ns[repeats - 1], repeats, TRIPS);
    return 0;
}
