// Allocation counting by symbol interposition. The test executable defines malloc, calloc,
// realloc, free, posix_memalign, aligned_alloc and memalign. The linker puts these in the
// executable's dynamic symbol table (no --export-dynamic needed: libc.so and libswiftCore.so
// use them), and the executable comes first in the dynamic linker's lookup order, so every
// caller in the process (libswiftCore's swift_slowAlloc, Foundation, swift-crypto, glibc's own
// internal calls) reaches these. They forward to the entry points glibc exports for this
// purpose (__libc_malloc and friends): all memory comes from and returns to glibc's allocator;
// only the counting is added. AllocationTests.counterSeesAnArrayAllocation fails if a
// toolchain ever stops routing allocations here.
//
// Counting is switched on per thread (a thread-local flag in the executable's static TLS
// block: no call, no allocation to reach it), so a test counts its own loop and not the other
// suites running beside it; one thread counts at a time. The counts are C11 atomics, relaxed.
#define _GNU_SOURCE
#include "CAllocationCounter.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#if defined(__linux__) && defined(__GLIBC__)

#include <execinfo.h>
#include <malloc.h>
#include <stdatomic.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);

static _Atomic uint64_t allocations;
static _Atomic uint64_t frees;
/// Counted allocations still to trace.
static _Atomic int tracesLeft;
/// Initial-exec: the flags live in the executable's static TLS block, reached without a call
/// that could itself allocate.
static _Thread_local int counting __attribute__((tls_model("initial-exec")));
/// Set while a backtrace is written: backtrace() may allocate on its first call.
static _Thread_local int inTrace __attribute__((tls_model("initial-exec")));

/// Frames written per traced allocation: enough to reach the Swift caller through the
/// runtime's swift_allocObject / swift_slowAlloc.
enum { traceDepth = 24 };

static void trace(void) {
    if (inTrace) return;
    inTrace = 1;
    void *frames[traceDepth];
    int depth = backtrace(frames, traceDepth);
    static const char separator[] = "---- allocation\n";
    (void)!write(STDERR_FILENO, separator, sizeof separator - 1);
    backtrace_symbols_fd(frames, depth, STDERR_FILENO);
    inTrace = 0;
}

static inline void countAllocation(void) {
    if (!counting) return;
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    if (atomic_load_explicit(&tracesLeft, memory_order_relaxed) > 0
        && atomic_fetch_sub_explicit(&tracesLeft, 1, memory_order_relaxed) > 0)
        trace();
}

void *malloc(size_t size) {
    countAllocation();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    countAllocation();
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    countAllocation();
    return __libc_realloc(pointer, size);
}

void free(void *pointer) {
    if (pointer != NULL && counting) atomic_fetch_add_explicit(&frees, 1, memory_order_relaxed);
    __libc_free(pointer);
}

void *memalign(size_t alignment, size_t size) {
    countAllocation();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    countAllocation();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    // POSIX: a power of two and a multiple of sizeof(void *).
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    countAllocation();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

int mp_allocations_supported(void) { return 1; }

void mp_allocations_start(void) {
    atomic_store_explicit(&allocations, 0, memory_order_relaxed);
    atomic_store_explicit(&frees, 0, memory_order_relaxed);
    counting = 1;
}

void mp_allocations_stop(void) { counting = 0; }

uint64_t mp_allocations_count(void) { return atomic_load_explicit(&allocations, memory_order_relaxed); }

uint64_t mp_frees_count(void) { return atomic_load_explicit(&frees, memory_order_relaxed); }

void mp_allocations_trace(int limit) {
    if (limit > 0) {
        // Load libgcc's unwinder now, outside any counted allocation.
        void *frames[1];
        (void)backtrace(frames, 1);
    }
    atomic_store_explicit(&tracesLeft, limit, memory_order_relaxed);
}

#else

int mp_allocations_supported(void) { return 0; }
void mp_allocations_start(void) {}
void mp_allocations_stop(void) {}
uint64_t mp_allocations_count(void) { return 0; }
uint64_t mp_frees_count(void) { return 0; }
void mp_allocations_trace(int limit) { (void)limit; }

#endif
