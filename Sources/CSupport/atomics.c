/* Atomic counters in caller-provided memory (a model's count of live sessions,
 * changed by sessions on any thread). C11 atomics: Embedded Swift has none. */
#include "cs_os.h"
#include <stdatomic.h>

long cs_atomic_add(long *p, long delta) {
    return atomic_fetch_add_explicit((_Atomic long *)p, delta, memory_order_acq_rel) + delta;
}

long cs_atomic_load(const long *p) {
    return atomic_load_explicit((_Atomic long *)(long *)p, memory_order_acquire);
}
