# Dependencies: libuv, jansson, OpenSSL libcrypto (pkg-config), Check (tests), threads, and the
# embedded CPython.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv>=1.44)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson>=2.13)
# libcrypto: SHA-1 and base64 for the WebSocket handshake (RFC 6455 §4.2.2). OpenSSL 1.1.1 is the
# oldest release still found on supported distributions.
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto>=1.1.1)
if(FASTERAPI_BUILD_TESTS)
    pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET check>=0.15)
endif()

# Python: scripts/find_python.sh picks the newest CPython >= 3.12 with a shared libpython, else
# Debian's 3.11 (DESIGN.md §4). -DFASTERAPI_PYTHON=/path/to/python3.x overrides.
if(NOT FASTERAPI_PYTHON)
    execute_process(COMMAND ${PROJECT_SOURCE_DIR}/scripts/find_python.sh -v
                    OUTPUT_VARIABLE _fa_py OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE _fa_py_rc)
    if(NOT _fa_py_rc EQUAL 0)
        message(FATAL_ERROR "No usable Python: run scripts/bootstrap.sh or set -DFASTERAPI_PYTHON=")
    endif()
    set(FASTERAPI_PYTHON ${_fa_py} CACHE FILEPATH "Python interpreter whose libpython is embedded")
endif()
execute_process(
    COMMAND ${FASTERAPI_PYTHON} -c "import sys, sysconfig as s; v = s.get_config_var; print(';'.join([s.get_paths()['include'], v('LIBDIR'), v('LDLIBRARY'), '%d.%d.%d' % sys.version_info[:3], str(v('Py_GIL_DISABLED') or 0)]))"
    OUTPUT_VARIABLE _fa_pyinfo OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _fa_py_rc)
if(NOT _fa_py_rc EQUAL 0)
    message(FATAL_ERROR "Cannot query ${FASTERAPI_PYTHON}")
endif()
list(GET _fa_pyinfo 0 FASTERAPI_PYTHON_INCLUDE)
list(GET _fa_pyinfo 1 FASTERAPI_PYTHON_LIBDIR)
list(GET _fa_pyinfo 2 FASTERAPI_PYTHON_LDLIBRARY)
list(GET _fa_pyinfo 3 FASTERAPI_PYTHON_VERSION)
add_library(fasterapi_python INTERFACE)
target_include_directories(fasterapi_python SYSTEM INTERFACE ${FASTERAPI_PYTHON_INCLUDE})
target_link_libraries(fasterapi_python INTERFACE ${FASTERAPI_PYTHON_LIBDIR}/${FASTERAPI_PYTHON_LDLIBRARY})
# pyenv builds live outside the loader's search path: record it in the binaries.
set(CMAKE_BUILD_RPATH ${FASTERAPI_PYTHON_LIBDIR})
set(CMAKE_INSTALL_RPATH "${CMAKE_INSTALL_PREFIX}/lib;${FASTERAPI_PYTHON_LIBDIR}")
message(STATUS "FasterAPI embeds Python ${FASTERAPI_PYTHON_VERSION} from ${FASTERAPI_PYTHON}")
