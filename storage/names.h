// Validation of map names and keys (DESIGN.md section 2).
//
// Map names: up to 128 characters of [A-Za-z0-9_.-]; never ':', which
// separates the map from the key in the WAL. The empty name is go-persist's
// single map (OpenSingleMap writes "S :key"), so that its files are served,
// not only kept.
// Keys: 1 to 4096 bytes of valid UTF-8 without control characters
// (U+0000-U+001F, U+007F-U+009F), so that a key always fits on one WAL line.
// Keys may contain ':'.
#ifndef PERSIST_STORAGE_NAMES_H_
#define PERSIST_STORAGE_NAMES_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace persist {

inline constexpr size_t kMaxMapNameLength = 128;
inline constexpr size_t kMaxKeyBytes = 4096;

// InvalidArgument naming the offending byte position, or OK.
absl::Status ValidateMapName(absl::string_view name);
absl::Status ValidateKey(absl::string_view key);

// `key` quoted for messages: escaped, and cut after 200 bytes ("...\"").
std::string QuotedKey(absl::string_view key);

}  // namespace persist

#endif  // PERSIST_STORAGE_NAMES_H_
