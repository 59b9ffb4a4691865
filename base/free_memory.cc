#include "base/free_memory.h"

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>

namespace persist {

int64_t ResidentBytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  long long size_pages = 0;
  long long resident_pages = 0;
  const int read =
      std::fscanf(statm, "%lld %lld", &size_pages, &resident_pages);
  std::fclose(statm);
  if (read != 2) return 0;
  return static_cast<int64_t>(resident_pages) * ::sysconf(_SC_PAGESIZE);
}

void ReleaseFreeMemory() {
  // Looked up rather than linked: the same binary may run on glibc's malloc
  // (sanitizer builds, PERSIST_TCMALLOC=OFF) or with tcmalloc preloaded.
  // gperftools' C API, from malloc_extension_c.h.
  using Release = void (*)();
  if (auto release = reinterpret_cast<Release>(
          ::dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory"))) {
    release();
    return;
  }
  ::malloc_trim(0);
}

}  // namespace persist
