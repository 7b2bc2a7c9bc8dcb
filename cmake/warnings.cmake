# Warning flags for every mtc target. -Werror is on by default (MT_WERROR) and always in CI.
option(MT_WERROR "Treat warnings as errors" ON)
set(MT_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wvla -Wformat=2 -Wno-format-nonliteral)
if(MT_WERROR)
  list(APPEND MT_WARNINGS -Werror)
endif()

function(mt_target_warnings target)
  target_compile_options(${target} PRIVATE ${MT_WARNINGS})
endfunction()
