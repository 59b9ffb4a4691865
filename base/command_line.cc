#include "base/command_line.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/version.h"

namespace persist {
namespace {

void PrintFlags(const ProgramInfo& program) {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    for (absl::string_view file : program.flag_files) {
      if (absl::StrContains(flag->Filename(), file)) {
        flags.push_back(flag);
        break;
      }
    }
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  std::printf("\nflags (--name=value; defaults in brackets):\n");
  for (const absl::CommandLineFlag* flag : flags) {
    const std::string value = flag->DefaultValue();
    std::printf("  --%s%s\n      %s\n", std::string(flag->Name()).c_str(),
                value.empty() ? "" : absl::StrCat(" [", value, "]").c_str(),
                flag->Help().c_str());
  }
}

}  // namespace

std::string FindFlagMistake(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // a positional word
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    const size_t equals = arg.find('=');
    const absl::string_view name = arg.substr(0, equals);
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no") && equals == arg.npos) {
      // --nofoo for a boolean --foo.
      absl::CommandLineFlag* negated =
          absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) continue;
    }
    if (flag == nullptr) return absl::StrCat("unknown flag --", name);
    std::string value;
    if (equals != arg.npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (flag->IsOfType<bool>()) {
      continue;
    } else if (i + 1 < argc) {
      value = argv[++i];  // "--flag value"
    } else {
      return absl::StrCat("--", name, " needs a value");
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::StrCat("--", name, ": ", error);
    }
  }
  return "";
}

bool PrintHelpOrVersion(int argc, char** argv, const ProgramInfo& program) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") return false;
    if (arg == "--version" || arg == "-version") {
      std::printf("%s\n", VersionLine(program.name).c_str());
      return true;
    }
    if (arg == "--help" || arg == "-help" || arg == "-h" ||
        arg == "--helpfull" || arg == "--helpshort") {
      std::printf("%s\n", std::string(program.usage).c_str());
      PrintFlags(program);
      std::printf("\n  --help  this text\n  --version  %s\n",
                  VersionLine(program.name).c_str());
      return true;
    }
  }
  return false;
}

}  // namespace persist
