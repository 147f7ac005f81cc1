// restore_bench: how long an empty rental replica takes to be ready (caught
// up with RENTAL), by replaying the whole stream or by loading the newest
// state snapshot and replaying only the tail after it (issue "bounded
// restore").
//
// On its own `nats-server -js` (free loopback port, store in a temp dir):
//  1. fills RENTAL with --events rental events, built in-process and
//     published directly with batched async publishes (books added, then
//     rent / pay / return cycles, a hold placed and released every fourth);
//  2. "replay": an empty store (real RocksDB) through the rental fold
//     (RocksDbRentalState) and a StreamFollower from 0 until caught up, the
//     store flushed (what rental_server does before it serves);
//  3. takes a snapshot of that store into SNAPSHOT_RENTAL (time, size);
//  4. appends --tail more events;
//  5. "snapshot": another empty store restored from the snapshot, then the
//     follower from its position until caught up, the store flushed;
//  6. checks both stores hold the same keys and values (a full dump; the
//     first one caught up with the tail too) and prints the figures.
// Stops by itself and removes its temp dir.
#include <nats/nats.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rental/adapters/mapping.h"
#include "rental/adapters/outbound/nats/jetstream_book_log.h"
#include "rental/adapters/outbound/rocksdb/rocksdb_rental_state.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/snapshot/state_snapshots.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/test_env.h"

ABSL_FLAG(int64_t, events, 1000000, "events in RENTAL before the snapshot (e.g. 10000000)");
ABSL_FLAG(int64_t, tail, 10000, "events appended after the snapshot");
ABSL_FLAG(int, books, 10000, "books the events are spread over");
ABSL_FLAG(int, chunk_kb, 256, "snapshot chunk size");
ABSL_FLAG(bool, verify, true, "compare the restored store with the replayed one (a full dump)");

namespace rentmesh::rental {
namespace {

using domain::BookEvent;

// Makes the events of a plausible history, one at a time.
class History {
 public:
  explicit History(int books) : books_(books) {}

  BookEvent Next() {
    const absl::Time at = start_ + absl::Seconds(n_++);
    if (added_ < books_) {
      return domain::BookAdded{Book(added_++), "A Title", 3, {"KRW", 1500}};
    }
    const int64_t c = cycle_;
    const std::string book = Book(static_cast<int>(c % books_));
    const std::string rental = absl::StrCat("r", c);
    const std::string customer = absl::StrCat("c", c % 50000);
    const domain::Money fee{"KRW", 3000};
    switch (step_) {
      case 0:
        step_ = 1;
        return domain::RentalRequested{rental,   book, customer, 2, fee, absl::StrCat("q", c),
                                       "A Title"};
      case 1:
        step_ = 2;
        return domain::BookRented{
            rental,   book, customer, 2, fee, absl::StrCat("p", c), at, at + absl::Hours(48),
            "A Title"};
      case 2:
        step_ = c % 4 == 0 ? 3 : 0;
        if (step_ == 0) ++cycle_;
        return domain::BookReturned{
            rental, book, customer, absl::StrCat("t", c), at, {"KRW", 0}, absl::StrCat("u", c)};
      case 3:
        step_ = 4;
        return domain::HoldPlaced{absl::StrCat("h", c),   book,     customer, absl::StrCat("hq", c),
                                  at + absl::Minutes(30), "A Title"};
      default:
        step_ = 0;
        ++cycle_;
        return domain::HoldReleased{absl::StrCat("h", c), book, customer, "changed mind",
                                    absl::StrCat("hr", c)};
    }
  }

