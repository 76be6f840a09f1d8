# vigil_warnings: an INTERFACE target carrying the project's warning flags.
add_library(vigil_warnings INTERFACE)
target_compile_options(vigil_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor
                                                -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
if(VIGIL_WERROR)
  target_compile_options(vigil_warnings INTERFACE -Werror)
endif()
