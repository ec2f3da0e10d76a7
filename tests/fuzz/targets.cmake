# The fuzz targets, shared by the clang project that builds them (project/) and the hookup
# that registers their ctest entries (CMakeLists.txt), so that the two cannot disagree.
# Each name N is built from N_fuzzer.cc into the executable N_fuzzer, seeded from corpus/N/.
set(FLOWWALL_FUZZ_TARGETS
  daemon_config
  endpoints_file
  model_import
  control_request
  docker_api
  cri_api
  store_value
  deny_feed)