 private:
  static std::string Book(int i) { return absl::StrCat("b", i); }
  const int books_;
  const absl::Time start_ = absl::FromUnixSeconds(1767225600);
  int added_ = 0;
  int64_t n_ = 0;
  int64_t cycle_ = 0;
  int step_ = 0;
};

void Die(absl::string_view what, const absl::Status& s) {
  std::fprintf(stderr, "restore_bench: %s: %s\n", std::string(what).c_str(), s.ToString().c_str());
  std::exit(1);
}

// Publishes `n` events with async publishes, at most 4096 in flight.
void Fill(nats::JetStream& js, History& history, int64_t n) {
  jsOptions o;
  jsOptions_Init(&o);
  o.PublishAsync.MaxPending = 4096;
  jsCtx* ctx = nullptr;
  if (natsConnection_JetStream(&ctx, js.connection(), &o) != NATS_OK) {
    Die("jetstream context", absl::InternalError("async"));
  }
  for (int64_t i = 0; i < n; ++i) {
    const BookEvent event = history.Next();
    events::v1::Envelope env;
    mapping::SetPayload(event, env);
    events::EnvelopeHeader header;
    header.aggregate_type = "book";
    header.aggregate_id = domain::BookIdOf(event);
    header.correlation_id = domain::RentalIdOf(event);
    header.occurred_at = absl::FromUnixSeconds(1767225600);
    header.producer = "rental";
    header.event_id = absl::StrCat("e", i);
    events::Seal(header, env);
    nats::PublishRequest req = events::ToPublishRequest(
        env, JetStreamBookLog::SubjectOf(domain::BookIdOf(event)), std::nullopt);
    natsMsg* msg = nullptr;
    natsMsg_Create(&msg, req.subject.c_str(), nullptr, req.data.data(),
                   static_cast<int>(req.data.size()));
    for (const auto& [k, v] : req.headers) natsMsgHeader_Set(msg, k.c_str(), v.c_str());
    if (natsStatus s = js_PublishMsgAsync(ctx, &msg, nullptr); s != NATS_OK) {
      natsMsg_Destroy(msg);
      Die("async publish", absl::InternalError(natsStatus_GetText(s)));
    }
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 120000;
  if (natsStatus s = js_PublishAsyncComplete(ctx, &po); s != NATS_OK) {
    Die("async publish complete", absl::InternalError(natsStatus_GetText(s)));
  }
  natsMsgList failed = {};
  if (js_PublishAsyncGetPendingList(&failed, ctx) == NATS_OK && failed.Count > 0) {
    Die("async publish", absl::InternalError(absl::StrCat(failed.Count, " not acknowledged")));
  }
  jsCtx_Destroy(ctx);
}

// A replica's store with the rental fold and its follower.
struct Replica {
  std::unique_ptr<rocksdb_store::StateStore> store;
  std::unique_ptr<RocksDbRentalState> state;
  std::unique_ptr<nats::StreamFollower> follower;

  // Follows RENTAL from what the store holds until caught up, then flushes.
  void CatchUp(nats::JetStream& js) {
    absl::StatusOr<uint64_t> applied = state->AppliedPosition();
    if (!applied.ok()) Die("position", applied.status());
    if (!follower) {
      auto* st = state.get();
      auto f = nats::StreamFollower::Start(
          js, {JetStreamBookLog::kStream, JetStreamBookLog::kSubjects, *applied, 1024},
          [st](const std::vector<nats::StreamMessage>& batch) { return st->Apply(batch); });
      if (!f.ok()) Die("follower", f.status());
      follower = std::move(*f);
    }
    for (;;) {
      absl::Status s = follower->CatchUp(absl::Now() + absl::Seconds(10));
      if (s.ok()) break;
      if (absl::Status f = store->Flush(); !f.ok()) Die("flush", f);
    }
    if (absl::Status f = store->Flush(); !f.ok()) Die("flush", f);
  }
};

Replica Open(const std::string& dir) {
  Replica r;
  auto store = rocksdb_store::StateStore::Open(dir);
  if (!store.ok()) Die("open store", store.status());
  r.store = std::move(*store);
  r.state = std::make_unique<RocksDbRentalState>(*r.store);
  return r;
}

std::vector<std::pair<std::string, std::string>> DumpOf(const rocksdb_store::StateStore& s) {
  std::vector<std::pair<std::string, std::string>> out;
  s.ScanConsistent([&](absl::string_view k, absl::string_view v) {
     out.emplace_back(k, v);
     return true;
   }).IgnoreError();
  return out;
}

int Run() {
  const int64_t events = absl::GetFlag(FLAGS_events);
  const int64_t tail = absl::GetFlag(FLAGS_tail);
  SetLogErrorsOnly(true);
  testing::TempDir dir;
  auto server = testing::NatsServer::Start();
  if (!server.ok()) Die("nats-server", server.status());
  auto js = nats::JetStream::Connect((*server)->url(), "restore_bench", absl::Seconds(10));
  if (!js.ok()) Die("connect", js.status());
  if (absl::Status s =
          (*js)->EnsureStream({JetStreamBookLog::kStream, {JetStreamBookLog::kSubjects}, 1});
      !s.ok()) {
    Die("RENTAL", s);
  }
  History history(absl::GetFlag(FLAGS_books));
  absl::Time t = absl::Now();
  Fill(**js, history, events);
  const absl::Duration fill = absl::Now() - t;
  std::printf("filled RENTAL with %lld events in %.1f s (%.0f events/s)\n",
              static_cast<long long>(events), absl::ToDoubleSeconds(fill),
              static_cast<double>(events) / absl::ToDoubleSeconds(fill));
  std::fflush(stdout);

  // Full replay into an empty store.
  Replica replayed = Open(dir.Sub("replayed"));
  t = absl::Now();
  replayed.CatchUp(**js);
  const absl::Duration replay = absl::Now() - t;
  std::printf("full replay:       %8.2f s to ready (%.0f events/s)\n",
              absl::ToDoubleSeconds(replay),
              static_cast<double>(events) / absl::ToDoubleSeconds(replay));
  std::fflush(stdout);

  snapshot::SnapshotOptions options;
  options.service = "rental";
  options.stream = JetStreamBookLog::kStream;
  options.position_name = RocksDbRentalState::kPositionName;
  options.chunk_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_chunk_kb)) * 1024;
  snapshot::StateSnapshots snapshots(**js, options);
  if (absl::Status s = snapshots.EnsureStream(); !s.ok()) Die("snapshot stream", s);
  absl::StatusOr<snapshot::TakenSnapshot> taken = snapshots.Take(*replayed.store);
  if (!taken.ok()) Die("snapshot", taken.status());
  const snapshot::Manifest& m = taken->manifest;
  std::printf("snapshot taken:    %8.2f s, %.1f MB in %zu chunks, %llu keys, at position %llu\n",
              absl::ToDoubleSeconds(taken->took), static_cast<double>(m.bytes) / 1e6,
              m.chunk_sequences.size(), static_cast<unsigned long long>(m.keys),
              static_cast<unsigned long long>(m.position));
  std::fflush(stdout);

