/*
 * swann.h -- the public C interface of swann, a training and inference runtime
 * for layered networks (multi-layer perceptrons).
 *
 * Contract version 1. The comments in this header are the reference
 * documentation; docs for the full contract live in README.md.
 *
 * Linking (after `make install PREFIX=...`)
 *   - Shared: -lswann (pkg-config --cflags --libs swann). Needs glibc 2.28 or
 *     later, libc, libm and (below glibc 2.34) libpthread.
 *   - Static: libswann.a -lm -lpthread; pkg-config --libs swann-static names the
 *     archive by its path, for a lib folder holding libswann.so too.
 *   - Swift (normal, not Embedded): `import CSwann` with
 *     -I $PREFIX/include/swann (the module map `make install` puts there), then
 *     -lswann, or libswann.a -lm.
 *
 * Conventions
 *   - Every function that can fail returns a swann_status; SWANN_OK is 0.
 *     On failure swann_last_error() gives a one-line message naming what was
 *     wrong. Successful calls leave that message as it was (like errno).
 *   - No input aborts the host: NULL pointers, zero or huge sizes, wrong call
 *     order, NaN/Inf data and malformed JSON all return an error status.
 *   - Data is float (IEEE-754 binary32), row-major, batch-major: an input batch
 *     is batch x input_size floats, an output batch batch x output_size floats.
 *   - Layer k has weight W_k of shape [D_k, D_{k-1}] (out x in, as PyTorch's
 *     nn.Linear) and bias b_k of shape [D_k]:  z_k = W_k y_{k-1} + b_k,
 *     y_k = f_k(z_k), y_0 = x.
 *   - Memory: a net lives in one arena sized at creation. After swann_create
 *     returns, no call on the net allocates heap memory. With a host arena,
 *     swann_create, swann_load and swann_load_buffer allocate nothing at all:
 *     the scratch they read the spec or the header in is part of the arena.
 *   - Threads. swann keeps no mutable global state: no global random
 *     generator (initialisation draws from the spec's seed), no global
 *     scratch or cache (every buffer is in the net's arena), and the
 *     last-error text is per thread. (The one exception, a count of fork()s
 *     that worker pools compare with, changes only in a fork child.) Hence:
 *       - Distinct nets may be used from different threads at the same time
 *         without locking, whether made from one spec or loaded from one
 *         model file: a read-only model is served to several threads by
 *         loading one net per thread.
 *       - One net is used by one thread at a time. The host serialises calls
 *         on the same net (a mutex), and does not touch the views of
 *         swann_params / swann_grads while another thread is in a call on
 *         that net. A net may change threads between calls (created on one,
 *         used on another, destroyed on a third) when the host orders the
 *         hand-over (a mutex, a queue, a join). swann_save reads its net: no
 *         other call on that net meanwhile.
 *       - Calls that take no net (swann_version, swann_status_name,
 *         swann_last_error, swann_arena_size, swann_load_size, swann_load)
 *         may run on any thread at any time.
 *       - swann_save replaces its file atomically: a thread or process loading
 *         that path meanwhile gets the old model or the new one, never a mix;
 *         of two saves to one path at once, one wins.
 *       - swann_last_error() returns the calling thread's message; a call on
 *         one thread never changes another thread's message.
 *       - A net's worker threads ("threads" in the spec) are started by
 *         create/load and joined by destroy; they run only inside a call on
 *         that net, which returns after they are done, and never call into
 *         the host.
 *       - fork(): the child has a copy of every net but none of their worker
 *         threads. There a net made before the fork runs each call on the
 *         calling thread alone, with the same bits (results never depend on
 *         the thread count), and swann_destroy frees it without waiting for
 *         workers; the parent's net keeps its workers. Nets created in the
 *         child have workers of their own. Fork while no call runs on a net
 *         (as with any state a fork copies): a net caught in the middle of a
 *         call is only good for swann_destroy in the child.
 */
