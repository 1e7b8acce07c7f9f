# Helpers shared by every CMakeLists.txt of the project.

# Warnings and sanitizers applied to every target we build.
function(triad_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra $<$<BOOL:${TRIAD_WERROR}>:-Werror>
                                           -Wno-missing-field-initializers)
  # GCC 12's optimizer reports `"literal" + std::string&&` as a memcpy whose ranges may overlap
  # (-Wrestrict, in C++20 at -O2 and above): a false positive inside libstdc++ that many projects
  # have met, not a defect of ours, and it appears wherever a message is built that way.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(TRIAD_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${TRIAD_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${TRIAD_SANITIZE})
    # clang 14's -fsanitize=function (part of `undefined`, absent from gcc) breaks the assembly of
    # C++20 coroutines ("Cannot represent a difference across sections"): the server's
    # Boost.Beast code does not build with it.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND TRIAD_SANITIZE MATCHES "undefined")
      target_compile_options(${target} PRIVATE -fno-sanitize=function)
    endif()
  endif()
endfunction()

# triad_test(NAME src1.cc [src2.cc ...] [LIBS lib ...] [LABELS label ...] [PG_VARIANT])
# One GoogleTest executable per test file, registered with CTest test by test, with the CTest
# LABELS given. PG_VARIANT registers every test a second time as pg.<test>, run with
# TRIAD_TEST_STORE=postgres (the fixture then puts its stores on TRIAD_TEST_POSTGRES) and
# labelled `postgres`.
function(triad_test name)
  cmake_parse_arguments(ARG "PG_VARIANT" "" "LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE triad_testing ${ARG_LIBS} GTest::gtest GTest::gmock
                                        GTest::gtest_main)
  triad_target_defaults(${name})
  # Most of a test's compile time goes to gtest, gmock and nlohmann/json: parse them once.
  if(TARGET triad_test_pch)
    target_precompile_headers(${name} REUSE_FROM triad_test_pch)
  endif()
  if(ARG_LABELS)
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600 LABELS "${ARG_LABELS}")
  else()
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
  endif()
  if(ARG_PG_VARIANT)
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 TEST_PREFIX "pg."
                         PROPERTIES TIMEOUT 600 ENVIRONMENT "TRIAD_TEST_STORE=postgres"
                                    LABELS "postgres;${ARG_LABELS}")
  endif()
endfunction()
