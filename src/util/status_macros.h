// Propagation macros for Status and Result<T>, after absl's status_macros.h.
#pragma once

#include "triad/result.h"
#include "triad/status.h"

#define TRIAD_CONCAT_INNER_(a, b) a##b
#define TRIAD_CONCAT_(a, b) TRIAD_CONCAT_INNER_(a, b)

// Returns the status of `expr` (a Status) from the enclosing function if it is an error.
#define TRIAD_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::triad::Status triad_status_ = (expr);        \
    if (!triad_status_.ok()) return triad_status_; \
  } while (false)

// Evaluates `rexpr` (a Result<T>); on error returns its status, else moves the value into `lhs`,
// which may be a declaration: TRIAD_ASSIGN_OR_RETURN(auto head, backend->HeadPosition());
#define TRIAD_ASSIGN_OR_RETURN(lhs, rexpr) \
  TRIAD_ASSIGN_OR_RETURN_IMPL_(TRIAD_CONCAT_(triad_result_, __LINE__), lhs, rexpr)

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` may be a declaration.
#define TRIAD_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                                 \
  if (!result.ok()) return result.status();              \
  lhs = std::move(result).value()
// NOLINTEND(bugprone-macro-parentheses)

// Programmer errors only, never reachable from input. Compiled out in release builds.
#ifdef NDEBUG
#define TRIAD_DCHECK(cond) \
  do {                     \
  } while (false)
#else
#include <cstdio>
#include <cstdlib>
#define TRIAD_DCHECK(cond)                                                                 \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "%s:%d: TRIAD_DCHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (false)
#endif
