#include "tests/storage/damaged_files.h"

#include "absl/strings/str_cat.h"

namespace persist::testing {

std::vector<Damage> DamagedFiles() {
  const std::string tail = "S items:last\n{\"name\":\"L\"}\n";
  return {
      {"InvalidJson", absl::StrCat(kComplete, "S items:c\n{\"name\":}\n", tail),
       9, "key \"c\""},
      {"WrongFieldType",
       absl::StrCat(kComplete, "S items:c\n{\"count\":\"x\"}\n", tail), 9,
       "count"},
      {"UnknownField",
       absl::StrCat(kComplete, "S items:c\n{\"nope\":1}\n", tail), 9, "nope"},
      {"UnknownOperation", absl::StrCat(kComplete, "X items:c\n", tail), 8,
       "expected a record line"},
      {"MissingSpace", absl::StrCat(kComplete, "Sitems:c\n{}\n", tail), 8,
       "expected a record line"},
      {"DeleteWithValue", absl::StrCat(kComplete, "D items:c\n{}\n", tail), 9,
       "must be followed by an empty line"},
      {"SetWithoutValue", absl::StrCat(kComplete, "S items:c\n\n", tail), 9,
       "empty value line"},
      {"InvalidKey", absl::StrCat(kComplete, "S items:bad\x01key\n{}\n", tail),
       8, "position 3"},
      {"BlankLine", absl::StrCat(kComplete, "\n", tail), 8,
       "expected a record line"},
      {"DamagedLastCompleteRecord",
       absl::StrCat(kComplete, "S items:c\n{\"name\":\n"), 9, "key \"c\""},
      // CRLF line ends (a file edited on Windows): the key gets a '\r'.
      {"CrlfLineEnds",
       absl::StrCat(kComplete, "S items:c\r\n{\"name\":\"C\"}\r\n", tail), 8,
       "position 1"},
      // Batch frames (wal_format.h).
      {"BatchHeaderInsideBatch",
       absl::StrCat(kComplete, "B 2\n\nS items:c\n{}\nB 2\n\nS items:d\n{}\n",
                    "S items:e\n{}\n", tail),
       12, "a batch header inside the batch of 2 records that line 8"},
      {"BatchCountNotANumber", absl::StrCat(kComplete, "B two\n\n", tail), 8,
       "does not give a record count"},
      {"BatchCountZero", absl::StrCat(kComplete, "B 0\n\n", tail), 8,
       "does not give a record count"},
      {"BatchHeaderWithValue",
       absl::StrCat(kComplete, "B 1\n{}\nS items:c\n{}\n", tail), 9,
       "must be followed by an empty line"},
      // A record line damaged inside a batch: its value line is damage of
      // its own, and both are the batch's.
      {"DamagedRecordLineInBatch",
       absl::StrCat(kComplete, "B 3\n\nS items:c\n{}\nX items:d\n{}\n",
                    "S items:e\n{}\n", tail),
       10 + 2, "expected a record line"},
      {"BlankLineInBatch",
       absl::StrCat(kComplete, "B 2\n\nS items:c\n{}\n\nS items:e\n{}\n", tail),
       12, "expected a record line"},
      {"InvalidJsonInBatch",
       absl::StrCat(kComplete, "B 2\n\nS items:c\n{}\nS items:d\n{\"name\":}\n",
                    tail),
       13, "key \"d\""},
      // Found by wal_fuzzer: a batch with a bad value, a good record, then a
      // record line without a colon whose value line is a record line.
      {"FuzzedBatch",
       absl::StrCat(kComplete,
                    "B 3\n\nS items:c\n{\"name\":\"C\"t 1\nS items:a\n"
                    "{\"name\":\"A\",\"count\":2}\nD itemsame\":\"D\"}\n",
                    "S items:e\n{}\n", tail),
       11, "key \"c\""},
      // Commit records (wal_format.h).
      {"CommitInsideBatch",
       absl::StrCat(kComplete, "B 2\n\nS items:c\n{}\nC 1\n\nS items:d\n{}\n",
                    tail),
       12, "a commit record inside the batch of 2 records that line 8"},
      {"CommitSeqGap", absl::StrCat(kComplete, "C 1\n\nC 3\n\n", tail), 10,
       "the commit record of log entry 3 follows the one of entry 1 (line 8)"},
      {"CommitSeqNotANumber", absl::StrCat(kComplete, "C one\n\n", tail), 8,
       "does not give a log entry number"},
      {"CommitSeqZero", absl::StrCat(kComplete, "C 0\n\n", tail), 8,
       "does not give a log entry number"},
      {"CommitWithValue", absl::StrCat(kComplete, "C 1\n{}\n", tail), 9,
       "must be followed by an empty line"},
      // A record without its value line, before a good record.
      {"RecordWithoutValue", absl::StrCat(kComplete, "S items:c\n", tail), 9,
       "has no value line"},
  };
}

}  // namespace persist::testing
