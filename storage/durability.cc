#include "storage/durability.h"

namespace persist {

absl::string_view DurabilityName(Durability durability) {
  switch (durability) {
    case Durability::kMemory:
      return "MEMORY";
    case Durability::kAsync:
      return "ASYNC";
    case Durability::kWrite:
      return "WRITE";
    case Durability::kFsync:
      return "FSYNC";
  }
  return "UNKNOWN";
}

}  // namespace persist
