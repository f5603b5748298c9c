/*
 * swann_dl.h -- a libswann build opened with dlopen (RTLD_LOCAL), so that one
 * process can hold two builds and alternate them call by call (ab_libs.c,
 * bench_json_keys.c), plus the clock and the comparator those tools share.
 */
#ifndef SWANN_BENCH_DL_H
#define SWANN_BENCH_DL_H

#include <dlfcn.h>
#include <stdio.h>
#include <stddef.h>
#include <time.h>

typedef int (*swann_dl_create)(const char *, size_t, void *, size_t, void **);
typedef int (*swann_dl_load_size)(const char *, size_t, size_t *);
typedef int (*swann_dl_forward)(void *, const float *, size_t, float *);
typedef int (*swann_dl_backward)(void *, const float *, float *, float *);
typedef int (*swann_dl_step)(void *);
typedef int (*swann_dl_save)(const void *, const char *);
typedef void (*swann_dl_destroy)(void *);
typedef const char *(*swann_dl_error)(void);
typedef int (*swann_dl_model_from_net)(const void *, void **);
typedef int (*swann_dl_model_quantize)(const void *, const char *, void **);
typedef int (*swann_dl_session_create)(const void *, size_t, void *, size_t, void **);
typedef int (*swann_dl_session_run)(void *, const float *, size_t, float *);

/* The calls the tools use, from one build; net is the tool's own. */
struct lib {
    const char *path;
    swann_dl_create create;
    swann_dl_load_size load_size;
    swann_dl_forward forward;
    swann_dl_backward backward;
    swann_dl_step step;
    swann_dl_save save;
    swann_dl_destroy destroy;
    swann_dl_error error;
    /* Models and sessions (deploy.md); NULL in a build older than them. */
    swann_dl_model_from_net model_from_net;
    swann_dl_model_quantize model_quantize;
    swann_dl_session_create session_create;
    swann_dl_session_run session_run;
    void *net;
};

/* Opens the build at path; 0 (with a message on stderr) when it is not one. */
static int open_lib(struct lib *l, const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return 0;
    }
    l->path = path;
    l->net = NULL;
    l->create = (swann_dl_create)dlsym(h, "swann_create");
    l->load_size = (swann_dl_load_size)dlsym(h, "swann_load_size");
    l->forward = (swann_dl_forward)dlsym(h, "swann_forward");
    l->backward = (swann_dl_backward)dlsym(h, "swann_backward");
    l->step = (swann_dl_step)dlsym(h, "swann_step");
    l->save = (swann_dl_save)dlsym(h, "swann_save");
    l->destroy = (swann_dl_destroy)dlsym(h, "swann_destroy");
    l->error = (swann_dl_error)dlsym(h, "swann_last_error");
    l->model_from_net = (swann_dl_model_from_net)dlsym(h, "swann_model_from_net");
    l->model_quantize = (swann_dl_model_quantize)dlsym(h, "swann_model_quantize");
    l->session_create = (swann_dl_session_create)dlsym(h, "swann_session_create");
    l->session_run = (swann_dl_session_run)dlsym(h, "swann_session_run");
    if (!l->create || !l->load_size || !l->forward || !l->backward || !l->step || !l->save || !l->destroy ||
        !l->error) {
        fprintf(stderr, "%s: not a swann library\n", path);
        return 0;
    }
    return 1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* qsort comparator for doubles (medians). */
static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
