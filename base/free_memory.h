// Handing the memory malloc keeps free back to the operating system.
//
// Opening a store allocates far more than it keeps: every record's JSON
// document, decode buffers and the scan's record list are freed once the
// values are in place. tcmalloc keeps such freed pages in its caches for
// reuse, so a process that has just opened a store of many small values
// stays about 1.5x as large as its live data (bench/README.md, load_bench).
// Calling this once the open is done returns those pages.
#ifndef PERSIST_BASE_FREE_MEMORY_H_
#define PERSIST_BASE_FREE_MEMORY_H_

#include <cstdint>

namespace persist {

// The process's resident set, in bytes (/proc/self/statm); 0 if unknown.
int64_t ResidentBytes();

// Returns free memory to the system: tcmalloc's free pages when tcmalloc is
// the allocator (linked in or preloaded), glibc's free arena tops and
// whole free pages otherwise. Costs milliseconds for a large heap; call it
// after bulk work, not on a hot path. Thread-safe.
void ReleaseFreeMemory();

}  // namespace persist

#endif  // PERSIST_BASE_FREE_MEMORY_H_
