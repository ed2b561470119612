# HOTPATCH_SANITIZE: AddressSanitizer + UndefinedBehaviorSanitizer on host code only — the engine,
# protocol, generator, daemon, tests and their support library.
#
# Programs under examples/ and tests/targets/ stay as a real target is built: their code is what
# gets patched, and `hotpatch-gen build` rebuilds a target's sources with the target's own flags
# and must find the same function bytes (with ASan instrumentation they differ and the generator,
# correctly, refuses). Their CMakeLists.txt files set their own flags; a global
# add_compile_options would reach them too, so the options are added per target instead, after
# every directory has been read.

set(HOTPATCH_SANITIZE_COMPILE_OPTIONS
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
set(HOTPATCH_SANITIZE_LINK_OPTIONS -fsanitize=address,undefined)

# Source directories (relative to the top) whose targets are built like real targets.
set(HOTPATCH_UNSANITIZED_DIRECTORIES examples tests/targets)

function(_hotpatch_is_unsanitized_directory directory result)
  file(RELATIVE_PATH relative ${CMAKE_SOURCE_DIR} ${directory})
  foreach(excluded ${HOTPATCH_UNSANITIZED_DIRECTORIES})
    if(relative STREQUAL excluded OR relative MATCHES "^${excluded}/")
      set(${result} TRUE PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${result} FALSE PARENT_SCOPE)
endfunction()

function(_hotpatch_sanitize_directory directory)
  _hotpatch_is_unsanitized_directory(${directory} unsanitized)
  if(unsanitized)
    return()
  endif()
  get_property(targets DIRECTORY ${directory} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target ${targets})
    get_target_property(type ${target} TYPE)
    if(type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|SHARED_LIBRARY|MODULE_LIBRARY|OBJECT_LIBRARY)$")
      target_compile_options(${target} PRIVATE ${HOTPATCH_SANITIZE_COMPILE_OPTIONS})
    endif()
    if(type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|MODULE_LIBRARY)$")
      target_link_options(${target} PRIVATE ${HOTPATCH_SANITIZE_LINK_OPTIONS})
    endif()
  endforeach()
  get_property(subdirectories DIRECTORY ${directory} PROPERTY SUBDIRECTORIES)
  foreach(subdirectory ${subdirectories})
    _hotpatch_sanitize_directory(${subdirectory})
  endforeach()
endfunction()

# Call once at the end of the top-level CMakeLists.txt, after every add_subdirectory.
function(hotpatch_sanitize_host_code)
  _hotpatch_sanitize_directory(${CMAKE_SOURCE_DIR})
endfunction()
