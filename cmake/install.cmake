# What `cmake --install` puts in place: the C SDK (library, headers, generated
# headers, .proto files, CMake package, pkg-config file), the testbus command,
# the shipped components beside it, and the examples the built-in pipeline runs.
include(GNUInstallDirs)

install(TARGETS testbus LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/testbus DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_BINARY_DIR}/gen/testbus/v1 DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/testbus
        FILES_MATCHING PATTERN "*.pb-c.h")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/proto/testbus
        DESTINATION ${CMAKE_INSTALL_DATADIR}/testbus/proto FILES_MATCHING PATTERN "*.proto")

configure_file(${CMAKE_SOURCE_DIR}/cmake/testbusConfig.cmake.in
               ${CMAKE_BINARY_DIR}/cmake/testbusConfig.cmake @ONLY)
include(CMakePackageConfigHelpers)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/testbusConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmake/testbusConfig.cmake
              ${CMAKE_BINARY_DIR}/cmake/testbusConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/testbus)
# The .pc file is written at install time, for the prefix actually used.
install(CODE "
  set(CMAKE_INSTALL_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(CMAKE_INSTALL_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/cmake/testbus.pc.in\"
                 \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/testbus.pc\" @ONLY)
")

if(TARGET testbus-cmd)
  install(TARGETS testbus-cmd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
file(GLOB installed_component_dirs LIST_DIRECTORIES true ${CMAKE_SOURCE_DIR}/components/*)
foreach(dir ${installed_component_dirs})
  get_filename_component(name ${dir} NAME)
  if(TARGET testbus-${name})
    install(TARGETS testbus-${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
install(DIRECTORY ${CMAKE_SOURCE_DIR}/examples DESTINATION ${CMAKE_INSTALL_DATADIR}/testbus)
