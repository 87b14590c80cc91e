# CMake package configuration of ftpc, installed by `cargo cinstall` (cargo-c, see
# [package.metadata.capi] in Cargo.toml) as DATADIR/cmake/ftpc/ftpcConfig.cmake, next to
# ftpcConfigVersion.cmake.
#
#   find_package(ftpc 0.1 CONFIG REQUIRED)    # add the prefix to CMAKE_PREFIX_PATH
#   target_link_libraries(app PRIVATE ftpc::ftpc)
#
# Imported targets:
#   ftpc::shared   LIBDIR/libftpc.so (the real file it points to, SONAME libftpc.so.0.MINOR)
#   ftpc::static   LIBDIR/libftpc.a, with the system libraries it needs: the Libs.private of
#                  the installed ftpc.pc, which cargo-c took from rustc's
#                  --print native-static-libs (OpenSSL, pthread, dl, m, ...)
#   ftpc::ftpc     ftpc::shared; ftpc::static when FTPC_USE_STATIC_LIBS is true or only the
#                  static library is installed
# Components: shared, static, e.g. find_package(ftpc CONFIG REQUIRED COMPONENTS static).
# Variables: ftpc_VERSION (from ftpcConfigVersion.cmake), ftpc_INCLUDE_DIR, ftpc_LIBRARY_DIR,
# ftpc_STATIC_LINK_LIBRARIES.
#
# Nothing here is written at install time: the prefix is found from this file's place
# (PREFIX/share/cmake/ftpc), the library directory as the one of PREFIX/lib/<multiarch>,
# PREFIX/lib64 and PREFIX/lib that holds pkgconfig/ftpc.pc, so the package can be moved or
# staged with DESTDIR. The header is PREFIX/include/ftpc/ftpc.h, which is where cargo-c
# puts it by default.

cmake_policy(PUSH)
cmake_policy(VERSION 3.13...3.28)

