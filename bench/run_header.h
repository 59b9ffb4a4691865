// The first lines of every benchmark's output: the command, the machine and
// the date, so that a pasted result says where it came from.
#ifndef PERSIST_BENCH_RUN_HEADER_H_
#define PERSIST_BENCH_RUN_HEADER_H_

namespace persist::bench {

void PrintRunHeader(int argc, char** argv);

}  // namespace persist::bench

#endif  // PERSIST_BENCH_RUN_HEADER_H_
