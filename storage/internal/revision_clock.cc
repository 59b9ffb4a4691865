#include "storage/internal/revision_clock.h"

#include <random>

namespace persist {

uint64_t RevisionClock::RandomEpoch() {
  std::random_device random;
  return (static_cast<uint64_t>(random()) << 32) ^ random();
}

}  // namespace persist
