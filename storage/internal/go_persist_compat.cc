#include "storage/internal/go_persist_compat.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"

namespace persist {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string NonFinite(double value) {
  if (std::isnan(value)) return "NaN";
  return value > 0 ? "Infinity" : "-Infinity";
}

// Element `index` of `field` (-1: the singular value), if it is a float or
// double that is not finite.
bool IsNonFinite(const Message& message, const FieldDescriptor* field,
                 int index, double* value) {
  const Reflection* r = message.GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE:
      *value = index < 0 ? r->GetDouble(message, field)
                         : r->GetRepeatedDouble(message, field, index);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      *value = index < 0 ? r->GetFloat(message, field)
                         : r->GetRepeatedFloat(message, field, index);
      break;
    default:
      return false;
  }
  return !std::isfinite(*value);
}

bool Find(const Message& message, const std::string& prefix,
          std::string* found) {
  std::vector<const FieldDescriptor*> fields;
  const Reflection* r = message.GetReflection();
  r->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string path = prefix.empty()
                                 ? field->name()
                                 : absl::StrCat(prefix, ".", field->name());
    const int size = field->is_repeated() ? r->FieldSize(message, field) : 1;
    for (int i = 0; i < size; ++i) {
      const int index = field->is_repeated() ? i : -1;
      const std::string element =
          field->is_repeated() ? absl::StrCat(path, "[", i, "]") : path;
      double value = 0;
      if (IsNonFinite(message, field, index, &value)) {
        *found = absl::StrCat(element, " = ", NonFinite(value));
        return true;
      }
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        const Message& child = index < 0
                                   ? r->GetMessage(message, field)
                                   : r->GetRepeatedMessage(message, field, i);
        if (Find(child, element, found)) return true;
      }
    }
  }
  return false;
}

}  // namespace

std::string FindNonFiniteNumber(const Message& message) {
  std::string found;
  Find(message, "", &found);
  return found;
}

}  // namespace persist