get_filename_component(_ftpc_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

set(_ftpc_libdir "")
foreach(_ftpc_dir IN ITEMS "lib/${CMAKE_LIBRARY_ARCHITECTURE}" lib64 lib)
    if(EXISTS "${_ftpc_prefix}/${_ftpc_dir}/pkgconfig/ftpc.pc")
        set(_ftpc_libdir "${_ftpc_prefix}/${_ftpc_dir}")
        break()
    endif()
endforeach()
set(_ftpc_includedir "${_ftpc_prefix}/include/ftpc")

if(_ftpc_libdir STREQUAL "" OR NOT EXISTS "${_ftpc_includedir}/ftpc.h")
    set(ftpc_FOUND FALSE)
    set(ftpc_NOT_FOUND_MESSAGE
        "ftpc: no ftpc.pc under ${_ftpc_prefix}/lib*/pkgconfig or no ${_ftpc_includedir}/ftpc.h; was ftpc installed with `cargo cinstall --prefix ${_ftpc_prefix}`?")
    cmake_policy(POP)
    return()
endif()

set(ftpc_INCLUDE_DIR "${_ftpc_includedir}")
set(ftpc_LIBRARY_DIR "${_ftpc_libdir}")

# Libs.private of ftpc.pc: "-lssl -lcrypto ..." -> ssl;crypto;... (other flags kept as they are).
set(ftpc_STATIC_LINK_LIBRARIES "")
file(STRINGS "${_ftpc_libdir}/pkgconfig/ftpc.pc" _ftpc_libs_private REGEX "^Libs\\.private:")
if(_ftpc_libs_private)
    string(REGEX REPLACE "^Libs\\.private:[ \t]*" "" _ftpc_libs_private "${_ftpc_libs_private}")
    separate_arguments(_ftpc_libs_private UNIX_COMMAND "${_ftpc_libs_private}")
    foreach(_ftpc_item IN LISTS _ftpc_libs_private)
        if(_ftpc_item MATCHES "^-l(.+)$")
            list(APPEND ftpc_STATIC_LINK_LIBRARIES "${CMAKE_MATCH_1}")
        else()
            list(APPEND ftpc_STATIC_LINK_LIBRARIES "${_ftpc_item}")
        endif()
    endforeach()
endif()

set(ftpc_shared_FOUND FALSE)
if(EXISTS "${_ftpc_libdir}/libftpc.so")
    set(ftpc_shared_FOUND TRUE)
    if(NOT TARGET ftpc::shared)
        get_filename_component(_ftpc_so "${_ftpc_libdir}/libftpc.so" REALPATH)
        add_library(ftpc::shared SHARED IMPORTED)
        set_target_properties(ftpc::shared PROPERTIES
            IMPORTED_LOCATION "${_ftpc_so}"
            INTERFACE_INCLUDE_DIRECTORIES "${_ftpc_includedir}")
    endif()
endif()

set(ftpc_static_FOUND FALSE)
if(EXISTS "${_ftpc_libdir}/libftpc.a")
    set(ftpc_static_FOUND TRUE)
    if(NOT TARGET ftpc::static)
        add_library(ftpc::static STATIC IMPORTED)
        set_target_properties(ftpc::static PROPERTIES
            IMPORTED_LOCATION "${_ftpc_libdir}/libftpc.a"
            IMPORTED_LINK_INTERFACE_LANGUAGES C
            INTERFACE_INCLUDE_DIRECTORIES "${_ftpc_includedir}"
            INTERFACE_LINK_LIBRARIES "${ftpc_STATIC_LINK_LIBRARIES}")
    endif()
endif()

if(NOT TARGET ftpc::ftpc)
    if(ftpc_shared_FOUND AND NOT FTPC_USE_STATIC_LIBS)
        add_library(ftpc::ftpc INTERFACE IMPORTED)
        set_target_properties(ftpc::ftpc PROPERTIES INTERFACE_LINK_LIBRARIES ftpc::shared)
    elseif(ftpc_static_FOUND)
        add_library(ftpc::ftpc INTERFACE IMPORTED)
        set_target_properties(ftpc::ftpc PROPERTIES INTERFACE_LINK_LIBRARIES ftpc::static)
    endif()
endif()

set(ftpc_FOUND TRUE)
if(NOT ftpc_shared_FOUND AND NOT ftpc_static_FOUND)
    set(ftpc_FOUND FALSE)
    set(ftpc_NOT_FOUND_MESSAGE "ftpc: neither libftpc.so nor libftpc.a in ${_ftpc_libdir}")
elseif(FTPC_USE_STATIC_LIBS AND NOT ftpc_static_FOUND)
    set(ftpc_FOUND FALSE)
    set(ftpc_NOT_FOUND_MESSAGE "ftpc: FTPC_USE_STATIC_LIBS is set but ${_ftpc_libdir}/libftpc.a is not installed")
endif()
foreach(_ftpc_comp IN LISTS ftpc_FIND_COMPONENTS)
    if(NOT _ftpc_comp MATCHES "^(shared|static)$")
        set(ftpc_FOUND FALSE)
        set(ftpc_NOT_FOUND_MESSAGE "ftpc: unknown component '${_ftpc_comp}' (known: shared, static)")
    elseif(ftpc_FIND_REQUIRED_${_ftpc_comp} AND NOT ftpc_${_ftpc_comp}_FOUND)
        set(ftpc_FOUND FALSE)
        set(ftpc_NOT_FOUND_MESSAGE "ftpc: the ${_ftpc_comp} library is not installed in ${_ftpc_libdir}")
    endif()
endforeach()

unset(_ftpc_prefix)
unset(_ftpc_libdir)
unset(_ftpc_includedir)
unset(_ftpc_dir)
unset(_ftpc_so)
unset(_ftpc_libs_private)
unset(_ftpc_item)
unset(_ftpc_comp)
cmake_policy(POP)
