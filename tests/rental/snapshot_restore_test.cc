// State snapshots of the rental fold on a real nats-server and real RocksDB:
// a replica restored from a snapshot plus the stream's tail holds exactly
// what a replica that replayed the whole stream holds (a full dump of both
// stores), also when a snapshot is crashed half-way, of another format
// version, corrupt, missing a chunk, stale (the stream was recreated), or
// when two replicas snapshot at once; a restored replica answers reads.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "rental_replicas_test.h"
#include "rentmesh/snapshot/snapshot_scheduler.h"
#include "rentmesh/snapshot/state_snapshots.h"

namespace rentmesh::rental {
namespace {

using domain::RentalStatus;
using snapshot::RestoreOutcome;
using snapshot::RestoreSource;
using snapshot::StateSnapshots;
using testing::Replica;

using Dump = std::map<std::string, std::string>;

class SnapshotRestoreTest : public testing::RentalReplicasTest {
 protected:
  void SetUp() override {
    RentalReplicasTest::SetUp();
    config_.tiers = *domain::TierPolicy::Parse("vip:20");
    snapshots_ = std::make_unique<StateSnapshots>(*js_, Options());
    ASSERT_TRUE(snapshots_->EnsureStream().ok());
  }

  static snapshot::SnapshotOptions Options() {
    snapshot::SnapshotOptions o;
    o.service = "rental";
    o.stream = "RENTAL";
    o.position_name = RocksDbRentalState::kPositionName;
    // Small chunks: every snapshot here has several.
    o.chunk_bytes = 512;
    return o;
  }

  std::unique_ptr<Replica> Open(const std::string& name) { return OpenReplica(name, config_); }
  // Opens a replica with an empty store restored (or not) from a snapshot.
  std::unique_ptr<Replica> OpenRestored(const std::string& name, RestoreOutcome& outcome) {
    return OpenReplica(name, config_, [&](rocksdb_store::StateStore& store) {
      absl::StatusOr<RestoreOutcome> r = snapshots_->Restore(store);
      if (!r.ok()) return r.status();
      outcome = *r;
      return absl::OkStatus();
    });
  }

  // Rentals, returns, cancellations, holds (released, rented, queued) and
  // tiers on books named after `tag`.
  void Work(Replica& r, const std::string& tag, int books = 4) {
    CallContext lib = Ctx(Actor::Librarian("lib"));
    ASSERT_TRUE(
        r.service->SetCustomerTier({absl::StrCat("carol-", tag), "vip", "t-" + tag}, lib).ok());
    for (int i = 0; i < books; ++i) {
      const std::string book = absl::StrCat(tag, "-b", i);
      ASSERT_TRUE(r.service->AddBook({book, "Title " + book, 2, {"KRW", 1000 + i}}, lib).ok());
      auto rented = r.service->RentBook({"alice", book, 2, absl::StrCat("r-", book)},
                                        Ctx(Actor::Customer("alice")));
      ASSERT_TRUE(rented.ok()) << rented.status();
      if (i % 3 == 0) {
        ASSERT_TRUE(r.service
                        ->ReturnBook({rented->rental_id, i % 2 == 0, absl::StrCat("ret-", book)},
                                     Ctx(Actor::Customer("alice")))
                        .ok());
      } else if (i % 3 == 1) {
        ASSERT_TRUE(r.service
                        ->CancelRental({rented->rental_id, "changed mind", "c-" + book},
                                       Ctx(Actor::Customer("alice")))
                        .ok());
      }
      auto hold = r.service->HoldBook({"bob", book, "h-" + book}, Ctx(Actor::Customer("bob")));
      ASSERT_TRUE(hold.ok()) << hold.status();
      if (i % 2 == 1) {
        ASSERT_TRUE(
            r.service
                ->ReleaseHold({hold->rental_id, "", "rel-" + book}, Ctx(Actor::Customer("bob")))
                .ok());
      } else if (i % 4 == 2) {
        ASSERT_TRUE(r.service
                        ->RentBook({"bob", "", 1, "rh-" + book, hold->rental_id},
                                   Ctx(Actor::Customer("bob")))
                        .ok());
      }
      // No copy left for dave: he waits.
      if (i % 3 == 2) {
        ASSERT_TRUE(
            r.service->HoldBook({"dave", book, "w-" + book, true}, Ctx(Actor::Customer("dave")))
                .ok());
      }
    }
  }

