// Rows of rm_projections (ProjectionRecord) and rm_dead_letters (DeadLetter) on PostgreSQL:
// reads and writes on one connection, inside whatever transaction it has open. The PostgreSQL
// counterpart of readmodel/records.h.
#pragma once

#include "triad/read_model_backend.h"

#include <optional>
#include <string_view>
#include <vector>

#include "postgres/pg_connection.h"

namespace triad::internal::pg {

// The record of `name`@`version`, or nullopt. Read FOR UPDATE: the row stays locked until the
// transaction ends, so a read-modify-write of the record (a batch, an operator action) is not
// lost to another node's concurrent one. REQUIRES: inside a transaction.
Result<std::optional<ProjectionRecord>> PgReadProjection(PgConnection& conn, std::string_view name,
                                                         int32_t version);
// Every record, by name then version.
Result<std::vector<ProjectionRecord>> PgReadProjections(PgConnection& conn);
Status PgWriteProjection(PgConnection& conn, const ProjectionRecord& record);
Status PgDeleteProjection(PgConnection& conn, std::string_view name, int32_t version);

// The checkpoint of `name`@`version`, 0 when it has no record.
Result<Position> PgReadCheckpoint(PgConnection& conn, std::string_view name, int32_t version);

Status PgWriteDeadLetter(PgConnection& conn, const DeadLetter& letter);
Status PgDeleteDeadLetter(PgConnection& conn, std::string_view projection, int32_t version,
                          Position position);
Status PgDeleteDeadLetters(PgConnection& conn, std::string_view projection, int32_t version);
// In position order.
Result<std::vector<DeadLetter>> PgReadDeadLetters(PgConnection& conn, std::string_view projection,
                                                  int32_t version);

}  // namespace triad::internal::pg
