#pragma once

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rentmesh {

// Named places in the code where a chaos test can make the process fail, as
// etcd's gofail and TiKV's fail-rs do. Configured once from a flag
// ("rental.after_payment=crash;payment.before_record=crash"); empty in normal
// runs, where Hit() is one hash lookup in an empty map.
class Failpoints {
 public:
  enum class Action { kNone, kCrash };

  static absl::StatusOr<Failpoints> Parse(absl::string_view spec);

  // Runs the configured action: kCrash ends the process at once with SIGKILL,
  // as a kill -9 would, so nothing after this point runs.
  void Hit(absl::string_view name) const;

 private:
  absl::flat_hash_map<std::string, Action> actions_;
};

inline absl::StatusOr<Failpoints> Failpoints::Parse(absl::string_view spec) {
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

inline void Failpoints::Hit(absl::string_view name) const {
  if (actions_.empty()) return;
  auto it = actions_.find(name);
  if (it == actions_.end()) return;
  std::fprintf(stderr, "{\"level\":\"warn\",\"msg\":\"failpoint hit: crashing\",\"failpoint\":\"%.*s\"}\n",
               static_cast<int>(name.size()), name.data());
  std::fflush(stderr);
  kill(getpid(), SIGKILL);
}

}  // namespace rentmesh