  void CaughtUp(Replica& r) {
    absl::Status s = r.follower->CatchUp(absl::Now() + absl::Seconds(10));
    ASSERT_TRUE(s.ok()) << s;
  }

  static Dump DumpOf(Replica& r) {
    Dump out;
    EXPECT_TRUE(r.store
                    ->ScanConsistent([&](absl::string_view k, absl::string_view v) {
                      out.emplace(std::string(k), std::string(v));
                      return true;
                    })
                    .ok());
    return out;
  }

  // The store of a replica that replayed the whole stream.
  Dump FullReplay(const std::string& name) {
    auto replayed = Open(name);
    EXPECT_TRUE(replayed);
    if (!replayed) return {};
    CaughtUp(*replayed);
    return DumpOf(*replayed);
  }

  // Restores `name`, catches it up and checks it holds what a full replay
  // holds; returns how it was restored.
  RestoreOutcome RestoreAndCompare(const std::string& name) {
    RestoreOutcome outcome;
    auto restored = OpenRestored(name, outcome);
    EXPECT_TRUE(restored);
    if (!restored) return outcome;
    CaughtUp(*restored);
    const Dump got = DumpOf(*restored);
    const Dump want = FullReplay(name + "-replay");
    EXPECT_GT(want.size(), 5u);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "restored from " << snapshot::RestoreSourceName(outcome.source)
                             << " (" << outcome.reason << ": " << outcome.detail
                             << ") differs from a full replay";
    return outcome;
  }

  uint64_t Last() { return *js_->LastSequence("RENTAL"); }

  RentalServiceConfig config_;
  std::unique_ptr<StateSnapshots> snapshots_;
};

TEST_F(SnapshotRestoreTest, SnapshotPlusTailEqualsFullReplayAndServesReads) {
  auto a = Open("a");
  ASSERT_TRUE(a);
  Work(*a, "one", 6);
  CaughtUp(*a);
  auto taken = snapshots_->Take(*a->store);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->manifest.position, Last());
  EXPECT_GT(taken->manifest.chunk_sequences.size(), 3u);
  const uint64_t at = taken->manifest.position;
  Work(*a, "two", 5);  // the tail
  ASSERT_GT(Last(), at);

  RestoreOutcome outcome = RestoreAndCompare("restored");
  EXPECT_EQ(outcome.source, RestoreSource::kSnapshot) << outcome.reason << ": " << outcome.detail;
  EXPECT_EQ(outcome.position, at);
  EXPECT_EQ(outcome.snapshot_id, taken->manifest.snapshot_id);
  CaughtUp(*a);
  RestoreOutcome again;
  auto b = OpenRestored("restored", again);  // reopened: its own store is used
  ASSERT_TRUE(b);
  EXPECT_EQ(again.source, RestoreSource::kLocal);
  EXPECT_EQ(DumpOf(*b), DumpOf(*a));

  // The restored replica answers like the one that wrote everything, and
  // keeps deciding on top of the restored state.
  for (const std::string book : {"one-b0", "one-b2", "one-b5", "two-b1", "two-b4"}) {
    auto want = a->service->GetBook(book, Ctx());
    auto got = b->service->GetBook(book, Ctx());
    ASSERT_TRUE(want.ok() && got.ok()) << book;
    EXPECT_EQ(got->copies_available(), want->copies_available()) << book;
    EXPECT_EQ(got->waiting, want->waiting) << book;
    EXPECT_EQ(got->last_position, want->last_position) << book;
  }
  auto holds = b->service->ListHolds("bob", Ctx(Actor::Customer("bob")));
  ASSERT_TRUE(holds.ok()) << holds.status();
  EXPECT_EQ(holds->size(), a->service->ListHolds("bob", Ctx(Actor::Customer("bob")))->size());
  auto rental = b->service->RentBook({"erin", "one-b0", 1, "r-erin"}, Ctx(Actor::Customer("erin")));
  ASSERT_TRUE(rental.ok()) << rental.status();
  EXPECT_EQ(rental->status, RentalStatus::kRented);
  auto seen = a->service->GetRental(rental->rental_id, Ctx());
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->status, RentalStatus::kRented);
  // A retried request is recognised from the restored state.
  auto retry =
      b->service->RentBook({"alice", "one-b1", 2, "r-one-b1"}, Ctx(Actor::Customer("alice")));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->status, RentalStatus::kCancelled);
}

