// Damaged data files, each with the line and the words its refusal names:
// shared by the recovery tests (which open them) and the check tests (which
// hold persistctl check's verdict equal to that of opening).
#ifndef PERSIST_TESTS_STORAGE_DAMAGED_FILES_H_
#define PERSIST_TESTS_STORAGE_DAMAGED_FILES_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace persist::testing {

// Three good records of map "items" (type persist.test.v1.Item) and a
// delete: the start of every damaged file.
inline constexpr absl::string_view kComplete =
    "go-persist 1\n"
    "S items:a\n{\"name\":\"A\",\"count\":1}\n"
    "D items:zz\n\n"
    "S items:b\n{\"name\":\"B\",\"tags\":[\"x\",\"y\"]}\n";

struct Damage {
  const char* name;
  std::string file;
  int line;            // the line a strict open names
  const char* reason;  // words of its reason
};

inline void PrintTo(const Damage& damage, std::ostream* os) {
  *os << damage.name;
}

// Files damaged before their tail: a strict open refuses each, naming the
// line; skip_corrupt opens it keeping key "a".
std::vector<Damage> DamagedFiles();

}  // namespace persist::testing

#endif  // PERSIST_TESTS_STORAGE_DAMAGED_FILES_H_
