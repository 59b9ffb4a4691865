// Protobuf's own JSON functions and message comparison, as the oracle the
// codec tests check persist's JsonCodec against.
#ifndef PERSIST_TESTS_JSON_PROTOBUF_ORACLE_H_
#define PERSIST_TESTS_JSON_PROTOBUF_ORACLE_H_

#include <string>

#include "google/protobuf/message.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"

namespace persist::testing {

// google::protobuf::util::MessageToJsonString with default options.
inline bool ProtobufToJson(const google::protobuf::Message& message,
                           std::string* json, std::string* error) {
  auto status = google::protobuf::util::MessageToJsonString(message, json);
  if (!status.ok()) *error = status.ToString();
  return status.ok();
}

// google::protobuf::util::JsonStringToMessage with default options.
inline bool ProtobufFromJson(const std::string& json,
                             google::protobuf::Message* message,
                             std::string* error) {
  auto status = google::protobuf::util::JsonStringToMessage(json, message);
  if (!status.ok()) *error = status.ToString();
  return status.ok();
}

// Field-by-field equality that treats maps as maps, unpacks Any, and counts
// NaN equal to NaN. -0.0 equals 0.0 here; tests of sign check it directly.
inline bool Equivalent(const google::protobuf::Message& a,
                       const google::protobuf::Message& b, std::string* diff) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  differencer.ReportDifferencesToString(diff);
  return differencer.Compare(a, b);
}

}  // namespace persist::testing

#endif  // PERSIST_TESTS_JSON_PROTOBUF_ORACLE_H_