TEST_F(SnapshotRestoreTest, NoSnapshotMeansAFullReplay) {
  auto a = Open("a");
  ASSERT_TRUE(a);
  Work(*a, "one");
  RestoreOutcome outcome = RestoreAndCompare("restored");
  EXPECT_EQ(outcome.source, RestoreSource::kReplay);
  EXPECT_EQ(outcome.reason, snapshot::kNoSnapshot);
}

TEST_F(SnapshotRestoreTest, ACrashBeforeTheManifestLeavesThePreviousSnapshotInUse) {
  auto a = Open("a");
  ASSERT_TRUE(a);
  Work(*a, "one");
  CaughtUp(*a);
  // The very first snapshot crashes after its chunks: nothing to restore.
  snapshot::SnapshotOptions crashing = Options();
  crashing.before_manifest = [] { return absl::AbortedError("crash"); };
  StateSnapshots crashy(*js_, crashing);
  auto crashed = crashy.Take(*a->store);
  ASSERT_FALSE(crashed.ok());
  EXPECT_EQ(RestoreAndCompare("r0").reason, snapshot::kNoSnapshot);

  auto first = snapshots_->Take(*a->store);
  ASSERT_TRUE(first.ok()) << first.status();
  Work(*a, "two");
  CaughtUp(*a);
  ASSERT_FALSE(crashy.Take(*a->store).ok());  // chunks of a newer one, no manifest
  Work(*a, "three");

  RestoreOutcome outcome = RestoreAndCompare("r1");
  EXPECT_EQ(outcome.source, RestoreSource::kSnapshot) << outcome.reason << ": " << outcome.detail;
  EXPECT_EQ(outcome.snapshot_id, first->manifest.snapshot_id);

  // The next snapshot that lands purges the older one and the orphans.
  auto range_before = js_->SequenceRange(StateSnapshots::StreamName("rental"));
  ASSERT_TRUE(range_before.ok());
  CaughtUp(*a);
  auto next = snapshots_->Take(*a->store);
  ASSERT_TRUE(next.ok()) << next.status();
  for (uint64_t seq = range_before->first; seq < next->manifest.chunk_sequences.front(); ++seq) {
    EXPECT_TRUE(
        absl::IsNotFound(js_->GetMessage(StateSnapshots::StreamName("rental"), seq).status()))
        << "sequence " << seq << " of an older snapshot is still stored";
  }
  EXPECT_EQ(RestoreAndCompare("r2").snapshot_id, next->manifest.snapshot_id);
}

TEST_F(SnapshotRestoreTest, ASnapshotOfAnotherFormatVersionIsIgnored) {
  auto a = Open("a");
  ASSERT_TRUE(a);
  Work(*a, "one");
  CaughtUp(*a);
  auto taken = snapshots_->Take(*a->store);
  ASSERT_TRUE(taken.ok()) << taken.status();
  Work(*a, "two");
  // The same snapshot's manifest as a build of format 2 (or an old 0) would
  // write it: not read, whatever its chunks are.
  for (const char* version : {"2", "0"}) {
    nats::PublishRequest req;
    req.subject = snapshots_->ManifestSubject();
    req.data = absl::StrReplaceAll(
        snapshot::EncodeManifest(taken->manifest),
        {{absl::StrCat("format=", snapshot::kFormatVersion), absl::StrCat("format=", version)}});
    ASSERT_TRUE(js_->Publish(req).ok());
    RestoreOutcome outcome = RestoreAndCompare(absl::StrCat("v", version));
    EXPECT_EQ(outcome.source, RestoreSource::kReplay);
    EXPECT_EQ(outcome.reason, snapshot::kUnknownFormat) << outcome.detail;
  }
}

