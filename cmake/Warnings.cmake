# Warnings for our own targets only: generated code and third-party headers
# are not ours to fix, so they are not held to -Werror-clean standards.
function(persist_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
    -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # Checks the ABSL_GUARDED_BY annotations at compile time.
    target_compile_options(${target} PRIVATE -Wthread-safety)
  endif()
  if(PERSIST_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
option(PERSIST_WERROR "Treat warnings in persist's own code as errors" OFF)
