#include "rentmesh/common/failpoints.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rentmesh {

absl::StatusOr<Failpoints> Failpoints::Parse(absl::string_view spec) {
  Failpoints fp;
  for (absl::string_view item : absl::StrSplit(spec, ';', absl::SkipEmpty())) {
    std::vector<absl::string_view> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("failpoint \"", item, "\": want name=action"));
    }
    if (kv[1] != "crash") {
      return absl::InvalidArgumentError(
          absl::StrCat("failpoint \"", kv[0], "\": unknown action \"", kv[1], "\""));
    }
    fp.actions_[std::string(kv[0])] = Action::kCrash;
  }
  return fp;
}

void Failpoints::Hit(absl::string_view name) const {
  if (actions_.empty()) return;
  auto it = actions_.find(name);
  if (it == actions_.end()) return;
  std::fprintf(stderr, "{\"level\":\"warn\",\"msg\":\"failpoint hit: crashing\",\"failpoint\":\"%.*s\"}\n",
               static_cast<int>(name.size()), name.data());
  std::fflush(stderr);
  kill(getpid(), SIGKILL);
}

}  // namespace rentmesh