TEST_F(SnapshotRestoreTest, ACorruptOrMissingChunkMeansAFullReplay) {
  auto a = Open("a");
  ASSERT_TRUE(a);
  Work(*a, "one");
  CaughtUp(*a);
  auto taken = snapshots_->Take(*a->store);
  ASSERT_TRUE(taken.ok()) << taken.status();
  Work(*a, "two");
  const std::string stream = snapshots_->stream_name();
  const snapshot::Manifest& m = taken->manifest;
  ASSERT_GE(m.chunk_sequences.size(), 3u);

  // A chunk whose last byte (inside a value) changed: it still decodes, the
  // content's SHA-256 does not match. The keys already written are cleared.
  auto chunk = js_->GetMessage(stream, m.chunk_sequences.back());
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  nats::PublishRequest bad;
  bad.subject = chunk->subject;
  bad.data = chunk->data;
  bad.data.back() ^= 0x01;
  auto bad_ack = js_->Publish(bad);
  ASSERT_TRUE(bad_ack.ok()) << bad_ack.status();
  snapshot::Manifest tampered = m;
  tampered.chunk_sequences.back() = bad_ack->sequence;
  nats::PublishRequest manifest;
  manifest.subject = snapshots_->ManifestSubject();
  manifest.data = snapshot::EncodeManifest(tampered);
  ASSERT_TRUE(js_->Publish(manifest).ok());
  RestoreOutcome corrupt = RestoreAndCompare("corrupt");
  EXPECT_EQ(corrupt.source, RestoreSource::kReplay);
  EXPECT_EQ(corrupt.reason, snapshot::kCorrupt) << corrupt.detail;

  // The original manifest again, with one of its chunks deleted.
  manifest.data = snapshot::EncodeManifest(m);
  ASSERT_TRUE(js_->Publish(manifest).ok());
  ASSERT_TRUE(js_->DeleteMessage(stream, m.chunk_sequences[1]).ok());
  RestoreOutcome missing = RestoreAndCompare("missing");
  EXPECT_EQ(missing.source, RestoreSource::kReplay);
  EXPECT_EQ(missing.reason, snapshot::kMissingChunk) << missing.detail;

  // A manifest naming a sequence that holds another snapshot's chunk.
  snapshot::Manifest swapped = m;
  swapped.chunk_sequences[1] = bad_ack->sequence;
  manifest.data = snapshot::EncodeManifest(swapped);
  ASSERT_TRUE(js_->Publish(manifest).ok());
  RestoreOutcome wrong = RestoreAndCompare("wrong");
  EXPECT_EQ(wrong.source, RestoreSource::kReplay);
  EXPECT_NE(wrong.reason, "") << wrong.detail;

  // Garbage as the manifest.
  manifest.data = "rentmesh-snapshot-manifest\nformat=1\nposition=zzz\n";
  ASSERT_TRUE(js_->Publish(manifest).ok());
  EXPECT_EQ(RestoreAndCompare("garbage").reason, snapshot::kUnreadable);
}

TEST_F(SnapshotRestoreTest, ASnapshotOfAStreamRecreatedSinceIsNotUsed) {
  {
    auto a = Open("a");
    ASSERT_TRUE(a);
    Work(*a, "one", 6);
    CaughtUp(*a);
    ASSERT_TRUE(snapshots_->Take(*a->store).ok());
  }
  // RENTAL deleted and made again, with a shorter history: the snapshot's
  // position is beyond its end.
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_DeleteStream(js_->context(), "RENTAL", nullptr, &jerr), NATS_OK);
  ASSERT_TRUE(js_->EnsureStream({"RENTAL", {"rental.>"}, 1, absl::Minutes(2)}).ok());
  auto c = Open("c");
  ASSERT_TRUE(c);
  Work(*c, "new", 1);
  RestoreOutcome beyond = RestoreAndCompare("beyond");
  EXPECT_EQ(beyond.source, RestoreSource::kReplay);
  EXPECT_EQ(beyond.reason, snapshot::kStale) << beyond.detail;

  // Longer than the snapshot's position by now, but another history: the
  // message at that position is not the one it was taken at.
  Work(*c, "more", 8);
  auto newest = snapshots_->Newest();
  ASSERT_TRUE(newest.ok() && newest->manifest.ok());
  ASSERT_GE(Last(), newest->manifest->position);
  RestoreOutcome other = RestoreAndCompare("other");
  EXPECT_EQ(other.source, RestoreSource::kReplay);
  EXPECT_EQ(other.reason, snapshot::kStale) << other.detail;
}

