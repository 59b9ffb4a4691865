// Early-return helpers for absl::Status, which abseil 20220623 does not ship.
#ifndef PERSIST_BASE_STATUS_MACROS_H_
#define PERSIST_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PERSIST_STATUS_CONCAT_INNER_(a, b) a##b
#define PERSIST_STATUS_CONCAT_(a, b) PERSIST_STATUS_CONCAT_INNER_(a, b)

// Returns from the current function if `expr` (an absl::Status) is not OK.
#define PERSIST_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status persist_status_ = (expr);           \
    if (!persist_status_.ok()) return persist_status_; \
  } while (0)

// `lhs = value of expr` (an absl::StatusOr<T>), or returns its error.
// `lhs` and the temporary's name are declarations, which parentheses would
// break: hence the NOLINT for clang-tidy's bugprone-macro-parentheses.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define PERSIST_ASSIGN_OR_RETURN(lhs, expr) \
  PERSIST_ASSIGN_OR_RETURN_IMPL_(           \
      PERSIST_STATUS_CONCAT_(persist_statusor_, __LINE__), lhs, expr)
#define PERSIST_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // PERSIST_BASE_STATUS_MACROS_H_
