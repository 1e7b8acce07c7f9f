#include "postgres/pg_rm_leases.h"

#include "util/status_macros.h"

namespace triad::internal::pg {

// The first key is per schema: two Triad stores in one database lease independently.
#define TRIAD_LEASE_KEYS "hashtext('triad-lease:' || current_schema()), hashtext($1)"

Result<bool> PgTryLease(PgConnection& conn, std::string_view projection) {
  TRIAD_ASSIGN_OR_RETURN(
      PgResult row,
      conn.QueryPrepared("rm_lease_try", "SELECT pg_try_advisory_lock(" TRIAD_LEASE_KEYS ")",
                         PgParams().Text(projection)));
  return row.rows() == 1 && row.Bool(0, 0);
}

Status PgReleaseLease(PgConnection& conn, std::string_view projection) {
  return conn
      .QueryPrepared("rm_lease_release", "SELECT pg_advisory_unlock(" TRIAD_LEASE_KEYS ")",
                     PgParams().Text(projection))
      .status();
}

#undef TRIAD_LEASE_KEYS

bool LeaseSet::Contains(std::string_view projection) const {
  std::lock_guard lock(mu_);
  return names_.find(projection) != names_.end();
}

void LeaseSet::Add(std::string_view projection) {
  std::lock_guard lock(mu_);
  names_.emplace(projection);
}

void LeaseSet::Remove(std::string_view projection) {
  std::lock_guard lock(mu_);
  if (auto it = names_.find(projection); it != names_.end()) names_.erase(it);
}

std::vector<std::string> LeaseSet::Names() const {
  std::lock_guard lock(mu_);
  return {names_.begin(), names_.end()};
}

void RetakeLeases(PgConnection& conn, LeaseSet& leases) {
  for (const std::string& name : leases.Names()) {
    auto taken = PgTryLease(conn, name);
    if (!taken.ok() || !*taken) leases.Remove(name);
  }
}

}  // namespace triad::internal::pg
