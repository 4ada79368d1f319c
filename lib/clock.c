/*
 * clock.c - CLOCK_MONOTONIC in microseconds and milliseconds: the one
 * place the timers of the metrics, the state file, the memory store's
 * dump, the Redis connection pool and the tests read it.
 *
 * Memory: none. Thread-safety: clock_gettime is; so is this.
 */
#include <time.h>

#include "clock.h"

/* clock_mono_us - CLOCK_MONOTONIC in microseconds */
uint64_t
clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* clock_mono_ms - CLOCK_MONOTONIC in milliseconds */
uint64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
