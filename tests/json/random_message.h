// RandomMessageFiller: fills any message with random contents through
// reflection, for differential tests of the JSON codec.
//
// Values lean towards the edges that break codecs: integer limits, -0, NaN,
// infinities, subnormals, control characters and 4-byte UTF-8 in strings,
// empty containers, unknown enum numbers, every well-known type. Everything
// it produces has a proto3 JSON form (valid UTF-8, in-range timestamps,
// finite numbers inside google.protobuf.Value, FieldMask paths that map to
// lowerCamelCase), so that both codecs must accept it.
#ifndef PERSIST_TESTS_JSON_RANDOM_MESSAGE_H_
#define PERSIST_TESTS_JSON_RANDOM_MESSAGE_H_

#include <cstdint>
#include <random>
#include <string>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace persist::testing {

class RandomMessageFiller {
 public:
  // `max_depth` bounds message nesting, which keeps recursive types finite.
  RandomMessageFiller(uint64_t seed, int max_depth)
      : rng_(seed), max_depth_(max_depth) {}

  void Fill(google::protobuf::Message* message) { FillMessage(message, 0); }

 private:
  using Message = google::protobuf::Message;
  using FieldDescriptor = google::protobuf::FieldDescriptor;

  void FillMessage(Message* message, int depth);
  void FillField(Message* message, const FieldDescriptor* field, int depth);
  // Sets the singular field, or adds one element to the repeated field.
  void FillValue(Message* message, const FieldDescriptor* field, int depth);
  bool FillWellKnown(Message* message, int depth);
  void FillStructValue(Message* value, int depth);
  void FillAny(Message* any, int depth);

  int32_t Int32();
  int64_t Int64();
  uint32_t UInt32();
  uint64_t UInt64();
  double Double();
  float Float();
  double FiniteDouble();
  std::string Utf8String();
  std::string Bytes();
  std::string LowerWord();

  bool OneIn(int n) { return Uniform(0, n - 1) == 0; }
  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }

  std::mt19937_64 rng_;
  const int max_depth_;
};

}  // namespace persist::testing

#endif  // PERSIST_TESTS_JSON_RANDOM_MESSAGE_H_
