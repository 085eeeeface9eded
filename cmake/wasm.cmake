# wasm.cmake - kb.wasm: the core's search, stack parser and matcher compiled for the
# browser (clang --target=wasm32-wasi with Debian's clang, lld, wasi-libc and
# libclang-rt-14-dev-wasm32), and the official SQLite WebAssembly build it runs on
# (@sqlite.org/sqlite-wasm from npm), gathered in ${CMAKE_BINARY_DIR}/wasm/ where
# `kb build` finds them and copies them into the site (_kb/wasm/). Included from the
# top-level CMakeLists.txt; without the toolchain it says so and the site is published
# without in-browser search (pages then need `kb serve` for search and paste).
find_program(KB_WASM_CLANG NAMES clang-14 clang)
set(KB_WASM_SYSROOT_OK FALSE)
if(KB_WASM_CLANG AND EXISTS /usr/include/wasm32-wasi/stdio.h AND EXISTS /usr/lib/wasm32-wasi/libc.a)
  file(GLOB KB_WASM_RT /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a)
  if(KB_WASM_RT)
    set(KB_WASM_SYSROOT_OK TRUE)
  endif()
endif()
if(NOT KB_WASM_SYSROOT_OK)
  message(STATUS "kb.wasm: not built (needs clang, lld, wasi-libc, libclang-rt-14-dev-wasm32; scripts/deps installs them)")
  return()
endif()

set(KB_WASM_DIR ${CMAKE_BINARY_DIR}/wasm)
file(GLOB KB_WASM_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/core/util/*.c ${CMAKE_SOURCE_DIR}/core/stack/*.c ${CMAKE_SOURCE_DIR}/wasm/*.c)
list(APPEND KB_WASM_SOURCES ${CMAKE_SOURCE_DIR}/core/index/reader.c ${CMAKE_SOURCE_DIR}/core/match/match.c
     ${CMAKE_SOURCE_DIR}/core/search/search.c ${CMAKE_SOURCE_DIR}/core/search/highlight.c ${KB_SKIPLISTS_C})
file(GLOB KB_WASM_HEADERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/core/*/*.h ${CMAKE_SOURCE_DIR}/wasm/*.h
     ${CMAKE_SOURCE_DIR}/wasm/include/*.h ${CMAKE_SOURCE_DIR}/wasm/include/*/*.h)
# -Oz: the module is downloaded by every reader of a snapshot; the exports are named in
# wasm/exports.c, the imports (module "kbhost") in wasm/host.h.
add_custom_command(OUTPUT ${KB_WASM_DIR}/kb.wasm
  COMMAND ${CMAKE_COMMAND} -E make_directory ${KB_WASM_DIR}
  COMMAND ${KB_WASM_CLANG} --target=wasm32-wasi -std=c17 -Oz -D_GNU_SOURCE
          -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
          -mexec-model=reactor -Wl,--gc-sections -Wl,--strip-all
          -I${CMAKE_SOURCE_DIR}/wasm/include -I${CMAKE_SOURCE_DIR}/wasm -I${CMAKE_SOURCE_DIR}/core
          ${KB_WASM_SOURCES} -o ${KB_WASM_DIR}/kb.wasm
  DEPENDS ${KB_WASM_SOURCES} ${KB_WASM_HEADERS}
  COMMENT "Building kb.wasm (the core for the browser)" VERBATIM)

# The SQLite build the page runs kb.wasm on: from node_modules (npm ci; pinned in
# package-lock.json), copied as published.
set(KB_SQLITE_WASM_DIST ${CMAKE_SOURCE_DIR}/node_modules/@sqlite.org/sqlite-wasm/dist)
set(KB_WASM_OUTPUTS ${KB_WASM_DIR}/kb.wasm)
# index.mjs becomes sqlite3.js: python's http.server and nginx's default MIME table do not
# know .mjs, and a module script served as application/octet-stream is refused.
if(EXISTS ${KB_SQLITE_WASM_DIST}/sqlite3.wasm)
  foreach(pair "index.mjs=sqlite3.js" "sqlite3.wasm=sqlite3.wasm")
    string(REPLACE "=" ";" pair ${pair})
    list(GET pair 0 from)
    list(GET pair 1 to)
    add_custom_command(OUTPUT ${KB_WASM_DIR}/${to}
      COMMAND ${CMAKE_COMMAND} -E copy ${KB_SQLITE_WASM_DIST}/${from} ${KB_WASM_DIR}/${to}
      DEPENDS ${KB_SQLITE_WASM_DIST}/${from} VERBATIM)
    list(APPEND KB_WASM_OUTPUTS ${KB_WASM_DIR}/${to})
  endforeach()
else()
  message(STATUS "kb.wasm: @sqlite.org/sqlite-wasm not in node_modules (run npm ci): snapshots get no in-browser search")
endif()
# Each also gzipped: a plain static server (python3 -m http.server, nginx's default
# gzip_types) sends .wasm and .mjs uncompressed; the page fetches the .gz copies and
# inflates them itself (DecompressionStream), about 2.5 times fewer bytes to the first answer.
find_program(KB_GZIP gzip REQUIRED)
set(KB_WASM_GZ)
foreach(f ${KB_WASM_OUTPUTS})
  add_custom_command(OUTPUT ${f}.gz
    COMMAND ${KB_GZIP} -9 -n -f -k ${f}
    DEPENDS ${f} VERBATIM)
  list(APPEND KB_WASM_GZ ${f}.gz)
endforeach()
add_custom_target(kb-wasm ALL DEPENDS ${KB_WASM_OUTPUTS} ${KB_WASM_GZ})