#ifndef SWANN_H
#define SWANN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by every function that can fail. */
typedef enum swann_status {
    SWANN_OK        = 0, /* success */
    SWANN_E_ARG     = 1, /* NULL where a pointer is required, size out of range, bad argument */
    SWANN_E_SPEC    = 2, /* network spec invalid: JSON syntax, unknown key or value, bad layer size */
    SWANN_E_SHAPE   = 3, /* batch is 0 or above max_batch, buffer sizes disagree with the net */
    SWANN_E_STATE   = 4, /* call out of order: backward without a forward, step with nothing accumulated */
    SWANN_E_ARENA   = 5, /* supplied arena too small or misaligned (64-byte alignment required) */
    SWANN_E_NOMEM   = 6, /* the library could not allocate its arena */
    SWANN_E_IO      = 7, /* file could not be opened, read, written, synced or renamed */
    SWANN_E_FORMAT  = 8, /* model file corrupt, truncated, or not a swann safetensors file */
    SWANN_E_NUMERIC = 9  /* non-finite input, loss or gradient; the update was refused */
} swann_status;

/* Required alignment, in bytes, of a host-supplied arena. */
#define SWANN_ARENA_ALIGNMENT 64

/* An opaque network: parameters, gradients, optimizer state and the buffers
 * of forward and backward, all inside one arena. */
typedef struct swann_net swann_net;

/* ---- library information ------------------------------------------------ */

/* The version of this header. A host compares it with the library it runs
 * against (SQLite's habit): swann_version_number() >= SWANN_VERSION_NUMBER
 * means every call declared here is there. MINOR grows when calls are added,
 * MAJOR when the contract changes. */
#define SWANN_VERSION        "0.2.0"
#define SWANN_VERSION_MAJOR  0
#define SWANN_VERSION_MINOR  2
#define SWANN_VERSION_PATCH  0
#define SWANN_VERSION_NUMBER (SWANN_VERSION_MAJOR * 1000000 + SWANN_VERSION_MINOR * 1000 + SWANN_VERSION_PATCH)

/* The library version, "MAJOR.MINOR.PATCH". Never NULL. */
const char *swann_version(void);

/* The library version as MAJOR * 1000000 + MINOR * 1000 + PATCH. */
int swann_version_number(void);

/* The name of a status, e.g. "SWANN_E_SHAPE"; "SWANN_E_UNKNOWN" for values
 * outside the enum. Never NULL. */
const char *swann_status_name(swann_status s);

/* The message of the most recent failing call on the calling thread, or ""
 * if none has failed. Valid until the next failing call on this thread. */
const char *swann_last_error(void);

/* ---- creation ------------------------------------------------------------ */

/* Bytes of arena a net of this spec needs for batches up to max_batch: the
 * net's, or, if larger, the scratch the spec's parse takes from the arena's
 * start before the net is laid there (so swann_create allocates nothing). The
 * spec is the JSON text described in README.md ("Network spec"). Heap: one
 * transient block for the parse (SWANN_E_NOMEM if it cannot be had). */
swann_status swann_arena_size(const char *spec_json, size_t max_batch, size_t *bytes);

/* Creates a net from a JSON spec.
 *   arena == NULL: the library allocates the arena once (freed by destroy);
 *                  arena_bytes must then be 0.
 *   arena != NULL: the host's block, 64-byte aligned, at least
 *                  swann_arena_size() bytes; the host frees it after destroy.
 *                  Nothing is allocated, not even transiently: the spec is
 *                  parsed in the arena (SWANN_E_ARENA, naming the bytes needed,
 *                  when it is too small even for that).
 * Heap with arena NULL: one transient block for the parse, then the arena.
 * Parameters are initialised from the spec's "init" and "seed": the same spec
 * gives bit-identical parameters on every machine. On failure *out is NULL. */
swann_status swann_create(const char *spec_json, size_t max_batch,
                          void *arena, size_t arena_bytes, swann_net **out);

/* Frees a net (and its arena if the library allocated it), after joining its
 * worker threads. NULL is a no-op. In a fork() child, a net made before the
 * fork is freed without joining or waking anything: its workers exist only in
 * the parent. */
void swann_destroy(swann_net *net);

/* ---- shape and spec ------------------------------------------------------ */

/* Sizes of the net; 0 when net is NULL. */
size_t swann_input_size(const swann_net *net);
size_t swann_output_size(const swann_net *net);
size_t swann_param_count(const swann_net *net);   /* weights and biases */
size_t swann_max_batch(const swann_net *net);

