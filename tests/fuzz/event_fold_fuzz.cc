// libFuzzer target: any bytes on any subject, folded by rental's RENTAL
// projection and by the view (tools/fuzz/event_fuzz.sh builds and runs it).
#include "event_fold_fuzz.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rentmesh::fuzz::EventFoldHarness* harness = new rentmesh::fuzz::EventFoldHarness();
  std::string broken = harness->Run(data, size);
  if (!broken.empty()) {
    std::fprintf(stderr, "invariant broken: %s\n", broken.c_str());
    std::abort();
  }
  return 0;
}
