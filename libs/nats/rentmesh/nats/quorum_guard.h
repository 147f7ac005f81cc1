#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::nats {

// Asks stream and consumer leaders that lost their quorum to step down.
//
// nats-server 2.9.10 lets a leader cut off from its peers lead on for 10-20 s
// (it checks its quorum every 10 s, against 10 s of silence). When the
// partition heals inside that time, the old leader proposes what reaches it
// then in its old term, and a peer's answer for an index it holds with other
// content counts as an acknowledgement: the old leader commits, stores and
// acknowledges messages the majority never stored, a second history of the
// stream (docs/cluster.md case 8). A leader that is a follower at the heal
// proposes nothing, so a guard runs next to every server, connected to that
// server alone (while the server is cut off, only it answers), and asks every
// leader that answers with no majority of its peers heard from within
// `peer_silence`, for `confirm` in a row, to step down.
//
// The guard has no state of its own worth keeping: killed and restarted, it
// starts over. Not thread-safe; one thread runs the rounds.
class QuorumGuard {
 public:
  struct Options {
    // How long a leader must lack its quorum, seen in more than one round,
    // before it is asked to step down (a leader just elected may not have
    // heard from every peer yet).
    absl::Duration confirm = absl::Milliseconds(300);
    // A peer the leader heard from within this is in touch. Shorter than
    // kPeerFresh: the step-down must come before the cut-off node's own meta
    // group loses its leader (its election timeout, 4-9 s after the last
    // heartbeat), after which the server refuses step-downs. The leader's
    // heartbeat is 1 s.
    absl::Duration peer_silence = absl::Milliseconds(2100);
    // How often the lists of streams and durable consumers are read again.
    absl::Duration relist = absl::Seconds(5);
    absl::Duration request_timeout = absl::Milliseconds(500);
  };

  // What one round saw of one stream ("stream RENTAL") or durable consumer
  // ("consumer RENTAL/payment-reactions").
  struct Check {
    std::string what;
    std::string leader;
    absl::Status quorum;  // UNAVAILABLE when the leader lacks its quorum
    bool stepped_down = false;
    // A step-down asked for and not done: the server's answer, or the error.
    std::string refused;
  };

  QuorumGuard(JetStream* js, Options options);

  // One pass over every stream and durable consumer whose leader answers.
  // A group without a reachable leader is left out (nothing to step down).
  std::vector<Check> CheckOnce(absl::Time now);

  uint64_t stepdowns() const { return stepdowns_; }
  uint64_t stepdown_failures() const { return stepdown_failures_; }

 private:
  void Relist(absl::Time now);
  // Records what the round saw of `what`; asks for the step-down when due.
  Check Judge(const std::string& what, const std::string& leader, absl::Status quorum,
              const std::string& stepdown_subject, absl::Time now);

  JetStream* const js_;
  const Options options_;
  absl::Time listed_ = absl::InfinitePast();
  // Kept when a new list cannot be had (a node cut off from the meta leader
  // cannot list, and that is when the guard matters).
  std::vector<std::string> streams_;
  std::vector<std::pair<std::string, std::string>> durables_;  // stream, consumer
  // what -> the leader seen without its quorum, and since when.
  std::map<std::string, std::pair<std::string, absl::Time>> lost_since_;
  uint64_t stepdowns_ = 0;
  uint64_t stepdown_failures_ = 0;
};

}  // namespace rentmesh::nats
