// A typed C++ client of persistd (DESIGN.md section 7).
//
//   persist::client::ConnectOptions tls;
//   tls.tls_ca_file = "ca.pem";  // TLS; add tls_cert_file, tls_key_file
//   tls.token = "s3cret";        // for mutual TLS, token for tokens_file
//   absl::StatusOr<std::unique_ptr<persist::client::Client>> client =
//       persist::client::Client::Connect("persist.internal:50051", tls);
//   if (!client.ok()) return;  // a file that cannot be read
//   auto users = (*client)->Map<example::v1::User>("users");
//   example::v1::User alice;
//   alice.set_name("Alice");
//   absl::StatusOr<persist::client::WriteResult> set =
//       users.Set("alice", alice, {.durability = persist::v1::FSYNC});
//   set = users.Set("visitor", alice, {.ttl = absl::Minutes(30)});  // expires
//   absl::StatusOr<std::optional<persist::client::Entry<example::v1::User>>>
//       got = users.Get("alice");
//
// (tests/headers compiles this example.) Every call
// returns absl::Status or absl::StatusOr, with the server's code and message
// (grpc::StatusCode and absl::StatusCode share their numbers). Each call has
// a deadline (10 s unless CallOptions says otherwise).
//
// Thread-safety: a Client and its maps may be used from many threads.
//
// Batch (clients/cpp/write_batch.h) writes atomically over several maps;
// Watch (clients/cpp/watch_call.h) streams a map's changes; CachedMap
// (clients/cpp/cached_map.h) keeps a typed local copy of a map up to date.
#ifndef PERSIST_CLIENTS_CPP_PERSIST_CLIENT_H_
#define PERSIST_CLIENTS_CPP_PERSIST_CLIENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clients/cpp/backup.h"
#include "grpcpp/grpcpp.h"
#include "persist/v1/persist.grpc.pb.h"

