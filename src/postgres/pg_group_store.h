// The shared consumer-group storage on PostgreSQL (groups::GroupStorage, shared() == true): the
// state of every group in cg_* tables of the store's schema, beside the event store's tables, so
// that several nodes on one database serve the same groups (docs/consumer-groups.md, "Storage").
//
// Tables (migration 1 of component "consumer groups"): cg_groups (one row per group: settings
// JSON, checkpoint, created_at, version) and its children cg_acks, cg_messages (attempts, holder,
// due time), cg_parked and cg_members, which reference cg_groups ON DELETE CASCADE. Every
// operation of a node runs inside a GroupLock: a transaction holding the group row's lock
// (SELECT … FOR UPDATE), which serializes the operations on one group across nodes; each commit
// adds 1 to the row's version, which tells a node whether its copy in memory is current.
//
// The store owns one connection. A call that finds it broken (the server restarted, the session
// was cut) reconnects once first; the call that discovers the break fails with kUnavailable,
// except where running it again is harmless (LoadAll, ListNames, Delete, Lock: they retry once on
// a new connection).
//
// Thread-safety: none. The caller (ConsumerGroupsImpl) serializes every call on the store and
// its locks; at most one GroupLock of a store is open at a time, and it must not outlive the
// store.
#pragma once

#include "triad/result.h"

#include <memory>
#include <string_view>

#include "groups/group_storage.h"

namespace triad::internal::pg {

// The migration component name in schema_versions.
inline constexpr const char* kGroupComponent = "consumer groups";

// Connects to the postgres:// `uri` (creating its schema if needed) and brings the consumer-group
// tables up to date (pg_migrations.h). With !create_if_missing it creates nothing: kNotFound
// when the schema or the tables are missing. Errors, annotated with the store (password hidden):
// kInvalidArgument (a malformed URI), kUnavailable (server unreachable), kDataLoss (the
// database's consumer-group schema is newer than this binary), the errors of a failed migration.
Result<std::unique_ptr<groups::GroupStorage>> OpenPgGroupStore(std::string_view uri,
                                                               bool create_if_missing = true);

}  // namespace triad::internal::pg