/* The net's spec as canonical JSON, with every default filled in.
 * Like snprintf: *needed receives the length plus the terminating NUL;
 * when cap < *needed nothing is written and SWANN_E_ARG is returned, so
 * (NULL, 0, &needed) asks for the size. */
swann_status swann_spec_json(const swann_net *net, char *buf, size_t cap, size_t *needed);

/* ---- training and inference ---------------------------------------------- */

/* Runs the net on batch rows of x (batch x input_size floats), keeping what
 * backward needs. 1 <= batch <= max_batch. y, when not NULL, receives
 * batch x output_size floats. Non-finite input is SWANN_E_NUMERIC.
 * Batch invariance: each row's output has the same bits whatever the batch it
 * is in (alone or with others, at any position, any batch size) and whatever
 * the thread count, so a server may batch rows from different requests.
 * Addition to contract version 1. Cost: from the second forward on unchanged
 * weights, the net keeps each layer's weights (layers of up to 2^20 weights)
 * packed in its arena, in the order the product reads them, until a step changes
 * them; before that, fewer than 6 rows transpose them on the fly, about 3x the
 * time. With them, a batch of at least 32 rows per thread is split by rows: each
 * thread runs its rows through every layer (no wait between layers); smaller
 * batches split each product by columns. A training loop (forward, backward, step) never packs the
 * copy; after swann_params the host may write the weights at any time, so the
 * net reads them as they lie from then on. Without a copy in use, on the AVX-512
 * level a batch that is a multiple of 32 rows computes a layer of at least 2^16
 * weights and a multiple of 4 units as Z^T = b + W X^T, reading W's rows where
 * they lie (in the arena's backward buffers), and transposes Z. None of this changes a bit of the
 * results. For serving many threads, use a model and sessions. */
swann_status swann_forward(swann_net *net, const float *x, size_t batch, float *y);

/* *rows receives the row count of the last successful forward, the rows the
 * next backward uses (0 before any forward; a failed forward leaves it as it
 * was). A host sizes its target, dy and dx buffers from this rather than from
 * its own bookkeeping, which an interrupt between forward returning and the
 * host recording the batch could leave stale. Addition to contract version 1. */
swann_status swann_last_batch(const swann_net *net, size_t *rows);

/* For the rows of the last successful forward: computes Div(Y_t, d_t) against
 * target (batch x output_size floats), runs the backward recursion and ADDS
 * the gradients into the accumulated ones, and adds the row count to T.
 * *loss (if not NULL) receives the mean Div over the rows; dx (if not NULL)
 * receives grad_x Div per row (batch x input_size floats).
 * Targets must lie in the loss's domain: [0, 1] for "binary_cross_entropy",
 * >= 0 for "cross_entropy"; another value is SWANN_E_ARG naming its row.
 * SWANN_E_NUMERIC when a target, the loss, any gradient sum or dx would be
 * NaN or Inf (values that overflow float inside the recursion included).
 * All or nothing: on any error nothing is accumulated (gradients and T as
 * they were) and neither *loss nor dx is written. Requires a loss other
 * than "none" (use swann_backward_grad then). */
swann_status swann_backward(swann_net *net, const float *target, float *loss, float *dx);

/* As swann_backward, with the host's own grad_Y Div per row in dy
 * (batch x output_size floats; NaN or Inf is SWANN_E_NUMERIC). */
swann_status swann_backward_grad(swann_net *net, const float *dy, float *dx);

/* Applies the optimizer to the accumulated gradients averaged over T
 * (plain SGD: W -= (lr / T) * grad Err), then zeroes the gradients and T.
 * SWANN_E_STATE when nothing is accumulated; SWANN_E_NUMERIC when a gradient
 * is not finite (or the scheduled rate overflows float, see swann_get_lr),
 * leaving parameters, optimizer state, gradients and T as they were (discard
 * them with swann_zero_grad). */
swann_status swann_step(swann_net *net);

