# Every third-party library comes from Debian 12's packages (scripts/bootstrap).
# Third-party headers are included as SYSTEM so -Werror applies to our code only.
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenCV 4.6 REQUIRED COMPONENTS core imgproc imgcodecs dnn objdetect videoio calib3d)
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)

add_library(vigil_sodium INTERFACE)
target_link_libraries(vigil_sodium INTERFACE PkgConfig::SODIUM)
add_library(vigil::sodium ALIAS vigil_sodium)

add_library(vigil_opencv INTERFACE)
target_include_directories(vigil_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
target_link_libraries(vigil_opencv INTERFACE ${OpenCV_LIBS})
add_library(vigil::opencv ALIAS vigil_opencv)

add_library(vigil_onnx INTERFACE)
target_compile_definitions(vigil_onnx INTERFACE ONNX_ML=1 ONNX_NAMESPACE=onnx)
target_link_libraries(vigil_onnx INTERFACE onnx_proto protobuf::libprotobuf)
add_library(vigil::onnx ALIAS vigil_onnx)

add_library(vigil_hnswlib INTERFACE)  # header-only, /usr/include/hnswlib
add_library(vigil::hnswlib ALIAS vigil_hnswlib)

add_library(vigil_libpq INTERFACE)
target_link_libraries(vigil_libpq INTERFACE PostgreSQL::PostgreSQL)
add_library(vigil::libpq ALIAS vigil_libpq)

add_library(vigil_beast INTERFACE)
target_include_directories(vigil_beast SYSTEM INTERFACE ${Boost_INCLUDE_DIRS})
target_compile_definitions(vigil_beast INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
target_link_libraries(vigil_beast INTERFACE OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
add_library(vigil::beast ALIAS vigil_beast)

find_package(GTest REQUIRED)
find_package(benchmark QUIET)
