// Projection leases on PostgreSQL (ReadModelBackend::TryAcquireLease): one session-level advisory
// lock per projection name, taken on the read model's writer connection.
//
// The lock's keys are (hashtext('triad-lease:' || current_schema()), hashtext(projection)), so
// stores in different schemas of one database do not contend. The lock lives exactly as long as
// the session that took it: when a node dies or its writer connection is cut, PostgreSQL frees
// the lock and aborts the transaction that session had open. Because every batch commits on
// that same session, a batch can only commit while its node holds the lease (the fence).
//
// Thread-safety: LeaseSet is safe from any thread; the Pg* functions use one connection, which
// the caller owns for the duration of the call.
#pragma once

#include "triad/result.h"
#include "triad/status.h"

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "postgres/pg_connection.h"

namespace triad::internal::pg {

// Takes the lease of `projection` on `conn`'s session unless another session holds it.
// Returns whether it was taken. REQUIRES: the session does not already hold it (advisory locks
// nest: a second lock would need a second unlock). Errors: kUnavailable (connection lost).
Result<bool> PgTryLease(PgConnection& conn, std::string_view projection);

// Frees the lease of `projection` held by `conn`'s session. Errors: kUnavailable (connection
// lost: the server freed the lock with the session).
Status PgReleaseLease(PgConnection& conn, std::string_view projection);

// The projection names whose leases one backend object holds. Reads never wait for the network
// (HoldsLease is called between a batch's BeginWrite and its commit).
class LeaseSet {
 public:
  bool Contains(std::string_view projection) const;
  void Add(std::string_view projection);
  void Remove(std::string_view projection);
  std::vector<std::string> Names() const;

 private:
  mutable std::mutex mu_;
  std::set<std::string, std::less<>> names_;  // guarded by mu_
};

// Re-takes every lease of `leases` on `conn`, a new session replacing one that died (its locks
// died with it). Leases that cannot be re-taken (another node took them meanwhile, or the new
// session failed) are dropped from `leases`, so HoldsLease() turns false for them.
void RetakeLeases(PgConnection& conn, LeaseSet& leases);

}  // namespace triad::internal::pg
