# npm_ci.cmake: installs the npm packages an integration test needs into the build tree, so
# node_modules never lands in a checkout (the ctest fixtures integration/npm-install,
# integration/http-npm-install, integration/sse-npm-install). Copies package.json,
# package-lock.json and the FILES a test runs from SRC to DST, and runs `npm ci` there unless the
# same lock file is installed already.
#
#   cmake -DSRC=<dir> -DDST=<build dir> -DNPM=<npm> [-DFILES=a.mjs;b.js] [-DWHAT=text]
#         -P cmake/npm_ci.cmake
#
# Fails loudly (never skips) when npm is missing or the registry cannot be reached: the tests that
# need these packages are part of the suite.
foreach(var SRC DST)
    if(NOT ${var})
        message(FATAL_ERROR "npm_ci.cmake: -D${var}= is required")
    endif()
endforeach()
if(NOT WHAT)
    set(WHAT "the npm packages of ${SRC}")
endif()
if(NOT NPM OR NPM MATCHES "NOTFOUND$")
    message(FATAL_ERROR "npm was not found when CMake configured the build: install Node.js 20+ "
                        "with npm (scripts/bootstrap.sh --test) and re-run cmake")
endif()
file(MAKE_DIRECTORY ${DST})
set(stale TRUE)
if(EXISTS ${DST}/package-lock.json AND EXISTS ${DST}/node_modules/.package-lock.json)
    file(SHA256 ${SRC}/package-lock.json want)
    file(SHA256 ${DST}/package-lock.json have)
    if(want STREQUAL have)
        set(stale FALSE)
    endif()
endif()
foreach(f package.json package-lock.json ${FILES})
    file(COPY_FILE ${SRC}/${f} ${DST}/${f} ONLY_IF_DIFFERENT)
endforeach()
if(NOT stale)
    message(STATUS "${WHAT}: already installed in ${DST}/node_modules")
    return()
endif()
execute_process(COMMAND ${NPM} ci --no-audit --no-fund
                WORKING_DIRECTORY ${DST} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`npm ci` failed (${rc}) in ${DST}: ${WHAT} could not be installed. Is "
                        "the npm registry reachable from this machine (network, proxy, npm "
                        "config)?")
endif()
message(STATUS "${WHAT}: installed in ${DST}/node_modules")
