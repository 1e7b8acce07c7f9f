#!/usr/bin/env bash
# Installs the library from BUILD_DIR into a temporary prefix and builds a tiny program against
# it with find_package(triad), as an application embedding Triad would.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
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
#include <triad/event_store.h>
#include <cstdio>
int main(int, char** argv) {
  auto store = triad::EventStore::Open({}, std::string("sqlite:") + argv[1]);
  if (!store.ok()) return 1;
  triad::NewEvent e{.type = "Installed"};
  auto r = (*store)->Append("install-1", triad::ExpectedVersion::NoStream(), {&e, 1});
  std::printf("%s\n", r.ok() ? "embedded append ok" : r.status().ToString().c_str());
  return r.ok() ? 0 : 1;
}
CXX
cmake -S "$tmp/app" -B "$tmp/app/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/app/build" >/dev/null
"$tmp/app/build/embed" "$tmp/app/store.db"
