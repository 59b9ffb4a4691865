// --help and --version for persist's programs, before abseil parses the
// command line: abseil's --help lists only flags of files named after the
// program and exits 1, and its --version prints abseil's build mode instead
// of persist's version.
#ifndef PERSIST_BASE_COMMAND_LINE_H_
#define PERSIST_BASE_COMMAND_LINE_H_

#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace persist {

struct ProgramInfo {
  absl::string_view name;   // "persistd"
  absl::string_view usage;  // printed first by --help
  // Flags defined in files whose path contains one of these are listed by
  // --help, with their defaults.
  std::initializer_list<absl::string_view> flag_files;
};

// If the command line asks for --help (also -h, --helpfull, --helpshort)
// or --version before any "--", prints it to stdout and returns true: the
// program then exits 0.
bool PrintHelpOrVersion(int argc, char** argv, const ProgramInfo& program);

// The first mistake among the command line's flags, as abseil would see it
// (an unknown flag, a value that does not parse), or "" if there is none:
// so that a program can report it as a usage error (exit 64) instead of
// abseil's exit 1. Arguments after "--" are not flags.
std::string FindFlagMistake(int argc, char** argv);

}  // namespace persist

#endif  // PERSIST_BASE_COMMAND_LINE_H_
