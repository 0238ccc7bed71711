# ravel_warnings(TARGET): the project's own code compiles with -Wall -Wextra (and -Werror in CI).
function(ravel_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(RAVEL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# ravel_sanitize(TARGET): ASan+UBSan for analyzer code and tests when RAVEL_SANITIZE is on;
# ThreadSanitizer when RAVEL_TSAN is on (the analysis runs its passes on several threads).
function(ravel_sanitize target)
  if(RAVEL_TSAN)
    target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=thread)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-tsan)
    endif()
  elseif(RAVEL_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    # GCC 12 reports maybe-uninitialized inside libstdc++ (std::regex, std::function) once ASan
    # instruments it: false positives, known upstream, not in our code.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
  endif()
endfunction()
