# vigil_warnings: an INTERFACE target carrying the project's warning flags.
add_library(vigil_warnings INTERFACE)
# -Wshadow=local is GCC-only (clang, used for the fuzzers, rejects it).
target_compile_options(vigil_warnings INTERFACE -Wall -Wextra -Wpedantic $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local> -Wnon-virtual-dtor
                                                -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
if(VIGIL_WERROR)
  target_compile_options(vigil_warnings INTERFACE -Werror)
endif()
