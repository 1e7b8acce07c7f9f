// Triad's version. This header is the one place the version is written: CMakeLists.txt reads it
// from here for project(triad VERSION ...), the package version file and the SOVERSION.
//
// The library follows semantic versioning once it reaches 1.0; before that, a change of the minor
// version may break the API or the ABI (the shared library's SOVERSION is MAJOR.MINOR).
#pragma once

// The version of the headers being compiled against.
#define TRIAD_VERSION_MAJOR 0
#define TRIAD_VERSION_MINOR 1
#define TRIAD_VERSION_PATCH 0
#define TRIAD_VERSION_STRING "0.1.0"

namespace triad {

// The version of the library linked in, as "MAJOR.MINOR.PATCH"; differs from
// TRIAD_VERSION_STRING only when an application is compiled against other headers than it runs
// with. Thread-safety: a constant.
const char* Version();

}  // namespace triad
