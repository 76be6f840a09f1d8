# VIGIL_SANITIZE=address,undefined or thread: applied to every target.
# scripts/sanitize builds both with -O1 -g1 (docs/testing.md).
if(VIGIL_SANITIZE)
  message(STATUS "Sanitizers: ${VIGIL_SANITIZE}")
  add_compile_options(-fsanitize=${VIGIL_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${VIGIL_SANITIZE})
  if(VIGIL_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC warns that TSan cannot instrument std::atomic_thread_fence, which
    # Boost.Asio's handler invocation (std_fenced_block) uses; with -Werror
    # that fails every Beast/Asio file. Asio's queues hand work between
    # threads under mutexes, which TSan does see, so the fence is not what
    # orders Vigil's data.
    add_compile_options(-Wno-tsan)
  endif()
endif()
