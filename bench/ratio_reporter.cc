#include "bench/ratio_reporter.h"

#include <cstdio>
#include <string>

#include "bench/run_header.h"

namespace persist::bench {

void RatioReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& run : runs) {
    if (run.error_occurred || run.run_type != Run::RT_Iteration) continue;
    ns_per_op_[run.benchmark_name()] =
        run.GetAdjustedRealTime() *
        benchmark::GetTimeUnitMultiplier(benchmark::kNanosecond) /
        benchmark::GetTimeUnitMultiplier(run.time_unit);
  }
  ConsoleReporter::ReportRuns(runs);
}

void RatioReporter::PrintRatios() const {
  std::printf("\n%-28s %14s %14s %10s\n", "case (persist vs baseline)",
              "persist ns/op", "baseline ns/op", "speed-up");
  for (const auto& [name, ns] : ns_per_op_) {
    const std::string suffix = "/persist";
    if (name.size() < suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const std::string prefix = name.substr(0, name.size() - suffix.size() + 1);
    for (const auto& [other, other_ns] : ns_per_op_) {
      if (other == name || other.rfind(prefix, 0) != 0) continue;
      std::printf("%-28s %14.0f %14.0f %9.2fx\n",
                  (prefix + " vs " + other.substr(prefix.size())).c_str(), ns,
                  other_ns, other_ns / ns);
    }
  }
}

int RunBenchmarksWithRatios(int argc, char** argv) {
  PrintRunHeader(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  return 0;
}

}  // namespace persist::bench
