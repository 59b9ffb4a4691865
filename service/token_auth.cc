#include "service/token_auth.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace persist::service {

absl::StatusOr<std::unique_ptr<TokenAuth>> TokenAuth::FromFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read tokens file ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return FromText(text.str(), path);
}

absl::StatusOr<std::unique_ptr<TokenAuth>> TokenAuth::FromText(
    absl::string_view text, absl::string_view source) {
  auto auth = std::unique_ptr<TokenAuth>(new TokenAuth());
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    const std::vector<absl::string_view> parts =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (parts.size() != 2 || (parts[1] != "read" && parts[1] != "write")) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " line ", line_number,
                       ": expected \"<token> read\" or \"<token> write\""));
    }
    auth->can_write_[parts[0]] = parts[1] == "write";
  }
  if (auth->can_write_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, " holds no token; every call would be refused"));
  }
  return auth;
}

absl::Status TokenAuth::Check(const grpc::CallbackServerContext& context,
                              bool write) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        "this server needs a token: send \"authorization: Bearer <token>\"");
  }
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::ConsumePrefix(&value, "Bearer ")) {
    return absl::UnauthenticatedError(
        "the authorization header must be \"Bearer <token>\"");
  }
  auto token = can_write_.find(value);
  if (token == can_write_.end()) {
    return absl::UnauthenticatedError("unknown token");
  }
  if (write && !token->second) {
    return absl::PermissionDeniedError(
        "this token may only read (Get, List, Stats, ListMaps)");
  }
  return absl::OkStatus();
}

}  // namespace persist::service
