# Extras of the api module (included right after its vigil_module line).
# Beast/Asio headers are heavy and every Beast-using .cc in vigil_api parses
# them: precompile them once. The dashboard's default location is the source
# tree's web/ (VIGIL_WEB_DIR overrides at run time).
if(TARGET vigil_api)
  get_target_property(_vigil_api_type vigil_api TYPE)
  if(NOT _vigil_api_type STREQUAL "INTERFACE_LIBRARY")
    target_compile_definitions(vigil_api PRIVATE VIGIL_DEFAULT_WEB_DIR="${PROJECT_SOURCE_DIR}/web")
    target_precompile_headers(vigil_api PRIVATE ${PROJECT_SOURCE_DIR}/src/api/beast.h)
  endif()
endif()
