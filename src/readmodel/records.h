// Rows of rm_projections (ProjectionRecord) and rm_dead_letters (DeadLetter): reads and writes
// on one connection, inside whatever transaction it has open.
#pragma once

#include "storage/sqlite/sqlite_db.h"

#include "triad/read_model_backend.h"

#include <optional>
#include <string_view>
#include <vector>

namespace triad::internal::readmodel {

Result<std::optional<ProjectionRecord>> ReadProjection(sqlite::Connection& conn,
                                                       std::string_view name, int32_t version);
// Every record, by name then version.
Result<std::vector<ProjectionRecord>> ReadProjections(sqlite::Connection& conn);
Status WriteProjection(sqlite::Connection& conn, const ProjectionRecord& record);
Status DeleteProjectionRow(sqlite::Connection& conn, std::string_view name, int32_t version);

// The checkpoint of `name`@`version`, 0 when it has no record.
Result<Position> ReadCheckpoint(sqlite::Connection& conn, std::string_view name, int32_t version);

Status WriteDeadLetter(sqlite::Connection& conn, const DeadLetter& letter);
Status DeleteDeadLetterRow(sqlite::Connection& conn, std::string_view projection, int32_t version,
                           Position position);
Status DeleteDeadLetterRows(sqlite::Connection& conn, std::string_view projection, int32_t version);
// In position order.
Result<std::vector<DeadLetter>> ReadDeadLetters(sqlite::Connection& conn,
                                                std::string_view projection, int32_t version);

}  // namespace triad::internal::readmodel
