/* Startup for QEMU's mps2-an386 (Cortex-M4F): the vector table, and a reset handler
 * that turns on the FPU, copies .data, clears .bss, sets up picolibc's thread-local
 * block (its errno) and calls main; its status leaves through semihosting (exit). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern uint32_t __stack_top, __data_start, __data_end, __data_load, __bss_start, __bss_end;
extern char __tdata_start, __tdata_end, __tbss_start, __tbss_end, __tls_block;
extern void _set_tls(void *tls);
extern void (*const __init_array_start[])(void), (*const __init_array_end[])(void);
int main(void);

void reset_handler(void) {
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;  /* CPACR: CP10, CP11 full access */
    __asm volatile("dsb\n isb");
    memcpy(&__data_start, &__data_load, (size_t)((char *)&__data_end - (char *)&__data_start));
    memset(&__bss_start, 0, (size_t)((char *)&__bss_end - (char *)&__bss_start));
    size_t tdata = (size_t)(&__tdata_end - &__tdata_start), tbss = (size_t)(&__tbss_end - &__tbss_start);
    memcpy(&__tls_block, &__tdata_start, tdata);
    memset(&__tls_block + tdata, 0, tbss);
    _set_tls(&__tls_block);
    /* the constructors: Swift's globals with computed initial values among them */
    for (void (*const *f)(void) = __init_array_start; f < __init_array_end; f++) (*f)();
    exit(main());
}

/* A fault ends the run with a status the Makefile sees as failure, after naming where. */
static void fault_handler(void) {
    uint32_t *frame;
    __asm volatile("mrs %0, msp" : "=r"(frame));
    printf("fault: pc 0x%08lx lr 0x%08lx cfsr 0x%08lx\n", (unsigned long)frame[6], (unsigned long)frame[5],
           (unsigned long)*(volatile uint32_t *)0xE000ED28);
    exit(3);
}

__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))&__stack_top, reset_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, fault_handler, 0, 0, 0, 0, fault_handler, fault_handler, 0, fault_handler,
    fault_handler,
};
