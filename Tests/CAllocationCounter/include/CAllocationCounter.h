// Counts heap allocations made by one thread, for tests that prove a loop allocates nothing
// per datagram. Linked into the test executable only (never into mpclient or mpserver): it
// defines malloc and its siblings there, which the dynamic linker then prefers over glibc's
// for the whole test process (the Swift runtime and every library included), and forwards
// each call to glibc's own allocator (__libc_malloc and friends).
#ifndef C_ALLOCATION_COUNTER_H
#define C_ALLOCATION_COUNTER_H

#include <stdint.h>

/// 1 when this build interposes the allocator (Linux with glibc), 0 when the other
/// functions do nothing (the counts then stay 0 and tests should be skipped).
int mp_allocations_supported(void);

/// Zeroes the counts and starts counting the calling thread's allocations and frees.
/// Other threads are never counted: tests run in parallel in one process.
void mp_allocations_start(void);

/// Stops counting on the calling thread; the counts keep their values.
void mp_allocations_stop(void);

/// Allocations counted since the last start: calls of malloc, calloc, realloc,
/// posix_memalign, aligned_alloc and memalign.
uint64_t mp_allocations_count(void);

/// Calls of free with a non-null pointer counted since the last start.
uint64_t mp_frees_count(void);

/// Writes a backtrace of each of the next `limit` counted allocations to standard error
/// (backtrace_symbols_fd, which does not allocate); 0 stops. A tool for finding allocation
/// sites, not for tests that should pass quietly.
void mp_allocations_trace(int limit);

#endif