/* Data-parallel training (e.g. MPI): each process runs forward/backward on its
 * shard, the hosts sum the gradient buffers (swann_grads) across processes in
 * place, and every process steps with the global row count, so all take the
 * same update as one process with the whole batch. Additions to contract v1.
 *
 * swann_accumulated_rows: this net's T, the rows accumulated since the last step.
 * swann_step_rows: as swann_step, dividing by `rows` (the global T, >= 1)
 * instead of this net's own T, which may be 0 here. */
swann_status swann_accumulated_rows(const swann_net *net, size_t *rows);
swann_status swann_step_rows(swann_net *net, size_t rows);

/* Zeroes the accumulated gradients and T. */
swann_status swann_zero_grad(swann_net *net);

/* Sets the optimizer's base learning rate (finite, in [0, 1e6]; -0.0 is stored
 * as 0) for the steps that follow; a schedule in the spec, if any, still scales
 * it, except that a base rate of 0 stays 0 under every schedule (so 0 pauses
 * training). The canonical spec (swann_spec_json) and files saved from now on
 * carry the new rate as "lr", so a model loaded from them resumes with it.
 * Addition to contract version 1. */
swann_status swann_set_lr(swann_net *net, double lr);

/* The learning rate the next swann_step will use: the base rate with the
 * schedule and warm-up applied. Never NaN. A "step" schedule with gamma > 1
 * grows it without bound: once it is beyond FLT_MAX (up to +Inf), swann_step
 * refuses with SWANN_E_NUMERIC, changing nothing, and names the schedule.
 * Addition to contract version 1. */
swann_status swann_get_lr(const swann_net *net, double *lr);

/* Sets how many threads run the net's large matrix products (and swann_step
 * of large nets): 1 (the calling thread alone) up to the spec's "threads",
 * whose workers create started. Work too small to gain from threads always
 * runs on the calling thread, and so does all work in a fork() child on a net
 * made before the fork (see Threads above).
 * Addition to contract version 1. */
swann_status swann_set_threads(swann_net *net, size_t threads);

/* Flushing subnormal numbers. Inside swann_forward, swann_backward,
 * swann_backward_grad, swann_step and swann_step_rows the net computes with
 * flush-to-zero and denormals-are-zero (on by default): float's subnormal
 * numbers, below 1.17549e-38, count as zero as operands and results. Late in
 * training gradients, momentum buffers and their products decay into that
 * range, where x86 takes a slow path (the digits demo's last epochs ran 3x
 * slower than its first); with flushing they run at full speed, and the
 * results differ from IEEE only where a value that small took part.
 * swann_set_flush_subnormals(net, 0) computes with IEEE subnormals instead,
 * for a host that needs them; any non-zero `on` turns flushing back on. A
 * run-time setting, like the thread count: not in the canonical spec nor in
 * model files, and a net made by create or load starts with it on.
 *
 * Whatever the setting, swann computes in its own floating-point mode (round
 * to nearest, every exception masked, and the flushing above) on the calling
 * thread and on its worker threads, and gives the host's mode back on return,
 * success or failure: the host's MXCSR on x86-64 (rounding mode, FTZ/DAZ,
 * exception masks and flags), FPCR and FPSR on aarch64 (FZ is the flushing),
 * FPSCR on Cortex-M4F/M7 (FZ likewise) is the same after every call as before it, so the host's
 * own arithmetic never changes, and swann's results depend neither on the
 * host's mode nor on the thread count. The calls that parse or print numbers,
 * initialise or check parameters (swann_create, swann_load, swann_save,
 * swann_set_lr, swann_get_lr, swann_arena_size, swann_load_size) always
 * compute plain IEEE, so the canonical spec, the initial parameters and
 * model files are the same whatever the host's mode or this setting. On
 * other machines swann computes in the host's mode and the setting is kept
 * but has no effect. Additions to contract version 1. */
swann_status swann_set_flush_subnormals(swann_net *net, int on);
/* *on receives 1 when the net flushes subnormals, 0 when it computes IEEE. */
swann_status swann_get_flush_subnormals(const swann_net *net, int *on);