TEST_F(SnapshotRestoreTest, TwoReplicasSnapshottingAtOnceStayCorrect) {
  auto a = Open("a");
  auto b = Open("b");
  ASSERT_TRUE(a && b);
  Work(*a, "seed", 2);
  std::atomic<bool> stop{false};
  std::atomic<int> taken{0}, lost{0}, failed{0};
  auto snapshotter = [&](Replica* r) {
    StateSnapshots own(*js_, Options());
    while (!stop) {
      auto t = own.Take(*r->store);
      if (t.ok()) {
        ++taken;
      } else if (absl::IsAborted(t.status())) {
        ++lost;
      } else {
        ++failed;
        ADD_FAILURE() << t.status();
      }
    }
  };
  std::thread ta(snapshotter, a.get());
  std::thread tb(snapshotter, b.get());
  Work(*a, "one", 6);
  Work(*b, "two", 6);
  // Restores while snapshots land and purge the older ones.
  RestoreOutcome during;
  auto d = OpenRestored("during", during);
  ASSERT_TRUE(d);
  stop = true;
  ta.join();
  tb.join();
  EXPECT_GT(taken.load(), 1);
  EXPECT_EQ(failed.load(), 0);
  CaughtUp(*d);
  CaughtUp(*a);
  EXPECT_TRUE(DumpOf(*d) == DumpOf(*a)) << snapshot::RestoreSourceName(during.source) << " "
                                        << during.reason << ": " << during.detail;
  Work(*a, "tail", 2);
  RestoreOutcome after = RestoreAndCompare("after");
  EXPECT_EQ(after.source, RestoreSource::kSnapshot) << after.reason << ": " << after.detail;
  std::cerr << "snapshots taken " << taken << ", lost the race " << lost << "\n";
}

TEST_F(SnapshotRestoreTest, TheSchedulerSnapshotsEveryNEventsAndSkipsARecentOne) {
  auto a = Open("a");
  auto b = Open("b");
  ASSERT_TRUE(a && b);
  snapshot::SnapshotScheduler::Options o;
  o.every_events = 40;
  using Outcome = snapshot::SnapshotScheduler::Outcome;
  auto applied_a = [&] { return a->follower->applied(); };
  auto applied_b = [&] { return b->follower->applied(); };
  snapshot::SnapshotScheduler sa(*snapshots_, *a->store, applied_a, o);
  snapshot::SnapshotScheduler sb(*snapshots_, *b->store, applied_b, o);
  EXPECT_EQ(sa.RunOnce(), Outcome::kNotDue);  // nothing applied
  Work(*a, "one", 1);
  CaughtUp(*a);
  ASSERT_LT(Last(), 40u);
  EXPECT_EQ(sa.RunOnce(), Outcome::kNotDue);
  Work(*a, "two", 8);
  CaughtUp(*a);
  CaughtUp(*b);
  ASSERT_GE(Last(), 40u);
  EXPECT_EQ(sa.RunOnce(), Outcome::kTaken);
  // b applied a little more: a's snapshot is recent enough for it.
  Work(*a, "three", 1);
  CaughtUp(*b);
  EXPECT_EQ(sb.RunOnce(), Outcome::kRecent);
  CaughtUp(*a);
  EXPECT_EQ(sa.RunOnce(), Outcome::kNotDue);  // from what it knows, no question to NATS

  // By time: due once the newest is older than the interval.
  snapshot::SnapshotScheduler::Options timed;
  timed.interval = absl::Seconds(2);
  snapshot::SnapshotScheduler st(*snapshots_, *b->store, applied_b, timed);
  EXPECT_EQ(st.RunOnce(), Outcome::kRecent);
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(st.RunOnce(), Outcome::kTaken);
  EXPECT_EQ(st.RunOnce(), Outcome::kNotDue);
  EXPECT_EQ(RestoreAndCompare("restored").source, RestoreSource::kSnapshot);
}

}  // namespace
}  // namespace rentmesh::rental
