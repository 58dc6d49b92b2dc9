# CTest's install.PackageBuildsTheExample: `cmake --install` of this build into a scratch prefix, then the API
# example (examples/) configured as a project of its own that finds the package with find_package(fusedrnn),
# built, and run. Fails naming the step that failed. Arguments (-D): BUILD_DIR, SOURCE_DIR, WORK_DIR, GENERATOR,
# BUILD_TYPE, CXX_COMPILER (the build's: a static library links with the OpenMP runtime of the compiler that built it).
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "install_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

step("install into ${prefix}" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f include/fusedrnn/models/model.h include/fusedrnn/core/backend.h lib/cmake/fusedrnn/fusedrnnConfig.cmake
          bin/fusedrnn)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "the install has no ${f}")
  endif()
endforeach()
# The CUDA module's headers stay out of the install: the public API has no CUDA in it.
file(GLOB_RECURSE cuda_headers ${prefix}/include/*.cuh ${prefix}/include/fusedrnn/cuda/*)
if(cuda_headers)
  message(FATAL_ERROR "CUDA headers were installed: ${cuda_headers}")
endif()

# A user's project has headers of its own, some with our file names (core/tensor.h, models/model.h). A decoy of every
# installed header, each an #error, sits on the example's include path ahead of the package (-I before the imported
# target's -isystem): fusedrnn's headers must reach each other through their fusedrnn/ prefix, never by a bare name.
set(decoys ${WORK_DIR}/decoys)
file(GLOB_RECURSE installed_headers RELATIVE ${prefix}/include/fusedrnn ${prefix}/include/fusedrnn/*.h)
foreach(h ${installed_headers})
  file(WRITE ${decoys}/${h} "#error \"a user's own ${h} was included instead of fusedrnn/${h}\"\n")
endforeach()
list(LENGTH installed_headers n_decoys)
message(STATUS "decoys of the ${n_decoys} installed headers in ${decoys}")

step("configure the example against the package"
     ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples -B ${WORK_DIR}/build -G ${GENERATOR}
     -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
     "-DCMAKE_CXX_FLAGS=-I${decoys}")
step("build the example" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step("run the example" ${WORK_DIR}/build/forecast_api ${WORK_DIR}/model.safetensors)
message(STATUS "${step_output}")

# Without CMake: the same example compiled and linked with nothing but the flags of the installed fusedrnn.pc, the
# decoys again ahead of the package. pkg-config comes with scripts/deps.sh (pkgconf). Only the GPU check leaves this
# out (FUSEDRNN_SKIP_PKG_CONFIG_CHECK=<why>): its dependencies are unpacked packages, with no pkg-config database.
if(DEFINED ENV{FUSEDRNN_SKIP_PKG_CONFIG_CHECK})
  message(STATUS "pkg-config check left out: $ENV{FUSEDRNN_SKIP_PKG_CONFIG_CHECK}")
  return()
endif()
find_program(PKG_CONFIG pkg-config)
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "pkg-config not found (apt-get install pkgconf; scripts/deps.sh does)")
endif()
file(GLOB_RECURSE pc_files ${prefix}/*/fusedrnn.pc)
if(NOT pc_files)
  message(FATAL_ERROR "the install has no pkgconfig/fusedrnn.pc")
endif()
get_filename_component(pc_dir "${pc_files}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
step("pkg-config --cflags --libs fusedrnn" ${PKG_CONFIG} --cflags --libs fusedrnn)
separate_arguments(pc_flags UNIX_COMMAND "${step_output}")
step("compile and link the example with those flags"
     ${CXX_COMPILER} -std=c++17 -O1 -I${decoys} ${SOURCE_DIR}/examples/forecast_api.cpp ${pc_flags}
     -o ${WORK_DIR}/forecast_api_pkgconfig)
step("run that example" ${WORK_DIR}/forecast_api_pkgconfig ${WORK_DIR}/model_pkgconfig.safetensors)
message(STATUS "${step_output}")

# Every installed header, each on its own and all together, in a file whose author has macros of their own named
# like the project's internal short ones (FR_CHECK, FR_FAIL): the installed headers must neither use nor define them.
set(all_headers_tu ${WORK_DIR}/all_headers.cpp)
file(WRITE ${all_headers_tu} "#define FR_CHECK(...) a_user_macro_the_headers_must_not_use\n")
file(APPEND ${all_headers_tu} "#define FR_FAIL(...) a_user_macro_the_headers_must_not_use\n")
foreach(h ${installed_headers})
  file(APPEND ${all_headers_tu} "#include <fusedrnn/${h}>\n")
endforeach()
file(APPEND ${all_headers_tu} "#undef FR_CHECK\n#undef FR_FAIL\nint main() {}\n")
step("compile all ${n_decoys} installed headers beside a user's FR_CHECK"
     ${CXX_COMPILER} -std=c++17 -Wall -Werror -fsyntax-only -I${decoys} ${all_headers_tu} ${pc_flags})
