// Bearer tokens (DESIGN.md section 6): a file of "<token> read" or
// "<token> write" lines (blank lines and lines starting with '#' ignored).
// A call carries "authorization: Bearer <token>"; read tokens may call
// Get, List, Stats and ListMaps, write tokens everything. Tokens are
// compared in constant time (every token, every byte), so that a caller
// cannot learn one a byte at a time from how long a refusal takes.
//
// Thread-safety: const methods may be called concurrently.
#ifndef PERSIST_SERVICE_TOKEN_AUTH_H_
#define PERSIST_SERVICE_TOKEN_AUTH_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace persist::service {

class TokenAuth {
 public:
  // InvalidArgument naming the line of a malformed file, or both lines of a
  // token listed twice.
  static absl::StatusOr<std::unique_ptr<TokenAuth>> FromFile(
      const std::string& path);
  static absl::StatusOr<std::unique_ptr<TokenAuth>> FromText(
      absl::string_view text, absl::string_view source);

  // OK, Unauthenticated (no or unknown token) or PermissionDenied (a read
  // token on a write).
  absl::Status Check(const grpc::CallbackServerContext& context,
                     bool write) const;

 private:
  struct Token {
    std::string token;
    bool can_write;
  };
  std::vector<Token> tokens_;
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_TOKEN_AUTH_H_
