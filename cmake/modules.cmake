# vigil_module(name DEPS ...): the library vigil::<name> from src/<name>/*.cc.
# A module with no sources yet is an INTERFACE library, so dependents link.
function(vigil_module name)
  cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cc)
  if(srcs)
    add_library(vigil_${name} STATIC ${srcs})
    target_include_directories(vigil_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(vigil_${name} PUBLIC ${M_DEPS} PRIVATE vigil_warnings)
  else()
    add_library(vigil_${name} INTERFACE)
    target_include_directories(vigil_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(vigil_${name} INTERFACE ${M_DEPS})
  endif()
  add_library(vigil::${name} ALIAS vigil_${name})
endfunction()

# vigil_module_tests(name): tests/<name>/*_test.cc -> one GoogleTest binary.
# Tests find shared data through VIGIL_SHARED_DIR (../shared by default) and
# the built binary through VIGIL_BINARY.
function(vigil_module_tests name)
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${name}/*_test.cc)
  if(NOT srcs)
    return()
  endif()
  file(GLOB helpers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${name}/*_helpers.cc)
  add_executable(${name}_test ${srcs} ${helpers})
  target_link_libraries(${name}_test PRIVATE vigil::${name} GTest::gtest GTest::gtest_main GTest::gmock vigil_warnings)
  target_include_directories(${name}_test PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(${name}_test PRIVATE
    VIGIL_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    VIGIL_BINARY="${CMAKE_BINARY_DIR}/vigil")
  gtest_discover_tests(${name}_test DISCOVERY_TIMEOUT 60 PROPERTIES LABELS ${name}
                       ENVIRONMENT "VIGIL_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