  Fill(**js, history, tail);
  Replica restored = Open(dir.Sub("restored"));
  t = absl::Now();
  absl::StatusOr<snapshot::RestoreOutcome> outcome = snapshots.Restore(*restored.store);
  if (!outcome.ok()) Die("restore", outcome.status());
  const absl::Duration load = absl::Now() - t;
  if (outcome->source != snapshot::RestoreSource::kSnapshot) {
    Die("restore", absl::InternalError(
                       absl::StrCat("snapshot not used: ", outcome->reason, " ", outcome->detail)));
  }
  restored.CatchUp(**js);
  const absl::Duration via_snapshot = absl::Now() - t;
  std::printf("snapshot + tail:   %8.2f s to ready (load %.2f s, tail of %lld events %.2f s)\n",
              absl::ToDoubleSeconds(via_snapshot), absl::ToDoubleSeconds(load),
              static_cast<long long>(tail), absl::ToDoubleSeconds(via_snapshot - load));
  std::printf("ratio:             %8.1fx faster (%lld events + %lld tail)\n",
              absl::ToDoubleSeconds(replay) / absl::ToDoubleSeconds(via_snapshot),
              static_cast<long long>(events), static_cast<long long>(tail));
  if (absl::GetFlag(FLAGS_verify)) {
    replayed.CatchUp(**js);
    const bool same = DumpOf(*replayed.store) == DumpOf(*restored.store);
    std::printf("restored store equals the replayed one: %s\n", same ? "yes" : "NO");
    if (!same) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace rentmesh::rental

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return rentmesh::rental::Run();
}
