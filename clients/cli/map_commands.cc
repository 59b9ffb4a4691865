#include "clients/cli/map_commands.h"

#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "clients/cli/json_output.h"
#include "clients/cli/map_client.h"
#include "clients/cli/remote_types.h"
#include "clients/cpp/persist_client.h"
#include "json/json_codec.h"
#include "persist/v1/persist.grpc.pb.h"

namespace persist::cli {
namespace {

using client::FromGrpc;

absl::StatusOr<v1::Precondition> ParsePrecondition(
    const MapCommandFlags& flags) {
  v1::Precondition precondition;
  int given = 0;
  if (!flags.etag.empty()) {
    precondition.set_etag(flags.etag);
    ++given;
  }
  if (flags.must_exist) {
    precondition.set_must_exist(true);
    ++given;
  }
  if (flags.must_not_exist) {
    precondition.set_must_not_exist(true);
    ++given;
  }
  if (given > 1) {
    return absl::InvalidArgumentError(
        "give at most one of --etag, --must_exist and --must_not_exist");
  }
  return precondition;
}

// The durability and precondition of a Set, Delete or Update request.
template <typename Request>
absl::Status SetWriteOptions(const MapCommandFlags& flags, Request* request) {
  PERSIST_ASSIGN_OR_RETURN(v1::Durability durability,
                           ParseDurability(flags.durability));
  request->set_durability(durability);
  PERSIST_ASSIGN_OR_RETURN(*request->mutable_precondition(),
                           ParsePrecondition(flags));
  return absl::OkStatus();
}

// --ttl of a set or an update: none when empty.
template <typename Request>
absl::Status ApplyTtlFlag(const MapCommandFlags& flags, Request* request) {
  if (flags.ttl.empty()) return absl::OkStatus();
  absl::Duration ttl;
  if (!absl::ParseDuration(flags.ttl, &ttl) || ttl <= absl::ZeroDuration() ||
      ttl == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ttl=", flags.ttl,
                     ": give a positive time to live such as 30s or 24h"));
  }
  const int64_t nanos = absl::ToInt64Nanoseconds(ttl);
  if (nanos == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--ttl=", flags.ttl, " is shorter than the 1ns a ttl can hold"));
  }
  client::SetTtl(ttl, request);
  return absl::OkStatus();
}

void Print(const std::string& line) { std::printf("%s\n", line.c_str()); }

absl::Status Get(MapClient& client, const std::string& key) {
  v1::GetRequest request;
  request.set_map(client.map());
  request.set_key(key);
  v1::GetResponse response;
  PERSIST_RETURN_IF_ERROR(
      FromGrpc(client.stub().Get(client.Context().get(), request, &response)));
  if (!response.found()) {
    return absl::NotFoundError(
        absl::StrCat("no key \"", key, "\" in map \"", client.map(), "\""));
  }
  PERSIST_ASSIGN_OR_RETURN(
      std::string line,
      client.EntryJson(
          key, response.value(), response.etag(), response.mod_revision(),
          response.has_expire_time() ? &response.expire_time() : nullptr));
  Print(line);
  return absl::OkStatus();
}

absl::Status Set(MapClient& client, const std::string& key,
                 const std::string& json, const MapCommandFlags& flags) {
  v1::SetRequest request;
  request.set_map(client.map());
  request.set_key(key);
  PERSIST_RETURN_IF_ERROR(client.Pack(json, request.mutable_value()));
  PERSIST_RETURN_IF_ERROR(SetWriteOptions(flags, &request));
  PERSIST_RETURN_IF_ERROR(ApplyTtlFlag(flags, &request));
  v1::SetResponse response;
  PERSIST_RETURN_IF_ERROR(
      FromGrpc(client.stub().Set(client.Context().get(), request, &response)));
  Print(JsonObject()
            .String("key", key)
            .String("etag", response.etag())
            .Bool("existed", response.existed())
            .Int("revision", response.header().revision())
            .Done());
  return absl::OkStatus();
}

absl::Status Delete(MapClient& client, const std::string& key,
                    const MapCommandFlags& flags) {
  v1::DeleteRequest request;
  request.set_map(client.map());
  request.set_key(key);
  PERSIST_RETURN_IF_ERROR(SetWriteOptions(flags, &request));
  v1::DeleteResponse response;
  PERSIST_RETURN_IF_ERROR(FromGrpc(
      client.stub().Delete(client.Context().get(), request, &response)));
  Print(JsonObject()
            .String("key", key)
            .Bool("existed", response.existed())
            .Int("revision", response.header().revision())
            .Done());
  return absl::OkStatus();
}

absl::Status Update(MapClient& client, const std::string& key,
                    const std::string& json, const MapCommandFlags& flags) {
  if (flags.mask.empty()) {
    return absl::InvalidArgumentError(
        "update needs --mask=field,field: the fields to change, by their "
        "proto or JSON names (the others keep their values)");
  }
  v1::UpdateRequest request;
  request.set_map(client.map());
  request.set_key(key);
  PERSIST_RETURN_IF_ERROR(client.Pack(json, request.mutable_value()));
  for (const std::string& path : flags.mask) {
    request.mutable_update_mask()->add_paths(client.ProtoPath(path));
  }
  PERSIST_RETURN_IF_ERROR(SetWriteOptions(flags, &request));
  PERSIST_RETURN_IF_ERROR(ApplyTtlFlag(flags, &request));
  request.set_allow_missing(flags.allow_missing);
  v1::UpdateResponse response;
  PERSIST_RETURN_IF_ERROR(FromGrpc(
      client.stub().Update(client.Context().get(), request, &response)));
  PERSIST_ASSIGN_OR_RETURN(std::string value, client.Unpack(response.value()));
  Print(JsonObject()
            .String("key", key)
            .Raw("value", value)
            .String("etag", response.etag())
            .Bool("existed", response.existed())
            .Int("revision", response.header().revision())
            .Done());
  return absl::OkStatus();
}

