# `cmake --install`: the libraries a program links to use persist (the C++
# client, its generated API, the embedded engine), their public headers, the
# .proto files, persistd and persistctl, a CMake package config and
# pkg-config files:
#
#   find_package(persist CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE persist::client)   # or persist::storage
#
#   c++ app.cc $(pkg-config --cflags --libs --static persist-client)
#
# The libraries are static; their dependencies are Debian's packages, which
# the package config finds again (find_dependency) for the program.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PERSIST_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/persist)
# Headers go under include/persist/, which is what programs put on their
# include path: "storage/store.h" and "grpc/health/v1/health.pb.h" must not
# land beside other projects' base/ or gRPC's own grpc/.
set(PERSIST_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/persist)

foreach(target base json storage proto client)
  set_target_properties(persist_${target} PROPERTIES EXPORT_NAME ${target})
  target_include_directories(persist_${target} INTERFACE
    $<INSTALL_INTERFACE:${PERSIST_INSTALL_INCLUDEDIR}>)
endforeach()
install(TARGETS persist_base persist_json persist_storage persist_proto
    persist_client
  EXPORT persistTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS persistd persistctl
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Public headers only: storage/internal/ and json/internal/ stay out.
# Public headers only: storage/internal/, json/internal/ and the programs'
# own helpers stay out.
install(DIRECTORY base storage json
  DESTINATION ${PERSIST_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h"
  PATTERN "internal" EXCLUDE
  PATTERN "command_line.h" EXCLUDE
  PATTERN "version.h" EXCLUDE)
install(FILES clients/cpp/persist_client.h clients/cpp/watch_call.h
  clients/cpp/cached_map.h clients/cpp/backup.h clients/cpp/write_batch.h
  DESTINATION ${PERSIST_INSTALL_INCLUDEDIR}/clients/cpp)
install(DIRECTORY ${PROJECT_BINARY_DIR}/proto/
  DESTINATION ${PERSIST_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.pb.h")
# The API's .proto files, for clients in other languages (protoc -I).
install(DIRECTORY proto/
  DESTINATION ${CMAKE_INSTALL_DATADIR}/persist/proto
  FILES_MATCHING PATTERN "*.proto")

install(EXPORT persistTargets
  NAMESPACE persist::
  DESTINATION ${PERSIST_INSTALL_CMAKEDIR})
configure_package_config_file(cmake/persistConfig.cmake.in
  ${PROJECT_BINARY_DIR}/persistConfig.cmake
  INSTALL_DESTINATION ${PERSIST_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_DATADIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/persistConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/persistConfig.cmake
  ${PROJECT_BINARY_DIR}/persistConfigVersion.cmake
  DESTINATION ${PERSIST_INSTALL_CMAKEDIR})

# pkg-config: the client and the engine, with their libraries in link order.
# Their prefix is found from where the .pc file is (${pcfiledir}), so that
# `cmake --install --prefix` works.
file(RELATIVE_PATH PERSIST_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
set(PERSIST_PC_ABSL "absl_status absl_statusor absl_strings absl_synchronization absl_time absl_hash absl_str_format absl_cleanup absl_flat_hash_map absl_flat_hash_set absl_btree absl_inlined_vector")
configure_file(cmake/persist-client.pc.in
  ${PROJECT_BINARY_DIR}/persist-client.pc @ONLY)
configure_file(cmake/persist-storage.pc.in
  ${PROJECT_BINARY_DIR}/persist-storage.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/persist-client.pc
  ${PROJECT_BINARY_DIR}/persist-storage.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
