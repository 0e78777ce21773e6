# npm_ci.cmake: installs the npm `ws` package for the WebSocket tests (ctest fixture
# integration/http-npm-install). Copies package.json and package-lock.json from the source tree
# to the build tree and runs `npm ci` there, so node_modules never lands in a checkout.
#
#   cmake -DSRC=<tests/integration/http> -DDST=<build dir> -DNPM=<npm> -P npm_ci.cmake
#
# Fails loudly (never skips) when npm is missing or the registry cannot be reached.
foreach(var SRC DST)
    if(NOT ${var})
        message(FATAL_ERROR "npm_ci.cmake: -D${var}= is required")
    endif()
endforeach()
if(NOT NPM OR NPM MATCHES "NOTFOUND$")
    message(FATAL_ERROR "npm was not found when CMake configured the build: install Node.js 20+ "
                        "with npm (scripts/bootstrap.sh --test) and re-run cmake")
endif()
file(MAKE_DIRECTORY ${DST})
foreach(f package.json package-lock.json)
    file(COPY_FILE ${SRC}/${f} ${DST}/${f} ONLY_IF_DIFFERENT)
endforeach()
execute_process(COMMAND ${NPM} ci --no-audit --no-fund
                WORKING_DIRECTORY ${DST} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`npm ci` failed (${rc}) in ${DST}: the npm ws package could not be "
                        "installed. Is the npm registry reachable from this machine?")
endif()
message(STATUS "npm ws installed in ${DST}/node_modules")
