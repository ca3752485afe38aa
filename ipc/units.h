/* units.h - time units, so that no duration in the code is a bare count of
 * nanoseconds. All CLOCK_MONOTONIC durations in shmix are uint64_t ns. */
#ifndef SHX_UNITS_H
#define SHX_UNITS_H

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

#define US_NS(x) ((uint64_t)(x) * NS_PER_US)   /* x microseconds, in ns */
#define MS_NS(x) ((uint64_t)(x) * NS_PER_MS)   /* x milliseconds, in ns */
#define S_NS(x) ((uint64_t)(x) * NS_PER_S)     /* x seconds, in ns */

#endif
