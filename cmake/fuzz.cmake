# fuzz.cmake - libFuzzer harnesses (tests/fuzz/fuzz_*.c), built with -DKB_FUZZ=ON and
# CC=clang (scripts/fuzz does both, in build-fuzz/). Included at the end of the top-level
# CMakeLists.txt; with KB_FUZZ off it returns at once and changes nothing.
#
# The libraries the harnesses reach (kbcore, kbgen, kbserver) are compiled with coverage
# instrumentation (fuzzer-no-link) and AddressSanitizer + UndefinedBehaviorSanitizer;
# every UBSan finding aborts, so libFuzzer sees it as a crash. The sanitizer runtimes
# are linked into everything that links kbcore (kb, the tests, the benchmarks), so the
# whole tree still builds in this configuration; only the harnesses get libFuzzer's
# main(). Target `kb-fuzz` builds every harness.
option(KB_FUZZ "Build the libFuzzer harnesses (needs clang)" OFF)
if(NOT KB_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "KB_FUZZ=ON needs clang: configure with CC=clang (scripts/fuzz does)")
endif()

set(KB_FUZZ_SANITIZERS address,undefined)
set(KB_FUZZ_COMPILE_FLAGS -fsanitize=fuzzer-no-link,${KB_FUZZ_SANITIZERS} -fno-sanitize-recover=all
    -fno-omit-frame-pointer -g)
foreach(lib kbcore kbgen kbserver)
  if(TARGET ${lib})
    target_compile_options(${lib} PRIVATE ${KB_FUZZ_COMPILE_FLAGS})
  endif()
endforeach()
target_link_options(kbcore INTERFACE -fsanitize=${KB_FUZZ_SANITIZERS})

set(KB_FUZZ_DIR ${CMAKE_SOURCE_DIR}/tests/fuzz)
# target -> extra libraries beyond kbcore. fuzz_site.c builds content/ into a small site
# (with kbgen) for the targets that need an index or a server.
set(KB_FUZZ_TARGETS stack frontmatter markdown mustache search url http)
add_custom_target(kb-fuzz)
foreach(t ${KB_FUZZ_TARGETS})
  set(name fuzz_${t})
  add_executable(${name} ${KB_FUZZ_DIR}/${name}.c)
  target_include_directories(${name} PRIVATE ${KB_FUZZ_DIR})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,${KB_FUZZ_SANITIZERS} -fno-sanitize-recover=all
                         -fno-omit-frame-pointer -g)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,${KB_FUZZ_SANITIZERS})
  target_compile_definitions(${name} PRIVATE KB_FUZZ_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  target_link_libraries(${name} PRIVATE kbcore)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  add_dependencies(kb-fuzz ${name})
endforeach()

# The targets that fuzz against a built site: search (the index) and http (the server).
foreach(name fuzz_search fuzz_http)
  target_sources(${name} PRIVATE ${KB_FUZZ_DIR}/fuzz_site.c)
  target_link_libraries(${name} PRIVATE kbgen)
endforeach()
if(TARGET kbserver)
  target_link_libraries(fuzz_url PRIVATE kbserver)
  target_link_libraries(fuzz_http PRIVATE kbserver)
else()
  message(FATAL_ERROR "KB_FUZZ=ON needs the server sources (server/*.c)")
endif()
