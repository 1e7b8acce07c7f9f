// Result<T>: a value of type T or an error Status.
//
// The return type of every fallible public call that produces a value. Kept close to the shape of
// std::expected (C++23) so that it can be swapped for it later.
//
//   triad::Result<triad::Position> head = store->HeadPosition();
//   if (!head.ok()) return head.status();
//   use(*head);
//
// Thread-safety: a Result is a value; distinct objects may be used from any thread.
#pragma once

#include "triad/status.h"

#include <cassert>
#include <utility>
#include <variant>

namespace triad {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Holds `value`.
  Result(T value) : storage_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  // Holds the error `status`. REQUIRES: !status.ok().
  Result(Status status) : storage_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(storage_).ok());
  }

  // True iff a value is held.
  bool ok() const { return std::holds_alternative<T>(storage_); }

  // The error, or an OK status when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(storage_); }

  // The held value. REQUIRES: ok().
  T& value() & { return std::get<T>(storage_); }
  const T& value() const& { return std::get<T>(storage_); }
  T&& value() && { return std::get<T>(std::move(storage_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The held value, or `fallback` on error.
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> storage_;
};

}  // namespace triad
