/* Which CPU level of the kernel layer this machine can run (cs_os.h). A freestanding
 * build takes only cs_isa_request, which has no environment to read there. */
#include "cs_os.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

/* Every feature the compiler may use at a level, not only the vector width:
 * -target-cpu haswell also emits F16C, BMI, LZCNT and MOVBE instructions. */
int cs_cpu_level(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return CS_CPU_BASELINE;
    unsigned fma = 1u << 12, movbe = 1u << 22, popcnt = 1u << 23, osxsave = 1u << 27,
             avx = 1u << 28, f16c = 1u << 29;
    unsigned leaf1 = fma | movbe | popcnt | osxsave | avx | f16c;
    if ((c & leaf1) != leaf1) return CS_CPU_BASELINE;
    /* The OS saves the YMM state (XCR0 bits 1 and 2), else AVX faults. */
    uint64_t xcr = xcr0();
    if ((xcr & 0x6) != 0x6) return CS_CPU_BASELINE;
    unsigned b7, c7, d7;
    if (!__get_cpuid_count(7, 0, &a, &b7, &c7, &d7)) return CS_CPU_BASELINE;
    unsigned bmi1 = 1u << 3, avx2 = 1u << 5, bmi2 = 1u << 8;
    if ((b7 & (bmi1 | avx2 | bmi2)) != (bmi1 | avx2 | bmi2)) return CS_CPU_BASELINE;
    if (!__get_cpuid(0x80000001, &a, &b, &c, &d) || !(c & (1u << 5))) return CS_CPU_BASELINE; /* LZCNT */
    /* AVX-512 F, DQ, CD, BW, VL, and the OS saving opmask and ZMM state (XCR0 bits 5-7). */
    unsigned f = 1u << 16, dq = 1u << 17, cd = 1u << 28, bw = 1u << 30, vl = 1u << 31;
    unsigned avx512 = f | dq | cd | bw | vl;
    if ((b7 & avx512) == avx512 && (xcr & 0xE0) == 0xE0) return CS_CPU_AVX512;
    return CS_CPU_AVX2;
}

/* AVX512_VNNI (cpuid 7.0 ECX bit 11); asked only once cs_cpu_level chose AVX-512. */
int cs_cpu_vnni(void) {
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 11));
}
#else
int cs_cpu_level(void) { return CS_CPU_NATIVE; }
int cs_cpu_vnni(void) { return 0; }
#endif

int cs_isa_request(void) {
#if defined(CS_FREESTANDING)
    return 0;  /* no environment */
#else
    const char *v = getenv("SWANN_ISA");
    if (!v || !*v) return 0;
    if (!strcmp(v, "avx512")) return CS_CPU_AVX512;
    if (!strcmp(v, "avx2")) return CS_CPU_AVX2;
    if (!strcmp(v, "baseline")) return CS_CPU_BASELINE;
    return -1;
#endif
}
