# VIGIL_SANITIZE=address,undefined or thread: applied to every target.
if(VIGIL_SANITIZE)
  message(STATUS "Sanitizers: ${VIGIL_SANITIZE}")
  add_compile_options(-fsanitize=${VIGIL_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${VIGIL_SANITIZE})
endif()