/* CPU levels (x86-64). One library serves every x86-64 CPU: its matrix, activation,
 * loss and update kernels are compiled three times, for the baseline x86-64
 * instruction set, for AVX2 with FMA, and for AVX-512 (F, DQ, CD, BW, VL; wider
 * tiles), and swann_create, swann_load, swann_load_buffer and
 * swann_session_create choose one for the net or session they make: the widest
 * the CPU has and the OS saves the registers of (cpuid, xgetbv), so a CPU without
 * AVX2 runs the baseline kernels instead of dying of an illegal instruction. The
 * environment variable SWANN_ISA, read by those calls, narrows the choice for
 * comparisons and tests: "avx512", "avx2" or "baseline" (a level the CPU lacks
 * gives the widest it has; empty means unset; any other value makes those calls
 * fail with SWANN_E_ARG). The choice is kept for the net's or session's life.
 *
 * The AVX2 and AVX-512 kernels sum every output in the same order (the same
 * blocking, the same fused multiply-add chain), so nets trained, and outputs
 * computed, on either level are bit-identical: a net trained on an AVX-512
 * machine equals one trained from the same spec and data on an AVX2 machine. The
 * baseline level has no fused multiply-add; it multiplies and adds, and its
 * results may differ in the last bits (about 2.3x slower than AVX2 on the digits
 * demo). Sessions of int8 models (swann_model_quantize) sum exact integers on
 * every level, AVX512_VNNI's dot products included where the CPU has them, so
 * their bits never depend on the level. Builds for one CPU only (make
 * TARGET_CPU=...) and other architectures have a single level, "native".
 *
 * The level a net runs, as a static string: "avx512", "avx2", "baseline" or
 * "native"; NULL when net is NULL or not live (swann_session_isa: a session's).
 * Not part of the canonical spec or of model files, which stay
 * machine-independent. Additions to contract version 1. */
const char *swann_isa(const swann_net *net);

/* Flat views into the arena, layer by layer, weight (row-major [out, in]) then
 * bias. The host may read and write them in place; valid until destroy.
 * Handing out an address costs a little speed from then on, so ask only when
 * the buffer is needed: after swann_grads, each step zeroes the gradient buffer
 * (otherwise the next backward writes over it, and the buffer reads as zero
 * whenever the host asks); after swann_params, each plain SGD step checks every
 * new parameter value (otherwise a bound on the gradient proves them finite: the
 * one the backward that wrote it keeps, or, after swann_grads, one pass over it). */
swann_status swann_params(swann_net *net, float **data, size_t *count);
swann_status swann_grads(swann_net *net, float **data, size_t *count);

/* ---- model files (safetensors) ------------------------------------------- */

/* Writes the net to a safetensors file, atomically: a temporary file
 * ".swann-XXXXXX.tmp" in the folder of the file to replace is written, fsynced
 * and renamed over it, then the folder is fsynced. A crash leaves the old file
 * or the new one (and perhaps a stray temporary file); a failed call removes
 * its temporary file and leaves the old file as it was.
 *   - A symbolic link at path (or a chain of them) is followed: the file it
 *     leads to is replaced, in that file's folder, and the link stays. A
 *     dangling link gets the file it names created (as the shell's > does),
 *     when that file's folder exists.
 *   - The new file keeps the replaced file's permission bits (a 0600 model
 *     stays 0600, whatever the umask) and its group when the process may set
 *     it; its owner is the saving process's user. A new file gets 0666 minus
 *     the umask.
 *   - A read-only file in a writable folder is replaced (the rename needs only
 *     the folder's write permission, as with mv) and stays read-only. Other
 *     hard links to the old file keep the old model.
 *   - A FIFO, device, socket or folder at path (or where its links lead) is
 *     SWANN_E_IO ("... is a FIFO, not a regular file"), refused without being
 *     opened, so the call never blocks.
 *   - The last path component may be as long as the file system allows (255
 *     bytes on most): the temporary name does not depend on it.
 * SWANN_E_NUMERIC when a parameter or optimizer value is not finite (nothing
 * is written), SWANN_E_NOMEM, or SWANN_E_IO naming the step that failed. */
swann_status swann_save(const swann_net *net, const char *path);

/* Bytes of arena swann_load needs for this file and max_batch: the net's and
 * the scratch that reading the header takes (the header text, its parsed tree,
 * the spec's, the tensor table), so at least swann_arena_size of the file's
 * spec, and more for small nets (about 1 KB, or 30 bytes a header value). Heap:
 * two transient blocks (the header text, then the rest). path as for swann_load. */
