// RatioReporter: Google Benchmark's console output, followed by a table that
// compares, for every benchmark named "<case>/persist", persist's time with
// each "<case>/<baseline>" from the same run. Ratios from one run are what
// these shared, noisy machines can compare; absolute times are not.
#ifndef PERSIST_BENCH_RATIO_REPORTER_H_
#define PERSIST_BENCH_RATIO_REPORTER_H_

#include <map>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"

namespace persist::bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;
  // Prints the ratio table to stdout.
  void PrintRatios() const;

 private:
  std::map<std::string, double> ns_per_op_;  // by benchmark name
};

// Prints the command line and the machine, then runs every benchmark with a
// RatioReporter. Returns the process exit code.
int RunBenchmarksWithRatios(int argc, char** argv);

}  // namespace persist::bench

#endif  // PERSIST_BENCH_RATIO_REPORTER_H_
