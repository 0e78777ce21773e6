# One switch for sanitizers (redis/lwan style): FASTERAPI_SANITIZE="address;undefined" or "thread".
# ASan and TSan cannot be combined, so they are separate presets. UBSan does not recover, so a
# finding fails the test (-fno-sanitize-recover=all).
if(FASTERAPI_SANITIZE)
    list(JOIN FASTERAPI_SANITIZE "," _fa_san)
    add_compile_options(-fsanitize=${_fa_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${_fa_san})
    if("address" IN_LIST FASTERAPI_SANITIZE)
        # The asan preset: tests/integration leak-checks the servers it starts (label leakcheck).
        set(FASTERAPI_ASAN ON)
    endif()
    if("thread" IN_LIST FASTERAPI_SANITIZE)
        # libuv and libpython are not instrumented; keep TSan focused on our code.
        set(FASTERAPI_TSAN ON)
    endif()
endif()
