# flowwall_bpf_object(<name> SOURCE <file.bpf.c> [INCLUDES <dir>...]
#                     [VARIANT <variant> CFLAGS <flag>...])
#
# Compiles one BPF program family with clang for the BPF target, generates its libbpf
# skeleton with `bpftool gen skeleton`, and exposes both as the INTERFACE library
# flowwall::bpf::<name>: link it and `#include "<name>.skel.h"`.
#
# VARIANT builds the same family again with CFLAGS added last (so they override), as
# flowwall::bpf::<name>_<variant>, under the same skeleton and header name (in its own
# directory): code that includes "<name>.skel.h" compiles against either.
# tests/e2e/reliability upgrades to one.

find_program(FLOWWALL_CLANG NAMES clang REQUIRED)
find_program(FLOWWALL_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

# The BPF target has no multiarch include path of its own; uapi's <asm/...> lives there.
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
                OUTPUT_VARIABLE FLOWWALL_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
if(FLOWWALL_MULTIARCH)
  set(FLOWWALL_BPF_SYSTEM_INCLUDES -idirafter /usr/include/${FLOWWALL_MULTIARCH})
endif()

set(FLOWWALL_BPF_CFLAGS -g -O2 -target bpf -mcpu=v3 -Wall -Wextra -Werror
    -Wno-unused-function)

function(flowwall_bpf_object name)
  cmake_parse_arguments(ARG "" "SOURCE;VARIANT" "INCLUDES;CFLAGS" ${ARGN})
  get_filename_component(source ${ARG_SOURCE} ABSOLUTE)
  set(out_dir ${CMAKE_BINARY_DIR}/bpf)
  set(target_name ${name})
  if(ARG_VARIANT)
    set(out_dir ${CMAKE_BINARY_DIR}/bpf/${ARG_VARIANT})
    set(target_name ${name}_${ARG_VARIANT})
  endif()
  set(object ${out_dir}/${name}.bpf.o)
  set(skeleton ${out_dir}/${name}.skel.h)
  set(include_flags -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/bpf)
  foreach(dir IN LISTS ARG_INCLUDES)
    list(APPEND include_flags -I${dir})
  endforeach()

  add_custom_command(
    OUTPUT ${object}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${FLOWWALL_CLANG} ${FLOWWALL_BPF_CFLAGS} ${ARG_CFLAGS} ${include_flags}
            ${FLOWWALL_BPF_SYSTEM_INCLUDES} -MD -MF ${object}.d -c ${source} -o ${object}
    DEPENDS ${source}
    DEPFILE ${object}.d
    COMMENT "BPF ${target_name}: clang -target bpf"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skeleton}
    COMMAND ${FLOWWALL_BPFTOOL} gen skeleton ${object} name ${name}_bpf > ${skeleton}
    DEPENDS ${object}
    COMMENT "BPF ${target_name}: bpftool gen skeleton"
    VERBATIM)
  add_custom_target(flowwall_bpf_${target_name}_gen DEPENDS ${skeleton})

  add_library(flowwall_bpf_${target_name} INTERFACE)
  add_dependencies(flowwall_bpf_${target_name} flowwall_bpf_${target_name}_gen)
  target_include_directories(flowwall_bpf_${target_name} INTERFACE ${out_dir})
  target_link_libraries(flowwall_bpf_${target_name} INTERFACE PkgConfig::LIBBPF)
  add_library(flowwall::bpf::${target_name} ALIAS flowwall_bpf_${target_name})
endfunction()
