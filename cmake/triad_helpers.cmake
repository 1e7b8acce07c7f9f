# Helpers shared by every CMakeLists.txt of the project.

# Warnings and sanitizers applied to every target we build.
function(triad_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
  if(TRIAD_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${TRIAD_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${TRIAD_SANITIZE})
  endif()
endfunction()

# triad_test(NAME src1.cc [src2.cc ...] [LIBS lib ...])
# One GoogleTest executable per test file, registered with CTest test by test.
function(triad_test name)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE triad_testing ${ARG_LIBS} GTest::gtest GTest::gmock
                                        GTest::gtest_main)
  triad_target_defaults(${name})
  # Most of a test's compile time goes to gtest, gmock and nlohmann/json: parse them once.
  if(TARGET triad_test_pch)
    target_precompile_headers(${name} REUSE_FROM triad_test_pch)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
