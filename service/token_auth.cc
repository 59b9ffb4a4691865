#include "service/token_auth.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace persist::service {
namespace {

// Whether `a` equals `b`, looking at every byte of the longer whatever the
// bytes are: the time depends on the lengths only.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  size_t differ = a.size() ^ b.size();
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    differ |= x ^ y;
  }
  return differ == 0;
}

}  // namespace

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
  absl::flat_hash_map<std::string, int> line_of;  // token -> its line
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
    auto [first, inserted] = line_of.try_emplace(parts[0], line_number);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " lines ", first->second, " and ", line_number,
                       " hold the same token; give each token one line"));
    }
    auth->tokens_.push_back({std::string(parts[0]), parts[1] == "write"});
  }
  if (auth->tokens_.empty()) {
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
  bool known = false;
  bool can_write = false;
  for (const Token& token : tokens_) {  // all of them, never stopping early
    const bool equal = ConstantTimeEquals(value, token.token);
    known |= equal;
    can_write |= equal && token.can_write;
  }
  if (!known) return absl::UnauthenticatedError("unknown token");
  if (write && !can_write) {
    return absl::PermissionDeniedError(
        "this token may only read (Get, List, Stats, ListMaps)");
  }
  return absl::OkStatus();
}

}  // namespace persist::service