swann_status swann_load_size(const char *path, size_t max_batch, size_t *bytes);

/* Creates a net from a file written by swann_save (arena as in swann_create).
 * path must lead to a regular file (symbolic links are followed): a FIFO,
 * device, socket or folder is SWANN_E_IO ("... is a character device, not a
 * regular file"), refused without being opened, so the call never blocks. A
 * file that is not exactly right is SWANN_E_FORMAT with what is wrong (e.g.
 * 'tensor "layers.0.weight" has shape [5, 3], the spec needs [4, 3]'). */
swann_status swann_load(const char *path, size_t max_batch, void *arena, size_t arena_bytes,
                        swann_net **out);

/* ---- Nets in memory --------------------------------------------------------
 * The model-file bytes of swann_save, in memory (a database row, a network
 * message, firmware): the same format, the same loader, the same checks. */

/* The net as model-file bytes, exactly what swann_save would write to a file,
 * snprintf-style: *needed always gets the size; with cap < *needed nothing is
 * written and the call returns SWANN_E_ARG, so (net, NULL, 0, &needed) asks the
 * size. buf NULL with cap > 0, or needed NULL: SWANN_E_ARG. A parameter or
 * optimizer value that is not finite: SWANN_E_NUMERIC, nothing written (as
 * swann_save). Heap: exactly one transient block, for the header text (at most
 * 256 bytes a tensor plus 6 a spec character; the block swann_save allocates),
 * freed on return, also when only the size is asked; SWANN_E_NOMEM if it
 * cannot be had. Reads the net only (as swann_save). */
swann_status swann_save_buffer(const swann_net *net, void *buf, size_t cap, size_t *needed);

/* As swann_load_size and swann_load, from size bytes at bytes rather than a
 * file. The bytes are untrusted and checked exactly as swann_load checks a
 * file: anything not exactly right is SWANN_E_FORMAT with what is wrong (the
 * message names the call, "load_buffer: not a swann model file: ..."). They
 * are copied into the arena: they may be freed or changed on return. bytes
 * NULL, size 0 or above 2^48, max_batch 0 or above the limit: SWANN_E_ARG.
 * Heap: with a host arena (at least swann_load_buffer_size bytes) swann_load_buffer
 * allocates nothing at all: the header is read in the arena (as swann_load does
 * with a file). Without one, and in swann_load_buffer_size, two transient blocks
 * for the reading (SWANN_E_NOMEM if one fails), then the arena as in swann_create. */
swann_status swann_load_buffer_size(const void *bytes, size_t size, size_t max_batch, size_t *arena_bytes);
swann_status swann_load_buffer(const void *bytes, size_t size, size_t max_batch,
                               void *arena, size_t arena_bytes, swann_net **out);

/* ---- Models and sessions ----------------------------------------------------
 * A model is a trained net frozen for inference: its spec and weights,
 * read-only, shared by threads. A session is one thread's working memory over a
 * model: two activation buffers of the widest layer for max_batch rows and the
 * matrix product's packing space (64-byte aligned, plus a small header): no
 * gradients, no optimizer state, no copy of the weights. N sessions over one
 * model cost the weights once plus N session arenas.
 *
 * Threads: any number of sessions of one model may run at the same time, each
 * on its own thread, without locks (the model is only read; its count of live
 * sessions is atomic). One session is used by one thread at a time (as a net).
 * Creating and destroying sessions of one model may happen on any threads at
 * any time, but swann_model_destroy must not race with swann_session_create on
 * that model (the host orders them, as it orders any free with its last use).
 *
 * Each row of swann_session_run's output is bit-identical to swann_forward's on
 * the net the model came from (the same code path for every layer), and the
 * session computes in swann's floating-point mode with the model's flush-to-zero
 * setting (on for a loaded model, the net's for swann_model_from_net); the
 * host's mode is restored on return. */
typedef struct swann_model   swann_model;
typedef struct swann_session swann_session;

/* swann_model_load: map the file read-only instead of reading it. */
#define SWANN_MODEL_MAP 1u

