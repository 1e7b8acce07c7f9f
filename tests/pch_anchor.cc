// The one source of triad_test_pch, the target whose precompiled header every test reuses
// (tests/CMakeLists.txt). It defines nothing.
