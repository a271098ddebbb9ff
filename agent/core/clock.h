/* Wall and monotonic clocks in the units records and timers use. */
#ifndef WARD_CLOCK_H
#define WARD_CLOCK_H

#include <stdint.h>

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_wall_us(void);
/* Milliseconds on CLOCK_MONOTONIC; only differences are meaningful. */
uint64_t clock_mono_ms(void);

#endif