/* A model from a model file (as swann_load accepts it, the same checks, the
 * same statuses: SWANN_E_IO, SWANN_E_FORMAT with what is wrong; the optimizer
 * tensors, if any, are checked and ignored; every weight is checked finite).
 * flags 0: the weights are read into one allocation, stored in the order the
 * product reads them (as a net's packed copy: no run packs them, and one row
 * runs about 2.5x faster than on weights used as the file has them; the same
 * bits either way; on 32-bit ARM, transposed).
 * SWANN_MODEL_MAP: the file is mapped read-only and every tensor 4-byte aligned
 * in it (all of swann_save's, and the usual safetensors files') is used in
 * place, with no copy (runs of few rows then transpose the weights on the fly,
 * as swann_forward does); a misaligned one is copied into the model's
 * allocation (in that order). While a mapped model lives, the
 * file must not be truncated or rewritten in place (its pages would change
 * under the model, or vanish: SIGBUS); replacing it by a rename is safe, and
 * swann_save always replaces that way. Unknown flag bits, NULL or empty path,
 * out NULL: SWANN_E_ARG. */
swann_status swann_model_load(const char *path, unsigned flags, swann_model **out);

/* A model from a model file's bytes in memory (firmware, a database row, a
 * network message), checked exactly as swann_load checks a file (anything not
 * exactly right: SWANN_E_FORMAT; bytes NULL, size 0 or above 2^48: SWANN_E_ARG).
 *   mem NULL (mem_bytes 0): the weights are copied into one allocation of the
 *     library's (in the product's order, as swann_model_load without flags); the bytes may
 *     be freed on return.
 *   mem not NULL: nothing is allocated, ever. The host's block, 64-byte
 *     aligned and at least swann_model_mem_size() bytes (else SWANN_E_ARENA),
 *     holds the scratch the reading takes (the header text, its parsed tree, the
 *     tensor table) and the model's bookkeeping (header, layer table, canonical
 *     spec; at the block's end); the weights are read in place from bytes,
 *     whose tensors must then be 4-byte aligned in memory (else SWANN_E_ARG
 *     naming the tensor; runs of few rows transpose them on the fly). Both
 *     must stay unchanged until the model is destroyed. This is the way in on
 *     a target with no heap.
 * mem NULL with mem_bytes > 0: SWANN_E_ARG. swann_model_mem_size itself reads
 * the header with a transient heap block (as swann_load_buffer_size). */
swann_status swann_model_mem_size(const void *bytes, size_t size, size_t *mem_bytes);
swann_status swann_model_from_buffer(const void *bytes, size_t size, void *mem, size_t mem_bytes,
                                     swann_model **out);

/* A snapshot of a net's current parameters, in one allocation; the net stays
 * usable and later training does not change the model. The model flushes
 * subnormals as the net does (swann_set_flush_subnormals). A parameter that is
 * not finite (written through swann_params): SWANN_E_NUMERIC. */
swann_status swann_model_from_net(const swann_net *net, swann_model **out);

/* The model as model-file bytes: the spec and the weights, no optimizer state,
 * snprintf-style as swann_save_buffer ((model, NULL, 0, &needed) asks the size;
 * cap < *needed writes nothing and returns SWANN_E_ARG). The bytes load as a
 * model (swann_model_from_buffer) and, for a float32 model, as a net
 * (swann_load_buffer, with a fresh optimizer state). Heap: one transient block
 * for the header text. */
swann_status swann_model_save_buffer(const swann_model *model, void *buf, size_t cap, size_t *needed);

