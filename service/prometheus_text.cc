#include "service/prometheus_text.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace persist::service {
namespace {

// Integers (counts, bytes) without an exponent up to 2^53; other values in
// the shortest %g form that is exact.
std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // The shortest form that reads back as the same double: bucket bounds
  // such as 0.0001 stay readable.
  std::string text;
  for (int precision = 15; precision <= 17; ++precision) {
    text = absl::StrFormat("%.*g", precision, value);
    if (std::strtod(text.c_str(), nullptr) == value) break;
  }
  return text;
}

// HELP text escapes backslash and newline; label values also the quote.
void AppendEscaped(absl::string_view text, bool quote, std::string* out) {
  for (char c : text) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && quote) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace

void PrometheusText::Family(absl::string_view name, absl::string_view type,
                            absl::string_view help) {
  absl::StrAppend(&text_, "# HELP ", name, " ");
  AppendEscaped(help, /*quote=*/false, &text_);
  absl::StrAppend(&text_, "\n# TYPE ", name, " ", type, "\n");
}

void PrometheusText::AppendLabels(const Labels& labels, absl::string_view le) {
  if (labels.empty() && le.empty()) return;
  text_.push_back('{');
  bool first = true;
  for (const auto& [label, value] : labels) {
    if (!first) text_.push_back(',');
    first = false;
    absl::StrAppend(&text_, label, "=\"");
    AppendEscaped(value, /*quote=*/true, &text_);
    text_.push_back('"');
  }
  if (!le.empty()) absl::StrAppend(&text_, first ? "" : ",", "le=\"", le, "\"");
  text_.push_back('}');
}

void PrometheusText::Sample(absl::string_view name, const Labels& labels,
                            double value) {
  text_.append(name.data(), name.size());
  AppendLabels(labels, "");
  absl::StrAppend(&text_, " ", FormatValue(value), "\n");
}

void PrometheusText::Histogram(absl::string_view name, const Labels& labels,
                               const HistogramSnapshot& histogram) {
  const std::string bucket = absl::StrCat(name, "_bucket");
  for (size_t i = 0; i < histogram.upper_bounds.size(); ++i) {
    text_.append(bucket);
    AppendLabels(labels, FormatValue(histogram.upper_bounds[i]));
    absl::StrAppend(&text_, " ", histogram.cumulative[i], "\n");
  }
  text_.append(bucket);
  AppendLabels(labels, "+Inf");
  absl::StrAppend(&text_, " ", histogram.count, "\n");
  Sample(absl::StrCat(name, "_sum"), labels, histogram.sum);
  Sample(absl::StrCat(name, "_count"), labels,
         static_cast<double>(histogram.count));
}

}  // namespace persist::service
