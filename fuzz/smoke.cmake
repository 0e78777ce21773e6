# fuzz/smoke.cmake: the `fuzz-smoke` target. Runs every fuzzer for SECONDS seconds, one after the
# other, and fails at the end if any of them found something, so one finding does not hide the
# others. New inputs and crash files go to OUT (in the build tree), never into the committed
# corpus; merge them by hand (README.md).
#   cmake -DBIN_DIR=... -DSRC_DIR=... -DOUT=... -DNAMES=a,b,c -DSECONDS=30 -P smoke.cmake
string(REPLACE "," ";" names "${NAMES}")
set(failed "")
foreach(name IN LISTS names)
    file(MAKE_DIRECTORY ${OUT}/${name})
    message(STATUS "fuzz-smoke: fuzz_${name} for ${SECONDS} s")
    execute_process(
        COMMAND ${BIN_DIR}/fuzz_${name} -max_total_time=${SECONDS} -timeout=10
                -dict=${SRC_DIR}/${name}.dict -artifact_prefix=${OUT}/${name}-
                -print_final_stats=1 ${OUT}/${name} ${SRC_DIR}/corpus/${name}
        RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        list(APPEND failed ${name})
    endif()
endforeach()
if(failed)
    message(FATAL_ERROR "fuzz-smoke: findings in ${failed}: reproducers are ${OUT}/<name>-crash-*"
                        " (or -timeout-*, -leak-*)")
endif()
message(STATUS "fuzz-smoke: no findings")
