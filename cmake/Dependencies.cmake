# Every dependency is a Debian 12 package (scripts/setup installs them); see docs/dependencies.md.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(zydis 4.0 REQUIRED CONFIG)            # Zydis::Zydis
find_package(asmjit REQUIRED CONFIG)               # asmjit::asmjit (ships no version file)
find_package(nlohmann_json 3.11 REQUIRED CONFIG)   # nlohmann_json::nlohmann_json
pkg_check_modules(LIBELF   REQUIRED IMPORTED_TARGET libelf)
pkg_check_modules(UNWINDPT REQUIRED IMPORTED_TARGET libunwind-ptrace)
pkg_check_modules(SYSTEMD  REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(SODIUM   REQUIRED IMPORTED_TARGET libsodium)
# libdwarf 20210528 ships neither a .pc file nor a CMake config.
find_path(LIBDWARF_INCLUDE_DIR libdwarf.h PATH_SUFFIXES libdwarf REQUIRED)
find_library(LIBDWARF_LIBRARY NAMES dwarf REQUIRED)
add_library(hotpatch_libdwarf INTERFACE)
target_include_directories(hotpatch_libdwarf INTERFACE ${LIBDWARF_INCLUDE_DIR})
target_link_libraries(hotpatch_libdwarf INTERFACE ${LIBDWARF_LIBRARY} PkgConfig::LIBELF z)
if(BUILD_TESTING OR NOT DEFINED BUILD_TESTING)
  find_package(Catch2 2.13 REQUIRED CONFIG)        # Catch2::Catch2, Catch2::Catch2WithMain (v2)
endif()