// Every page, one line per entry, up to --limit.
absl::Status List(MapClient& client, const MapCommandFlags& flags) {
  v1::ListRequest request;
  request.set_map(client.map());
  request.set_prefix(flags.prefix);
  request.set_page_size(flags.page_size);
  int64_t printed = 0;
  do {
    v1::ListResponse response;
    PERSIST_RETURN_IF_ERROR(FromGrpc(
        client.stub().List(client.Context().get(), request, &response)));
    for (const v1::Entry& entry : response.entries()) {
      if (flags.limit > 0 && printed == flags.limit) return absl::OkStatus();
      PERSIST_ASSIGN_OR_RETURN(
          std::string line,
          client.EntryJson(
              entry.key(), entry.value(), entry.etag(), entry.mod_revision(),
              entry.has_expire_time() ? &entry.expire_time() : nullptr));
      Print(line);
      ++printed;
    }
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return absl::OkStatus();
}

// Every message of a Watch stream, one line per entry, event or progress
// notice (each with "type"), flushed at once for whoever reads the pipe.
absl::Status Watch(MapClient& client, const MapCommandFlags& flags) {
  v1::WatchRequest request;
  request.set_map(client.map());
  request.set_prefix(flags.prefix);
  request.set_start_revision(flags.from_revision);
  request.set_epoch(flags.epoch);
  request.set_send_initial(flags.initial);
  std::unique_ptr<grpc::ClientContext> context = client.Context();
  // --timeout bounds calls, not a stream that runs until stopped.
  context->set_deadline(std::chrono::system_clock::time_point::max());
  auto reader = client.stub().Watch(context.get(), request);
  int64_t printed = 0;
  auto print = [&](const std::string& line, bool counts) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    if (counts) ++printed;
    return flags.limit > 0 && printed >= flags.limit;
  };
  v1::WatchResponse response;
  bool done = false;
  while (!done && reader->Read(&response)) {
    const v1::ResponseHeader& header = response.header();
    for (const v1::Entry& entry : response.initial()) {
      PERSIST_ASSIGN_OR_RETURN(std::string value, client.Unpack(entry.value()));
      JsonObject line;
      line.String("type", "INITIAL")
          .String("key", entry.key())
          .Raw("value", value)
          .String("etag", entry.etag())
          .Int("mod_revision", entry.mod_revision());
      if (entry.has_expire_time()) {
        line.String("expire_time",
                    MapClient::TimestampText(entry.expire_time()));
      }
      done = print(line.Done(), true);
      if (done) break;
    }
    if (done) break;
    if (response.initial_done()) {
      print(JsonObject()
                .String("type", "SYNCED")
                .Int("revision", header.revision())
                .String("epoch", header.epoch())
                .Done(),
            false);
    }
    for (const v1::WatchEvent& event : response.events()) {
      JsonObject line;
      if (event.type() == v1::WatchEvent::DELETE) {
        line.String("type", "DELETE").String("key", event.key());
        if (event.expired()) line.Bool("expired", true);
      } else {
        PERSIST_ASSIGN_OR_RETURN(std::string value,
                                 client.Unpack(event.value()));
        line.String("type", "PUT")
            .String("key", event.key())
            .Raw("value", value)
            .String("etag", event.etag());
        if (event.has_expire_time()) {
          line.String("expire_time",
                      MapClient::TimestampText(event.expire_time()));
        }
      }
      done = print(line.Int("revision", event.revision()).Done(), true);
      if (done) break;
    }
    if (done) break;
    // Where to resume from: the stream's start, and quiet spells.
    if (response.initial().empty() && !response.initial_done() &&
        response.events().empty()) {
      print(JsonObject()
                .String("type", "PROGRESS")
                .Int("revision", header.revision())
                .String("epoch", header.epoch())
                .Done(),
            false);
    }
  }
  if (done) {
    context->TryCancel();
    while (reader->Read(&response)) {
    }
    reader->Finish();
    return absl::OkStatus();
  }
  return FromGrpc(reader->Finish());
}

}  // namespace

absl::StatusOr<v1::Durability> ParseDurability(const std::string& text) {
  if (text.empty()) return v1::DURABILITY_UNSPECIFIED;
  v1::Durability value;
  if (!v1::Durability_Parse(absl::AsciiStrToUpper(text), &value) ||
      value == v1::DURABILITY_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--durability: \"", text, "\" is not memory, async, write or fsync"));
  }
  return value;
}

int MapCommandArgCount(const std::string& command) {
  if (command == "list" || command == "watch") return 1;
  if (command == "get" || command == "delete") return 2;
  if (command == "set" || command == "update") return 3;
  return -1;
}

absl::Status RunMapCommand(const std::string& command,
                           const std::vector<std::string>& args,
                           const MapCommandFlags& flags,
                           const std::shared_ptr<grpc::Channel>& channel,
                           const ContextFactory& new_context) {
  MapClient client(channel, new_context);
  PERSIST_RETURN_IF_ERROR(client.Open(args.at(0)));
  if (command == "list") return List(client, flags);
  if (command == "watch") return Watch(client, flags);
  if (command == "get") return Get(client, args.at(1));
  if (command == "delete") return Delete(client, args.at(1), flags);
  if (command == "set") return Set(client, args.at(1), args.at(2), flags);
  return Update(client, args.at(1), args.at(2), flags);
}

}  // namespace persist::cli