namespace persist::client {

struct CallOptions {
  // absl::InfiniteDuration() for none (WatchCall's streams).
  absl::Duration deadline = absl::Seconds(10);
  // DURABILITY_UNSPECIFIED: the server's default (WRITE unless configured).
  v1::Durability durability = v1::DURABILITY_UNSPECIFIED;
  v1::Precondition precondition;
  // Set and Update: the value's time to live (TTL); zero for none. A Set
  // without one never expires (and clears the key's expiry), an Update
  // without one keeps the key's.
  absl::Duration ttl = absl::ZeroDuration();
};

// Sets `request`'s ttl (a SetRequest or an UpdateRequest) unless `ttl` is
// zero.
template <typename Request>
void SetTtl(absl::Duration ttl, Request* request) {
  if (ttl == absl::ZeroDuration()) return;
  const int64_t nanos = absl::ToInt64Nanoseconds(ttl);
  request->mutable_ttl()->set_seconds(nanos / 1000000000);
  request->mutable_ttl()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

// The expire_time of `proto` (an Entry, a GetResponse, a WatchEvent), or
// null if it has none.
template <typename Proto>
const google::protobuf::Timestamp* ExpireTimeOf(const Proto& proto) {
  return proto.has_expire_time() ? &proto.expire_time() : nullptr;
}

// Revisions are the store's count of changes (DESIGN.md section 5); they
// start again at each restart of persistd, in a new epoch (the first part
// of etags).
template <typename T>
struct Entry {
  T value;
  std::string etag;
  int64_t mod_revision = 0;  // the revision of the entry's last change
  // When the value expires; InfiniteFuture if it does not (and after an
  // Update, whose answer does not say).
  absl::Time expire_time = absl::InfiniteFuture();
};

struct WriteResult {
  std::string etag;  // empty after a delete
  bool existed = false;
  int64_t revision = 0;  // the revision the write took
  std::string epoch;     // the epoch of `revision` (ResponseHeader.epoch)
};

template <typename T>
struct Page {
  std::vector<std::pair<std::string, Entry<T>>> entries;
  std::string next_page_token;  // empty on the last page
  // The store's revision when the page was read: every change up to it is
  // reflected in the page.
  int64_t revision = 0;
};

// How Client::Connect reaches persistd.
struct ConnectOptions {
  // PEM file of the CA that signed persistd's certificate: connect with TLS.
  // Empty: plaintext.
  std::string tls_ca_file;
  // The client's certificate and key (PEM files), for persistd with mutual
  // TLS (tls.clientCaFile). Both or neither; they need tls_ca_file.
  std::string tls_cert_file;
  std::string tls_key_file;
  // The name persistd's certificate carries, when the address differs.
  std::string tls_server_name;
  // A bearer token of persistd's tokens file, sent with every call.
  std::string token;
};

// grpc::Status -> absl::Status, code and message kept.
absl::Status FromGrpc(const grpc::Status& status);

// A channel to persistd at `address` as `options` say (the token aside,
// which goes with each call): plaintext, TLS or mutual TLS, taking replies
// as large as persistd sends (it bounds them). InvalidArgument naming the
// file that cannot be read, or the setting that is missing. Client::Connect
// uses it; so may programs that call other services of persistd (health,
// reflection).
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(
    const std::string& address, const ConnectOptions& options);

// A channel to persistd and what every call carries.
struct Connection {
  std::unique_ptr<v1::Persist::StubInterface> stub;
  std::string token;  // "" for none
};

// Sets the deadline of `context` from `options`, and the token.
void Prepare(const Connection& connection, const CallOptions& options,
             grpc::ClientContext* context);

// One unary call of `method`, with `options`' deadline.
template <typename Request, typename Response>
absl::StatusOr<Response> Call(
    const Connection& connection,
    grpc::Status (v1::Persist::StubInterface::*method)(grpc::ClientContext*,
                                                       const Request&,
                                                       Response*),
    const Request& request, const CallOptions& options) {
  Response response;
  grpc::ClientContext context;
  Prepare(connection, options, &context);
  if (absl::Status s = FromGrpc(
          (connection.stub.get()->*method)(&context, request, &response));
      !s.ok()) {
    return s;
  }
  return response;
}

// `any` as the entry of a T of map `map`; FailedPrecondition naming both
// types when the map holds another.
template <typename T>
absl::StatusOr<Entry<T>> UnpackEntry(
    const std::string& map, const google::protobuf::Any& any,
    const std::string& etag, int64_t mod_revision,
    const google::protobuf::Timestamp* expire_time = nullptr) {
  Entry<T> entry;
  if (!any.UnpackTo(&entry.value)) {
    return absl::FailedPreconditionError(
        absl::StrCat("map \"", map, "\" returned a ", any.type_url(),
                     ", not a ", T::descriptor()->full_name(),
                     "; use the type the map holds (see ListMaps)"));
  }
  entry.etag = etag;
  entry.mod_revision = mod_revision;
  if (expire_time != nullptr) {
    entry.expire_time = absl::FromUnixSeconds(expire_time->seconds()) +
                        absl::Nanoseconds(expire_time->nanos());
  }
  return entry;
}

template <typename T>
class TypedMap;
class Batch;         // clients/cpp/write_batch.h
struct BatchResult;  // clients/cpp/write_batch.h

class Client {
 public:
  // A plaintext channel to `address` (host:port).
  static std::unique_ptr<Client> Connect(const std::string& address);
  // With TLS, mutual TLS and a token as `options` say. InvalidArgument
  // naming the file that cannot be read, or the setting that is missing.
  // Replies may be as large as persistd sends (it bounds them).
  static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const std::string& address, const ConnectOptions& options);
  // Over any channel (in-process channels, credentials of your own), with
  // `token` on every call if not empty.
  explicit Client(const std::shared_ptr<grpc::ChannelInterface>& channel,
                  std::string token = "");
  // Over a stub, for example the generated MockPersistStub in tests.
  explicit Client(std::unique_ptr<v1::Persist::StubInterface> stub,
                  std::string token = "");

  // The map `name`, whose values are T; the server checks the type. Valid
  // while the Client lives.
  template <typename T>
  TypedMap<T> Map(std::string name) const {
    return TypedMap<T>(&connection_, std::move(name));
  }

  absl::StatusOr<v1::StatsResponse> Stats(const CallOptions& options = {});
  absl::StatusOr<v1::ListMapsResponse> ListMaps(
      const CallOptions& options = {});
  absl::Status Flush(const CallOptions& options = {});
  // Applies `batch` atomically (clients/cpp/write_batch.h) at
  // options.durability; options.precondition is not used (each operation
  // has its own).
  absl::StatusOr<BatchResult> Write(const Batch& batch,
                                    const CallOptions& options = {});
  absl::StatusOr<v1::ShrinkResponse> Shrink(const CallOptions& options = {});
  // Copies the store's data file to `path` (clients/cpp/backup.h). Never
  // replaces a file: AlreadyExists if `path` exists.
  absl::StatusOr<BackupResult> Backup(const std::string& path,
                                      const BackupOptions& options = {});

 private:
  const Connection connection_;
};

template <typename T>
class TypedMap {
 public:
  TypedMap(const Connection* connection, std::string name)
      : connection_(connection), name_(std::move(name)) {}

  const Connection& connection() const { return *connection_; }
  const std::string& name() const { return name_; }

  // nullopt when the key has no entry.
  absl::StatusOr<std::optional<Entry<T>>> Get(
      const std::string& key, const CallOptions& options = {}) const {
    v1::GetRequest request;
    request.set_map(name_);
    request.set_key(key);
    absl::StatusOr<v1::GetResponse> response =
        Call(*connection_, &v1::Persist::StubInterface::Get, request, options);
    if (!response.ok()) return response.status();
    if (!response->found()) return std::nullopt;
    return Typed(response->value(), response->etag(), response->mod_revision(),
                 ExpireTimeOf(*response));
  }

