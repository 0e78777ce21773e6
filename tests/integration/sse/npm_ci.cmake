# npm_ci.cmake: installs the npm `eventsource` client for integration/sse-eventsource (ctest
# fixture integration/sse-npm-install) into the build tree, so node_modules never lands in a
# checkout. Copies package.json, package-lock.json and the client script, and runs `npm ci` only
# when the lock file changed or the package is missing (first use).
#
#   cmake -DSRC=<tests/integration/sse> -DDST=<build dir> -DNPM=<npm> -P npm_ci.cmake
foreach(var SRC DST)
    if(NOT ${var})
        message(FATAL_ERROR "npm_ci.cmake: -D${var}= is required")
    endif()
endforeach()
if(NOT NPM OR NPM MATCHES "NOTFOUND$")
    message(FATAL_ERROR "npm was not found when CMake configured the build: install Node.js 20+ "
                        "with npm (e.g. apt-get install nodejs npm) and re-run cmake")
endif()
file(MAKE_DIRECTORY ${DST})
set(stale TRUE)
if(EXISTS ${DST}/package-lock.json AND EXISTS ${DST}/node_modules/eventsource/package.json)
    file(SHA256 ${SRC}/package-lock.json want)
    file(SHA256 ${DST}/package-lock.json have)
    if(want STREQUAL have)
        set(stale FALSE)
    endif()
endif()
foreach(f package.json package-lock.json sse_client.js)
    file(COPY_FILE ${SRC}/${f} ${DST}/${f} ONLY_IF_DIFFERENT)
endforeach()
if(NOT stale)
    message(STATUS "eventsource already installed in ${DST}/node_modules")
    return()
endif()
execute_process(COMMAND ${NPM} ci --no-audit --no-fund
                WORKING_DIRECTORY ${DST} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`npm ci` failed (${rc}) in ${DST}: the eventsource package could not be "
                        "installed. Is the npm registry reachable from this machine?")
endif()
message(STATUS "eventsource installed in ${DST}/node_modules")
