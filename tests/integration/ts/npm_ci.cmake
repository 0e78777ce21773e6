# npm_ci.cmake: installs the TypeScript SDK for integration/ts-sdk-client (ctest fixture
# integration/npm-install). Copies package.json, package-lock.json and the client script from the
# source tree to the build tree and runs `npm ci` there, so node_modules never lands in a checkout.
#
#   cmake -DSRC=<tests/integration/ts> -DDST=<build dir> -DNPM=<npm> -P npm_ci.cmake
#
# Fails loudly (never skips) when npm is missing or the registry cannot be reached: the SDK client
# test is part of the integration suite.
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
foreach(f package.json package-lock.json sdk_client.mjs)
    file(COPY_FILE ${SRC}/${f} ${DST}/${f} ONLY_IF_DIFFERENT)
endforeach()
execute_process(COMMAND ${NPM} ci --no-audit --no-fund
                WORKING_DIRECTORY ${DST} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`npm ci` failed (${rc}) in ${DST}: the MCP TypeScript SDK could not be "
                        "installed. Is the npm registry reachable from this machine (network, "
                        "proxy, npm config)? integration/ts-sdk-client needs it.")
endif()
message(STATUS "TypeScript SDK installed in ${DST}/node_modules")
