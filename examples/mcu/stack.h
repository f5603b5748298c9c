/* Stack high-water mark: a region below the caller's frame is painted with a pattern,
 * and the deepest byte no longer holding it after the measured calls is the depth.
 * The region (STACK_PAINT, 256 KB) is far below the RAM the firmware has (4 MB). */
#ifndef MCU_STACK_H
#define MCU_STACK_H
#include <stddef.h>

#define STACK_PAINT (256u * 1024u)
static unsigned char *paint_low;

/* Paints the region below this call's frame; call from a frame no deeper than the calls measured. */
__attribute__((noinline)) static void stack_paint(void) {
    unsigned char *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    paint_low = sp - 256 - STACK_PAINT;
    for (size_t i = 0; i < STACK_PAINT; i++) ((volatile unsigned char *)paint_low)[i] = 0xA5;
}

/* Bytes of the painted region used since stack_paint. */
static size_t stack_used(void) {
    size_t i = 0;
    while (i < STACK_PAINT && paint_low[i] == 0xA5) i++;
    return STACK_PAINT - i;
}
#endif
