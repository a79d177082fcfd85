// Counts the heap allocations of one thread, for the tests' "a training step allocates
// nothing" check. Linking this target interposes malloc, calloc, realloc, memalign,
// aligned_alloc and posix_memalign for the whole test process (they forward to glibc's
// __libc_* functions); counting is per thread and off until malloc_counter_start().
#pragma once

/// Starts counting the calling thread's allocations from zero.
void malloc_counter_start(void);

/// Stops counting and returns the number of allocations the calling thread made since
/// malloc_counter_start().
long malloc_counter_stop(void);
