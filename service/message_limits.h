// How big persistd's messages may be (DESIGN.md section 6).
//
// Requests are limited to max_message_bytes (limits.maxMessageBytes,
// default 4 MiB). Replies may be larger by a fixed headroom: a value that
// Set accepted must always be readable by Get and List, and a reply
// carries its value with an envelope (etag, found, a longer type URL than
// the client sent) that the request did not have. List stops a page before
// it would pass the reply limit (its token continues), keeping room for the
// page token.
#ifndef PERSIST_SERVICE_MESSAGE_LIMITS_H_
#define PERSIST_SERVICE_MESSAGE_LIMITS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace persist::service {

inline constexpr int kDefaultMaxMessageBytes = 4 << 20;
// Far more than any envelope: an etag, a key of up to 4 KiB, a type URL.
inline constexpr int kReplyHeadroomBytes = 64 << 10;
// What a List reply keeps free for its next_page_token (map, prefix and
// key, base64-encoded), its header and its own framing.
inline constexpr size_t kPageTokenRoomBytes = 16 << 10;

// The reply limit for a request limit of `max_request_bytes`.
constexpr int MaxReplyBytes(int max_request_bytes) {
  return max_request_bytes + kReplyHeadroomBytes;
}

// ResourceExhausted: the answer for `key` in `map` (its entry, or the whole
// reply), `bytes` long, does not fit in `limit` bytes; says which limit to
// raise.
absl::Status ValueTooLargeForReplyError(absl::string_view map,
                                        absl::string_view key, size_t bytes,
                                        size_t limit);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_MESSAGE_LIMITS_H_
