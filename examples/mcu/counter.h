/* Instructions on QEMU's mps2-an386 run with -icount shift=0, where virtual time
 * advances one nanosecond per instruction: the board's CMSDK APB timer 0 (0x40000000,
 * counting down at the 25 MHz system clock) read before and after. QEMU models no DWT
 * cycle counter. The ratio (about 40 instructions a tick) is calibrated at start-up on
 * a loop of known length, and a measurement averages many runs, so one tick's
 * resolution spreads thin. On hardware these are cycles, not instructions. */
#ifndef MCU_COUNTER_H
#define MCU_COUNTER_H
#include <stdint.h>

#define TIMER0_CTRL   (*(volatile uint32_t *)0x40000000u)
#define TIMER0_VALUE  (*(volatile uint32_t *)0x40000004u)
#define TIMER0_RELOAD (*(volatile uint32_t *)0x40000008u)

static double instructions_per_tick;

static inline uint32_t ticks(void) { return ~TIMER0_VALUE; } /* counts up */

static void counter_start(void) {
    TIMER0_CTRL = 0;
    TIMER0_RELOAD = 0xFFFFFFFFu;
    TIMER0_VALUE = 0xFFFFFFFFu;
    TIMER0_CTRL = 1;
    /* 2,000,000 instructions: subs + bne, a million times */
    uint32_t n = 1000000u, t0 = ticks();
    __asm volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(n) : : "cc");
    uint32_t t1 = ticks();
    instructions_per_tick = t1 > t0 ? 2000000.0 / (double)(t1 - t0) : 0;
}

/* Instructions between two ticks() readings. */
static double instructions(uint32_t t0, uint32_t t1) { return (double)(t1 - t0) * instructions_per_tick; }
#endif
