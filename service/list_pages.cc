#include "service/list_pages.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "service/any_values.h"
#include "service/expiry_proto.h"
#include "service/message_limits.h"

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

absl::Status FillPage(const DynamicMap& map, absl::string_view prefix,
                      absl::string_view after, int size, size_t max_reply_bytes,
                      v1::ListResponse* response) {
  const size_t budget = max_reply_bytes > kPageTokenRoomBytes
                            ? max_reply_bytes - kPageTokenRoomBytes
                            : 0;
  size_t used = 0;
  bool more = false;
  absl::Status status;
  PERSIST_RETURN_IF_ERROR(map.Scan(
      prefix, after,
      [&](absl::string_view key, const Entry<google::protobuf::Message>& e) {
        if (response->entries_size() == size) {
          more = true;  // one past the page: another page follows
          return false;
        }
        v1::Entry* entry = response->add_entries();
        entry->set_key(std::string(key));
        PackValue(*e.value, entry->mutable_value());
        entry->set_etag(e.etag.ToString());
        entry->set_mod_revision(static_cast<int64_t>(e.etag.revision));
        SetExpireTime(e.expires, entry);
        // Its field in the reply: a tag byte, its length, its bytes.
        const size_t bytes = entry->ByteSizeLong();
        const size_t framed =
            1 + google::protobuf::io::CodedOutputStream::VarintSize64(bytes) +
            bytes;
        if (used + framed > budget) {
          response->mutable_entries()->RemoveLast();
          if (response->entries_size() == 0) {
            status = ValueTooLargeForReplyError(map.name(), key, bytes, budget);
          } else {
            more = true;
          }
          return false;
        }
        used += framed;
        return true;
      }));
  PERSIST_RETURN_IF_ERROR(status);
  if (more) {
    response->set_next_page_token(EncodePageToken(
        {map.name(), std::string(prefix),
         response->entries(response->entries_size() - 1).key()}));
  }
  return absl::OkStatus();
}

}  // namespace persist::service
