#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

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

}  // namespace rentmesh
