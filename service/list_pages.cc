#include "service/list_pages.h"

#include <algorithm>
#include <queue>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace persist::service {
namespace {

constexpr absl::string_view kVersion = "p1:";

absl::Status BadToken() {
  return absl::InvalidArgumentError(
      "page_token is not one that List returned; start again with an empty "
      "page_token");
}

// "<length>:<bytes>" pieces, so that any bytes fit.
void AppendPiece(absl::string_view piece, std::string* out) {
  absl::StrAppend(out, piece.size(), ":", piece);
}

bool TakePiece(absl::string_view* in, std::string* piece) {
  const size_t colon = in->find(':');
  size_t length = 0;
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(in->substr(0, colon), &length) ||
      in->size() - colon - 1 < length) {
    return false;
  }
  *piece = std::string(in->substr(colon + 1, length));
  in->remove_prefix(colon + 1 + length);
  return true;
}

}  // namespace

std::string EncodePageToken(const PageToken& token) {
  std::string raw(kVersion);
  AppendPiece(token.map, &raw);
  AppendPiece(token.prefix, &raw);
  AppendPiece(token.after, &raw);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<PageToken> DecodePageToken(absl::string_view text) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(text, &raw)) return BadToken();
  absl::string_view in = raw;
  if (!absl::ConsumePrefix(&in, kVersion)) return BadToken();
  PageToken token;
  if (!TakePiece(&in, &token.map) || !TakePiece(&in, &token.prefix) ||
      !TakePiece(&in, &token.after) || !in.empty()) {
    return BadToken();
  }
  return token;
}

absl::StatusOr<Page> CollectPage(const DynamicMap& map,
                                 absl::string_view prefix,
                                 absl::string_view after, int size) {
  using Item = std::pair<std::string, Entry<google::protobuf::Message>>;
  const auto by_key = [](const Item& a, const Item& b) {
    return a.first < b.first;
  };
  // A max-heap of the size+1 smallest keys seen: one more than the page
  // tells whether another page follows.
  std::priority_queue<Item, std::vector<Item>, decltype(by_key)> smallest(
      by_key);
  const size_t keep = static_cast<size_t>(size) + 1;
  absl::Status status = map.Range(
      [&](absl::string_view key, const Entry<google::protobuf::Message>& e) {
        if (!absl::StartsWith(key, prefix) || key <= after) return true;
        if (smallest.size() == keep) {
          if (key >= smallest.top().first) return true;
          smallest.pop();
        }
        smallest.push({std::string(key), e});
        return true;
      });
  if (!status.ok()) return status;
  Page page;
  page.entries.reserve(smallest.size());
  while (!smallest.empty()) {
    page.entries.push_back(smallest.top());
    smallest.pop();
  }
  std::reverse(page.entries.begin(), page.entries.end());
  if (page.entries.size() == keep) {
    page.entries.pop_back();
    page.more = true;
  }
  return page;
}

}  // namespace persist::service
