# Every dependency is a Debian 12 package installed by scripts/install-deps.sh.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libavutil libswresample)
pkg_check_modules(EBUR128 REQUIRED IMPORTED_TARGET libebur128)
pkg_check_modules(FFTW3F REQUIRED IMPORTED_TARGET fftw3f)
# The service's HTTP edge: Boost.Beast over Asio, header-only (libboost1.81-dev).
find_package(Boost 1.81 REQUIRED)
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(spdlog REQUIRED)
if(SPECTRUM_BUILD_TESTS)
  # Tests only: a plain HTTP client (and small fake servers) for talking to the real binary.
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(SPECTRUM_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# Helper: a GoogleTest executable registered with CTest.
function(spectrum_add_gtest name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS;PROPERTIES" ${ARGN})
  if(NOT ARG_SOURCES)
    return()  # a module whose tests have not been written yet
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main spectrum_warnings)
  target_compile_definitions(${name} PRIVATE
    SPECTRUM_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared"
    SPECTRUM_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SPECTRUM_CLI_PATH="$<TARGET_FILE:spectrum-master>")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}" ${ARG_PROPERTIES})
endfunction()
