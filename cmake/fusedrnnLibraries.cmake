# The libraries fusedrnn links that ship no CMake package of their own — OpenBLAS, and with CUDA cuDNN and NCCL — as
# imported targets (fusedrnn::openblas, fusedrnn::cudnn, fusedrnn::nccl) found by name on the machine at hand. The
# project includes this file, and so does the installed package's config (fusedrnnConfig.cmake): the exported
# library then names these targets, not the paths of the machine that built it, and a copy installed elsewhere finds
# them where they are there.
#
# fusedrnn_find_libraries(WHAT... [OPTIONAL])  WHAT: openblas, cudnn, nccl (cudnn and nccl after
#   find_package(CUDAToolkit)). Each found library becomes its target; a missing one leaves FUSEDRNN_MISSING_LIBRARY
#   set to a sentence saying what to install (the caller decides whether that is fatal).
include_guard(GLOBAL)

function(fusedrnn_import target library include_dir)
  if(NOT TARGET ${target})
    add_library(${target} UNKNOWN IMPORTED)
    set_target_properties(${target} PROPERTIES IMPORTED_LOCATION "${library}")
    if(include_dir)
      # An imported target's headers are system headers: not ours to warn about.
      set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${include_dir}")
    endif()
  endif()
endfunction()

macro(fusedrnn_find_libraries)
  unset(FUSEDRNN_MISSING_LIBRARY)
  foreach(_fusedrnn_what ${ARGN})
    if(_fusedrnn_what STREQUAL "openblas")
      # Debian's pthread OpenBLAS first (its own folders, so no other BLAS's cblas.h is picked up); then the same
      # folders under any CMAKE_PREFIX_PATH prefix (the GPU machine's unpacked packages: scripts/gpu_prepare.sh).
      find_path(OPENBLAS_INCLUDE_DIR cblas.h PATHS /usr/include/x86_64-linux-gnu/openblas-pthread NO_DEFAULT_PATH)
      find_path(OPENBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas-pthread openblas)
      find_library(OPENBLAS_LIBRARY NAMES openblas PATH_SUFFIXES openblas-pthread
                   PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread)
      if(OPENBLAS_INCLUDE_DIR AND OPENBLAS_LIBRARY)
        fusedrnn_import(fusedrnn::openblas "${OPENBLAS_LIBRARY}" "${OPENBLAS_INCLUDE_DIR}")
      else()
        set(FUSEDRNN_MISSING_LIBRARY "OpenBLAS not found: apt-get install libopenblas-dev")
      endif()
    elseif(_fusedrnn_what STREQUAL "cudnn")
      find_library(CUDNN_LIBRARY NAMES cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} /lib/x86_64-linux-gnu)
      if(CUDNN_LIBRARY)
        fusedrnn_import(fusedrnn::cudnn "${CUDNN_LIBRARY}" "")
      else()
        set(FUSEDRNN_MISSING_LIBRARY "cuDNN not found (libcudnn.so): install cuDNN 9 for this CUDA toolkit")
      endif()
    elseif(_fusedrnn_what STREQUAL "nccl")
      # The toolkit's copy or Debian's libnccl-dev.
      find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
      find_library(NCCL_LIBRARY NAMES nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
      if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
        fusedrnn_import(fusedrnn::nccl "${NCCL_LIBRARY}" "${NCCL_INCLUDE_DIR}")
      else()
        set(FUSEDRNN_MISSING_LIBRARY "NCCL not found (nccl.h, libnccl.so): apt-get install libnccl-dev")
      endif()
    else()
      message(FATAL_ERROR "fusedrnn_find_libraries: unknown library '${_fusedrnn_what}'")
    endif()
  endforeach()
endmacro()
