/*
 * clock.h - the monotonic clock, for timing and schedules (never for
 * windows: the stores count on store_clock_real or an injected clock).
 */
#ifndef SLUICE_CLOCK_H
#define SLUICE_CLOCK_H

#include <stdint.h>

/* clock_mono_us - CLOCK_MONOTONIC in microseconds */
uint64_t	clock_mono_us(void);

/* clock_mono_ms - CLOCK_MONOTONIC in milliseconds */
uint64_t	clock_mono_ms(void);

#endif
