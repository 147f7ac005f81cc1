#include "rentmesh/nats/quorum_guard.h"

#include <nats/nats.h>

#include <algorithm>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rentmesh::nats {
namespace {

struct StreamInfoDeleter {
  void operator()(jsStreamInfo* p) const { jsStreamInfo_Destroy(p); }
};
struct ConsumerInfoDeleter {
  void operator()(jsConsumerInfo* p) const { jsConsumerInfo_Destroy(p); }
};

jsOptions WithWait(absl::Duration wait) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = absl::ToInt64Milliseconds(wait);
  return o;
}

std::string LeaderOf(const jsClusterInfo* c) {
  return c == nullptr || c->Leader == nullptr ? std::string() : std::string(c->Leader);
}

}  // namespace

QuorumGuard::QuorumGuard(JetStream* js, Options options) : js_(js), options_(options) {}

void QuorumGuard::Relist(absl::Time now) {
  if (now - listed_ < options_.relist) return;
  jsOptions o = WithWait(options_.request_timeout);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsStreamNamesList* names = nullptr;
  // Only the meta leader lists; a node cut off from it keeps the last list.
  if (js_StreamNames(&names, js_->context(), &o, &jerr) != NATS_OK) return;
  std::vector<std::string> streams;
  for (int i = 0; i < names->Count; ++i) streams.emplace_back(names->List[i]);
  jsStreamNamesList_Destroy(names);

  std::vector<std::pair<std::string, std::string>> durables;
  for (const std::string& stream : streams) {
    jsConsumerNamesList* consumers = nullptr;
    natsStatus s = js_ConsumerNames(&consumers, js_->context(), stream.c_str(), &o, &jerr);
    if (s == NATS_NOT_FOUND) continue;  // a stream without consumers
    if (s != NATS_OK) return;           // keep the whole last list
    for (int i = 0; i < consumers->Count; ++i) {
      const std::string name = consumers->List[i];
      jsConsumerInfo* raw = nullptr;
      if (js_GetConsumerInfo(&raw, js_->context(), stream.c_str(), name.c_str(), &o, &jerr) !=
          NATS_OK) {
        // Not known now (e.g. an ordered consumer just replaced): a durable
        // that was listed before stays listed.
        for (const auto& d : durables_) {
          if (d.first == stream && d.second == name) durables.push_back(d);
        }
        continue;
      }
      std::unique_ptr<jsConsumerInfo, ConsumerInfoDeleter> info(raw);
      // Ephemeral consumers (a follower's ordered consumer) are one replica:
      // no quorum to lose.
      if (info->Config != nullptr && info->Config->Durable != nullptr &&
          info->Config->Durable[0] != '\0') {
        durables.emplace_back(stream, name);
      }
    }
    jsConsumerNamesList_Destroy(consumers);
  }
  streams_ = std::move(streams);
  durables_ = std::move(durables);
  listed_ = now;
}

QuorumGuard::Check QuorumGuard::Judge(const std::string& what, const std::string& leader,
                                      absl::Status quorum, const std::string& stepdown_subject,
                                      absl::Time now) {
  Check check{what, leader, quorum, false, ""};
  if (quorum.ok()) {
    lost_since_.erase(what);
    return check;
  }
  auto [it, first] = lost_since_.try_emplace(what, leader, now);
  if (!first && it->second.first != leader) it->second = {leader, now};
  if (now - it->second.second < options_.confirm) return check;

  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, js_->connection(), stepdown_subject.c_str(), "", 0,
                                        absl::ToInt64Milliseconds(options_.request_timeout));
  bool ok = false;
  if (s == NATS_OK && reply != nullptr) {
    std::string body(natsMsg_GetData(reply), natsMsg_GetDataLength(reply));
    ok = absl::StrContains(body, "\"success\":true");
    if (!ok) check.refused = body;
  } else {
    check.refused = natsStatus_GetText(s);
  }
  if (reply != nullptr) natsMsg_Destroy(reply);
  if (ok) {
    ++stepdowns_;
    check.stepped_down = true;
    lost_since_.erase(what);
  } else {
    ++stepdown_failures_;  // asked again next round
  }
  return check;
}

std::vector<QuorumGuard::Check> QuorumGuard::CheckOnce(absl::Time now) {
  Relist(now);
  std::vector<Check> checks;
  jsOptions o = WithWait(options_.request_timeout);
  for (const std::string& stream : streams_) {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    jsStreamInfo* raw = nullptr;
    if (js_GetStreamInfo(&raw, js_->context(), stream.c_str(), &o, &jerr) != NATS_OK) continue;
    std::unique_ptr<jsStreamInfo, StreamInfoDeleter> info(raw);
    const std::string leader = LeaderOf(info->Cluster);
    if (leader.empty()) continue;
    const int replicas = info->Config == nullptr
                             ? 1
                             : static_cast<int>(std::max<int64_t>(1, info->Config->Replicas));
    const std::string what = absl::StrCat("stream ", stream);
    checks.push_back(Judge(what, leader,
                           LeaderQuorum(info->Cluster, replicas, what, options_.peer_silence),
                           absl::StrCat("$JS.API.STREAM.LEADER.STEPDOWN.", stream), now));
  }
  for (const auto& [stream, consumer] : durables_) {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    jsConsumerInfo* raw = nullptr;
    if (js_GetConsumerInfo(&raw, js_->context(), stream.c_str(), consumer.c_str(), &o, &jerr) !=
        NATS_OK) {
      continue;
    }
    std::unique_ptr<jsConsumerInfo, ConsumerInfoDeleter> info(raw);
    const std::string leader = LeaderOf(info->Cluster);
    if (leader.empty()) continue;
    // The leader lists every other member of the consumer's group.
    const int replicas = info->Cluster->ReplicasLen + 1;
    const std::string what = absl::StrCat("consumer ", stream, "/", consumer);
    checks.push_back(
        Judge(what, leader, LeaderQuorum(info->Cluster, replicas, what, options_.peer_silence),
              absl::StrCat("$JS.API.CONSUMER.LEADER.STEPDOWN.", stream, ".", consumer), now));
  }
  return checks;
}

}  // namespace rentmesh::nats
