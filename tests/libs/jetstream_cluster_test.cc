// JetStream on a real 3-node cluster (docs/cluster.md, case 6): a node cut
// off from its peers still answers stream info from its own store, so "the
// stream ends at N" from it may be behind what the majority committed.
#include <gtest/gtest.h>

#include <functional>

#include "absl/time/clock.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/testing/nats_cluster.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::nats {
namespace {

// Stream info round trips to a cluster: poll slower than the default.
bool Eventually(absl::Duration timeout, const std::function<bool()>& f) {
  return testing::Eventually(f, timeout, absl::Milliseconds(200));
}

// The raw stream info as the node answers it: true when it answered at all.
bool NodeAnswersStreamInfo(JetStream& js, const char* stream) {
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = 2000;
  if (js_GetStreamInfo(&info, js.context(), stream, &o, &jerr) != NATS_OK) return false;
  jsStreamInfo_Destroy(info);
  return true;
}

TEST(JetStreamClusterTest, TheEndOfAStreamIsNeverTakenFromANodeCutOffFromItsPeers) {
  auto cluster = testing::NatsCluster::StartOnLoopback(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->WaitHealthy(absl::Seconds(30)).ok());
  // One URL only, so the client stays on node 0 whatever happens to the others.
  auto js = JetStream::Connect((*cluster)->url(0), "cluster-test", absl::Seconds(10));
  ASSERT_TRUE(js.ok()) << js.status();
  ASSERT_TRUE(Eventually(absl::Seconds(20), [&] {
    return (*js)->EnsureStream({"C3", {"c3.>"}, 3, absl::Minutes(2)}).ok();
  }));
  for (int i = 0; i < 3; ++i) {
    PublishRequest r;
    r.subject = "c3.a";
    r.data = "x";
    ASSERT_TRUE(Eventually(absl::Seconds(10), [&] { return (*js)->Publish(r).ok(); }));
  }
  absl::StatusOr<uint64_t> last;
  ASSERT_TRUE(Eventually(absl::Seconds(10), [&] {
    last = (*js)->LastSequence("C3");
    return last.ok();
  })) << last.status();
  EXPECT_EQ(*last, 3u);

  // Cut node 0 off: its peers stop answering.
  (*cluster)->Freeze(1);
  (*cluster)->Freeze(2);
  // Within the lost-quorum bound node 0 is a leader without followers or a
  // member without a leader; either way it still answers from its store,
  // and that answer is refused.
  bool refused_while_answered = Eventually(absl::Seconds(25), [&] {
    absl::StatusOr<uint64_t> l = (*js)->LastSequence("C3");
    return absl::IsUnavailable(l.status()) && NodeAnswersStreamInfo(**js, "C3");
  });
  absl::StatusOr<uint64_t> during = (*js)->LastSequence("C3");
  (*cluster)->Thaw(1);
  (*cluster)->Thaw(2);
  EXPECT_TRUE(refused_while_answered) << during.status();

  // Back in touch: the end is known again.
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    last = (*js)->LastSequence("C3");
    return last.ok();
  })) << last.status();
  if (last.ok()) {
    EXPECT_EQ(*last, 3u);
  }
}

}  // namespace
}  // namespace rentmesh::nats
