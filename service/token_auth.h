// Bearer tokens (DESIGN.md section 6): a file of "<token> read" or
// "<token> write" lines (blank lines and lines starting with '#' ignored).
// A call carries "authorization: Bearer <token>"; read tokens may call
// Get, List, Stats and ListMaps, write tokens everything.
//
// Thread-safety: const methods may be called concurrently.
#ifndef PERSIST_SERVICE_TOKEN_AUTH_H_
#define PERSIST_SERVICE_TOKEN_AUTH_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace persist::service {

class TokenAuth {
 public:
  // InvalidArgument naming the line of a malformed file.
  static absl::StatusOr<std::unique_ptr<TokenAuth>> FromFile(
      const std::string& path);
  static absl::StatusOr<std::unique_ptr<TokenAuth>> FromText(
      absl::string_view text, absl::string_view source);

  // OK, Unauthenticated (no or unknown token) or PermissionDenied (a read
  // token on a write).
  absl::Status Check(const grpc::CallbackServerContext& context,
                     bool write) const;

 private:
  absl::flat_hash_map<std::string, bool> can_write_;  // by token
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_TOKEN_AUTH_H_
