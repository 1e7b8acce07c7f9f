// The PostgreSQL schema of the read-model store (docs/storage-format.md, "PostgreSQL"): its
// migrations, applied by pg::Migrate under the component name "readmodel". Collections get their
// own tables and indexes at run time (pg_read_model.cc), named rm_c<id>.
//
// Every text column that is compared or ordered uses COLLATE "C", so that ordering is byte-wise
// as in SQLite and docs/queries.md, whatever the database's default collation.
#pragma once

#include <array>

#include "postgres/pg_migrations.h"

namespace triad::internal::pg {

inline constexpr const char* kReadModelComponent = "readmodel";

inline constexpr std::array kReadModelMigrations = {
    Migration{1, "read-model tables", R"sql(
CREATE TABLE rm_meta (
  key   text COLLATE "C" PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO rm_meta (key, value) VALUES ('catalog_version', 0);

CREATE TABLE rm_collections (
  id      bigserial PRIMARY KEY,
  name    text COLLATE "C" NOT NULL UNIQUE,
  indexes text NOT NULL
);

CREATE TABLE rm_projections (
  name                text COLLATE "C" NOT NULL,
  version             integer NOT NULL,
  checkpoint          bigint NOT NULL,
  serving             boolean NOT NULL,
  paused              boolean NOT NULL,
  faulted             boolean NOT NULL,
  retired             boolean NOT NULL,
  stop_at             bigint NOT NULL,
  last_tick_us        bigint NOT NULL,
  last_error          text NOT NULL,
  last_error_position bigint NOT NULL,
  collections         text NOT NULL,
  PRIMARY KEY (name, version)
);

CREATE TABLE rm_dead_letters (
  projection     text COLLATE "C" NOT NULL,
  version        integer NOT NULL,
  position       bigint NOT NULL,
  stream         text NOT NULL,
  stream_version bigint NOT NULL,
  event_type     text NOT NULL,
  error          text NOT NULL,
  kind           text NOT NULL,
  recorded_at    bigint NOT NULL,
  attempts       integer NOT NULL,
  PRIMARY KEY (projection, version, position)
);
)sql"},
};

}  // namespace triad::internal::pg
