// What go-persist cannot read in a file persist reads (DESIGN.md section
// 3): Go's encoding/json decodes a float64 or float32 only from a JSON
// number, and proto3 JSON writes NaN and the infinities as strings, so one
// such value makes go-persist refuse the whole file.
#ifndef PERSIST_STORAGE_INTERNAL_GO_PERSIST_COMPAT_H_
#define PERSIST_STORAGE_INTERNAL_GO_PERSIST_COMPAT_H_

#include <string>

#include "google/protobuf/message.h"

namespace persist {

// The first float or double of `message` (nested messages, repeated fields
// and map values included) that holds NaN or an infinity, as a field path
// with its value ("scores[2] = NaN"); empty if there is none.
std::string FindNonFiniteNumber(const google::protobuf::Message& message);

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_GO_PERSIST_COMPAT_H_
