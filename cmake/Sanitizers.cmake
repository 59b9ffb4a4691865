# PERSIST_SANITIZE applies to everything built here, so that instrumented and
# uninstrumented code do not meet (TSan in particular reports false races
# otherwise). System libraries from Debian stay uninstrumented; that is why
# the TSan build only runs tests of our own synchronization.
if(PERSIST_SANITIZE)
  set(_flags "-fsanitize=${PERSIST_SANITIZE}" -fno-omit-frame-pointer -g)
  if(PERSIST_SANITIZE MATCHES "undefined")
    list(APPEND _flags -fno-sanitize-recover=undefined)
  endif()
  if(PERSIST_SANITIZE MATCHES "thread")
    # Debian's protobuf and abseil are built without TSan, and their headers
    # change class layouts under __SANITIZE_THREAD__ (protobuf's MapFieldBase
    # grows two counters): our instrumented code then crashes on their
    # objects. Undefining the macro keeps the headers' view of those classes
    # the same as the libraries'; the compiler still instruments every access
    # of ours. PERSIST_TSAN turns on storage/mutex.h's annotations instead.
    list(APPEND _flags -U__SANITIZE_THREAD__ -DPERSIST_TSAN=1)
  endif()
  add_compile_options(${_flags})
  add_link_options("-fsanitize=${PERSIST_SANITIZE}")
endif()

# RapidJSON 1.1.0 (Debian 12's) computes `nullptr + n` in internal::Stack the
# first time any reader, writer or string buffer grows: undefined behaviour
# by the letter, harmless in practice (the pointer is compared, never
# dereferenced), and fixed upstream after 1.1.0. UBSan stops on it, so the
# files that instantiate RapidJSON's templates are built without that one
# check, and every other check stays on for them.
function(persist_rapidjson_sources)
  if(PERSIST_SANITIZE MATCHES "undefined")
    set_source_files_properties(${ARGN} DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
      PROPERTIES COMPILE_OPTIONS "-fno-sanitize=pointer-overflow")
  endif()
endfunction()
