// ResidentBytes and ReleaseFreeMemory on the allocator the tests run on
// (glibc's malloc; the sanitizers' in their builds).
#include "base/free_memory.h"

#include <cstring>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace persist {
namespace {

constexpr int64_t kMiB = 1 << 20;

TEST(FreeMemoryTest, ResidentBytesCountsMemoryTouched) {
  const int64_t before = ResidentBytes();
  ASSERT_GT(before, 0);
  constexpr size_t kBytes = 64 * kMiB;
  std::unique_ptr<char[]> block(new char[kBytes]);
  std::memset(block.get(), 1, kBytes);  // resident once written
  EXPECT_GE(ResidentBytes() - before, 60 * kMiB);
  EXPECT_EQ(block[kBytes - 1], 1);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PERSIST_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PERSIST_SANITIZER_ALLOCATOR 1
#endif
#endif

#ifndef PERSIST_SANITIZER_ALLOCATOR
// What an open leaves: many small blocks, all freed, that malloc keeps.
// (The sanitizers' allocators keep freed memory in quarantine by design.)
TEST(FreeMemoryTest, ReleaseReturnsWhatManySmallFreedBlocksHeld) {
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < 400000; ++i) {  // about 100 MB of 200-byte blocks
    blocks.emplace_back(new char[200]);
    std::memset(blocks.back().get(), 1, 200);
  }
  // Every 64th block stays live, as the values of an open do among the
  // freed decoding buffers: malloc cannot shrink its heap past them, and
  // keeps the free pages between them.
  std::vector<std::unique_ptr<char[]>> live;
  for (size_t i = 0; i < blocks.size(); i += 64) {
    live.push_back(std::move(blocks[i]));
  }
  blocks.clear();
  blocks.shrink_to_fit();
  const int64_t freed_but_kept = ResidentBytes();
  ReleaseFreeMemory();
  EXPECT_LE(ResidentBytes(), freed_but_kept - 40 * kMiB);
  EXPECT_EQ(live.back()[199], 1);
}
#endif

}  // namespace
}  // namespace persist