/* ---- compact weights ------------------------------------------------------
 * A copy of a float32 model whose layer weights are stored as dtype "f16"
 * (IEEE binary16, rounded to nearest even) or "int8" (symmetric, one float32
 * scale per output row: w ~ q * scale, q in -127...127, scale = max|w| / 127,
 * an all-zero row scale 1); biases stay float32. 2x / 4x fewer weight bytes
 * to read per inference, file and flash image.
 * Sessions run them with the same calls, allocating nothing:
 *   f16: weights widened to float (exact), sums in float32, one fixed order;
 *   int8: each input row of a layer is quantized to int8 (symmetric, its own
 *     scale), the products summed exactly in int32 (no overflow and no
 *     saturation for any input: int8 layers have at most 133144 inputs),
 *     scaled back to float32 (then bias, then the activation). A session of an
 *     int8 model also holds a copy of its weights packed for the CPU's dot
 *     products (about the int8 weight bytes again, made at session create;
 *     used on AVX512_VNNI, for layers of at most 66311 inputs).
 * A row's result depends only on that row: the same bits for any batch, any
 * thread count, any x86-64 CPU. Expect f16 within about 1e-3 of the float32
 * model's outputs, int8 within a few percent of the output's range.
 * dtype anything else, or NULL: SWANN_E_ARG; a model already compact:
 * SWANN_E_ARG; an int8 layer with more than 133144 inputs: SWANN_E_ARG; a
 * weight beyond binary16's range (|w| > 65504) for f16: SWANN_E_NUMERIC.
 * One allocation (the new model); the source model is unchanged. */
swann_status swann_model_quantize(const swann_model *model, const char *dtype, swann_model **out);

/* Saves a model of any dtype as a safetensors file, atomically as swann_save
 * does (the same statuses). A compact model's file: layers.{k}.weight F16 or
 * I8 [out, in], layers.{k}.weight_scale F32 [out] (int8), layers.{k}.bias F32,
 * "swann.weights": "f16" | "int8" in __metadata__; tensors by decreasing dtype
 * size (F32, F16, I8), each aligned to its dtype, so swann_model_load with
 * SWANN_MODEL_MAP and swann_model_from_buffer with mem use every one in place.
 * swann_model_load and swann_model_from_buffer read these files (weights of a
 * wrong dtype or shape, a missing, zero, negative or non-finite scale, an int8
 * weight of -128, a non-finite f16 weight: SWANN_E_FORMAT); swann_load and
 * swann_load_buffer refuse them (SWANN_E_FORMAT: load them as a model). A
 * float32 model's file is what swann_model_save_buffer gives. */
swann_status swann_model_save(const swann_model *model, const char *path);

/* Frees a model: unmaps its file, frees the library's allocation (the host's
 * mem and bytes are the host's again). While sessions on it are alive:
 * SWANN_E_STATE and nothing freed. NULL: SWANN_OK. A handle that is not a live
 * model: SWANN_E_ARG. */
swann_status swann_model_destroy(swann_model *model);

/* Sizes of a model's input and output rows; 0 when model is NULL or not live. */
size_t swann_model_input_size(const swann_model *model);
size_t swann_model_output_size(const swann_model *model);
/* The model's canonical spec, as swann_spec_json. */
swann_status swann_model_spec_json(const swann_model *model, char *buf, size_t cap, size_t *needed);

/* Arena bytes of a session for batches up to max_batch (1 ... the limit of
 * swann_create, else SWANN_E_ARG), and its creation: arena NULL (arena_bytes 0)
 * has the library allocate it once; a host arena is 64-byte aligned and at
 * least the size asked (else SWANN_E_ARENA), and then nothing is allocated. */
swann_status swann_session_arena_size(const swann_model *model, size_t max_batch, size_t *bytes);
swann_status swann_session_create(const swann_model *model, size_t max_batch,
                                  void *arena, size_t arena_bytes, swann_session **out);

/* Y (batch x output_size) for batch rows of x (batch x input_size), on the
 * calling thread (a session has no worker threads: parallelism is one session
 * per thread), allocating nothing, ever. batch 0 or above the session's
 * max_batch: SWANN_E_SHAPE; x or y NULL, a handle that is not a live session:
 * SWANN_E_ARG; an input value that is NaN or Inf: SWANN_E_NUMERIC (y untouched). */
swann_status swann_session_run(swann_session *session, const float *x, size_t batch, float *y);

/* Ends a session (a library arena is freed; a host arena is the host's again).
 * NULL or a handle that is not a live session: no-op. */
void swann_session_destroy(swann_session *session);

/* The CPU level the session runs (see swann_isa); NULL when session is NULL or
 * not live. Addition to contract version 1. */
const char *swann_session_isa(const swann_session *session);

#ifdef __cplusplus
}
#endif

#endif /* SWANN_H */