  // Many keys in one call (BatchGet, at most the server's page size): for
  // each, in order, its entry or nullopt.
  absl::StatusOr<std::vector<std::optional<Entry<T>>>> GetMany(
      const std::vector<std::string>& keys,
      const CallOptions& options = {}) const {
    v1::BatchGetRequest request;
    for (const std::string& key : keys) {
      v1::GetRequest* get = request.add_gets();
      get->set_map(name_);
      get->set_key(key);
    }
    absl::StatusOr<v1::BatchGetResponse> response = Call(
        *connection_, &v1::Persist::StubInterface::BatchGet, request, options);
    if (!response.ok()) return response.status();
    std::vector<std::optional<Entry<T>>> entries;
    entries.reserve(response->results_size());
    for (const v1::GetResponse& result : response->results()) {
      if (!result.found()) {
        entries.emplace_back();
        continue;
      }
      absl::StatusOr<Entry<T>> typed =
          Typed(result.value(), result.etag(), result.mod_revision(),
                ExpireTimeOf(result));
      if (!typed.ok()) return typed.status();
      entries.emplace_back(*std::move(typed));
    }
    return entries;
  }

  absl::StatusOr<WriteResult> Set(const std::string& key, const T& value,
                                  const CallOptions& options = {}) const {
    v1::SetRequest request;
    request.set_map(name_);
    request.set_key(key);
    request.mutable_value()->PackFrom(value);
    request.set_durability(options.durability);
    *request.mutable_precondition() = options.precondition;
    SetTtl(options.ttl, &request);
    absl::StatusOr<v1::SetResponse> response =
        Call(*connection_, &v1::Persist::StubInterface::Set, request, options);
    if (!response.ok()) return response.status();
    return WriteResult{response->etag(), response->existed(),
                       response->header().revision(),
                       response->header().epoch()};
  }

  // `existed`: whether the key had an entry; `revision`: the revision the
  // delete took (the store's, when there was nothing to delete).
  absl::StatusOr<WriteResult> Delete(const std::string& key,
                                     const CallOptions& options = {}) const {
    v1::DeleteRequest request;
    request.set_map(name_);
    request.set_key(key);
    request.set_durability(options.durability);
    *request.mutable_precondition() = options.precondition;
    absl::StatusOr<v1::DeleteResponse> response = Call(
        *connection_, &v1::Persist::StubInterface::Delete, request, options);
    if (!response.ok()) return response.status();
    return WriteResult{"", response->existed(), response->header().revision(),
                       response->header().epoch()};
  }

  // Replaces the fields named by `paths` (proto names) with `patch`'s, and
  // returns the stored value. `allow_missing` creates a missing key.
  absl::StatusOr<Entry<T>> Update(const std::string& key, const T& patch,
                                  const std::vector<std::string>& paths,
                                  const CallOptions& options = {},
                                  bool allow_missing = false) const {
    v1::UpdateRequest request;
    request.set_map(name_);
    request.set_key(key);
    request.mutable_value()->PackFrom(patch);
    for (const std::string& path : paths) {
      request.mutable_update_mask()->add_paths(path);
    }
    request.set_durability(options.durability);
    *request.mutable_precondition() = options.precondition;
    SetTtl(options.ttl, &request);
    request.set_allow_missing(allow_missing);
    absl::StatusOr<v1::UpdateResponse> response = Call(
        *connection_, &v1::Persist::StubInterface::Update, request, options);
    if (!response.ok()) return response.status();
    return Typed(response->value(), response->etag(),
                 response->header().revision());
  }

  // One page of entries whose keys start with `prefix`, in key order.
  absl::StatusOr<Page<T>> List(const std::string& prefix = "",
                               int page_size = 0,
                               const std::string& page_token = "",
                               const CallOptions& options = {}) const {
    v1::ListRequest request;
    request.set_map(name_);
    request.set_prefix(prefix);
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    absl::StatusOr<v1::ListResponse> response =
        Call(*connection_, &v1::Persist::StubInterface::List, request, options);
    if (!response.ok()) return response.status();
    Page<T> page;
    for (const v1::Entry& entry : response->entries()) {
      absl::StatusOr<Entry<T>> typed =
          Typed(entry.value(), entry.etag(), entry.mod_revision(),
                ExpireTimeOf(entry));
      if (!typed.ok()) return typed.status();
      page.entries.emplace_back(entry.key(), *std::move(typed));
    }
    page.next_page_token = response->next_page_token();
    page.revision = response->header().revision();
    return page;
  }

 private:
  absl::StatusOr<Entry<T>> Typed(
      const google::protobuf::Any& any, const std::string& etag,
      int64_t mod_revision,
      const google::protobuf::Timestamp* expire_time = nullptr) const {
    return UnpackEntry<T>(name_, any, etag, mod_revision, expire_time);
  }

  const Connection* connection_;
  std::string name_;
};

}  // namespace persist::client

#endif  // PERSIST_CLIENTS_CPP_PERSIST_CLIENT_H_
