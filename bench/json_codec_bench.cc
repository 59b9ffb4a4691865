// persist's JsonCodec against protobuf's util JSON functions, on the small
// record of go-persist's benchmark and on a ~1.2 KB document. Benchmarks are
// named <Encode|Decode>/<small|large>/<persist|protobuf>; the table at the
// end gives persist's speed-up over protobuf from the same run.
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/ratio_reporter.h"
#include "benchmark/benchmark.h"
#include "google/protobuf/util/json_util.h"
#include "json/json_codec.h"
#include "persist/bench/v1/records.pb.h"

namespace persist::bench {
namespace {

using persist::bench::v1::LargeRecord;
using persist::bench::v1::SmallRecord;

SmallRecord MakeSmall() {
  SmallRecord r;
  r.set_field1(1234567890123);
  r.set_field2("value-0000012345");
  return r;
}

LargeRecord MakeLarge() {
  LargeRecord r;
  r.set_id("8d3c1f0e-6b7a-4c2e-9f51-2a7d9e4b6c10");
  r.set_name("Ada Lovelace");
  r.set_email("ada.lovelace@example.com");
  r.set_description(
      "Analyst of the Analytical Engine; first to publish an "
      "algorithm intended for such a machine.");
  r.set_created_at_ms(1700000000123);
  r.set_version(42);
  auto* m = r.mutable_metadata();
  (*m->mutable_labels())["team"] = "storage";
  (*m->mutable_labels())["tier"] = "gold";
  (*m->mutable_labels())["region"] = "eu-west-1";
  m->add_tags("customer");
  m->add_tags("beta");
  m->add_tags("priority");
  for (int64_t c :
       {int64_t{17}, int64_t{4096}, int64_t{9000000001}, int64_t{-3}}) {
    m->add_counters(c);
  }
  m->set_owner("ops@example.com");
  std::string payload;
  while (payload.size() < 1024) {
    payload += "The quick brown fox jumps over the lazy dog; 0123456789. ";
  }
  payload.resize(1024);
  r.set_payload(payload);
  return r;
}

template <typename Record>
void EncodePersist(benchmark::State& state, const Record& record) {
  JsonCodec codec;
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (!codec.Encode(record, &out).ok()) state.SkipWithError("encode failed");
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * out.size());
}

template <typename Record>
void EncodeProtobuf(benchmark::State& state, const Record& record) {
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (!google::protobuf::util::MessageToJsonString(record, &out).ok()) {
      state.SkipWithError("encode failed");
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * out.size());
}

template <typename Record>
void DecodePersist(benchmark::State& state, const Record& record) {
  JsonCodec codec;
  const std::string json = *codec.Encode(record);
  Record decoded;
  for (auto _ : state) {
    if (!codec.Decode(json, &decoded).ok())
      state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(state.iterations() * json.size());
}

template <typename Record>
void DecodeProtobuf(benchmark::State& state, const Record& record) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(record, &json);
  Record decoded;
  for (auto _ : state) {
    decoded.Clear();
    if (!google::protobuf::util::JsonStringToMessage(json, &decoded).ok()) {
      state.SkipWithError("decode failed");
    }
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(state.iterations() * json.size());
}

template <typename Record>
void RegisterCase(const char* size, const Record& record) {
  benchmark::RegisterBenchmark(
      absl::StrCat("Encode/", size, "/persist").c_str(), EncodePersist<Record>,
      record);
  benchmark::RegisterBenchmark(
      absl::StrCat("Encode/", size, "/protobuf").c_str(),
      EncodeProtobuf<Record>, record);
  benchmark::RegisterBenchmark(
      absl::StrCat("Decode/", size, "/persist").c_str(), DecodePersist<Record>,
      record);
  benchmark::RegisterBenchmark(
      absl::StrCat("Decode/", size, "/protobuf").c_str(),
      DecodeProtobuf<Record>, record);
}

}  // namespace
}  // namespace persist::bench

int main(int argc, char** argv) {
  persist::bench::RegisterCase("small", persist::bench::MakeSmall());
  persist::bench::RegisterCase("large", persist::bench::MakeLarge());
  return persist::bench::RunBenchmarksWithRatios(argc, argv);
}
