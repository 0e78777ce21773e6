# Warning flags for our own targets (STYLE.md §16). Third-party headers are system includes.
set(FASTERAPI_WARNINGS
    -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion -Wstrict-prototypes
    -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wundef -Wvla -Wcast-qual)
if(FASTERAPI_WERROR)
    list(APPEND FASTERAPI_WARNINGS -Werror)
endif()

function(fasterapi_warnings target)
    target_compile_options(${target} PRIVATE ${FASTERAPI_WARNINGS})
endfunction()
