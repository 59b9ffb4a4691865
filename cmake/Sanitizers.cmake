# PERSIST_SANITIZE applies to everything built here, so that instrumented and
# uninstrumented code do not meet (TSan in particular reports false races
# otherwise). System libraries from Debian stay uninstrumented; that is why
# the TSan build only runs tests of our own synchronization.
if(PERSIST_SANITIZE)
  set(_flags "-fsanitize=${PERSIST_SANITIZE}" -fno-omit-frame-pointer -g)
  if(PERSIST_SANITIZE MATCHES "undefined")
    list(APPEND _flags -fno-sanitize-recover=undefined)
  endif()
  add_compile_options(${_flags})
  add_link_options("-fsanitize=${PERSIST_SANITIZE}")
endif()
