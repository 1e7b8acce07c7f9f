#!/usr/bin/env bash
# Installs the library from BUILD_DIR into a temporary prefix and builds a tiny program against
# it with find_package(triad), as an application embedding Triad would.
#   scripts/install-check.sh [BUILD_DIR] [cmake args for the program, e.g. sanitizer flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
shift || true
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
mkdir -p "$tmp/app"
cat >"$tmp/app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(embed LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(triad REQUIRED CONFIG)
add_executable(embed main.cc)
target_link_libraries(embed PRIVATE triad::triad)
CMAKE
cat >"$tmp/app/main.cc" <<'CXX'
// The README's embedding example: an append, a projection, and a query that waits for it.
#include <triad/event_store.h>
#include <triad/projection_engine.h>
#include <cstdio>
int main(int, char** argv) {
  auto store = triad::EventStore::Open({}, std::string("sqlite:") + argv[1]);
  if (!store.ok()) return 1;
  triad::NewEvent e{.type = "Installed", .data = R"({"owner":"ada"})"};
  auto r = (*store)->Append("install-1", triad::ExpectedVersion::NoStream(), {&e, 1});
  if (!r.ok()) return std::printf("%s\n", r.status().ToString().c_str()), 1;
  triad::ProjectionDefinition owners{.name = "owners", .event_types = {"Installed"}};
  owners.collections = {{"owners", {{"owner", triad::IndexType::kString}}}};
  owners.key = triad::DocumentKey::kStream;
  owners.on_event = [](const triad::EventView& ev, triad::ProjectionContext& ctx) -> triad::Status {
    auto doc = ctx.Upsert("owners", ev.stream);
    if (!doc.ok()) return doc.status();
    (**doc)["owner"] = nlohmann::json::parse(ev.data).value("owner", "");
    return {};
  };
  auto engine = triad::ProjectionEngine::Open(store->get(), {});
  if (!engine.ok() || !(*engine)->Register(owners).ok() || !(*engine)->Start().ok()) return 1;
  triad::Query by_owner{.filters = {{"owner", triad::FilterOp::kEq, {std::string("ada")}}}};
  triad::ReadOptions mine{.min_position = r->last_position, .timeout_us = 10'000'000};
  auto page = (*engine)->Find("owners", by_owner, mine);
  if (!page.ok() || page->documents.size() != 1) return 1;
  std::printf("embedded append and projection query ok (as of %lld)\n",
              static_cast<long long>(page->as_of));
  return 0;
}
CXX
cmake -S "$tmp/app" -B "$tmp/app/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" "$@" >/dev/null
cmake --build "$tmp/app/build" >/dev/null
"$tmp/app/build/embed" "$tmp/app/store.db"
