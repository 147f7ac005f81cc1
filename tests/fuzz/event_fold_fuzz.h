#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/view_service.h"
#include "in_memory_view_store.h"
#include "rental/adapters/mapping.h"
#include "rental/adapters/outbound/rocksdb/rocksdb_rental_state.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/testing/test_env.h"
#include "adapters/inbound/nats/event_translator.h"

// One fuzz input: any bytes, read as a sequence of stream messages, folded by
// the rental service's RENTAL projection (real RocksDB) and by the view. No
// input may crash either, and no input may break the fold's invariants: a
// book never has more active rentals than copies, nor fewer than none, on
// the rental side or in the view's catalog. Shared by the libFuzzer target
// and a deterministic CTest run over the seed corpus and generated inputs.
namespace rentmesh::fuzz {

// Input format, repeated: [subject selector][length][body of `length` bytes].
// The selector picks a subject (book subjects of three books, a payment and a
// returns subject, and a subject outside every stream).
inline std::string SubjectFor(uint8_t selector) {
  static const char* const kSubjects[] = {"rental.book.b0",      "rental.book.b1",
                                          "rental.book.b2",      "payment.rental.r1",
                                          "returns.rental.r1",   "rental.other",
                                          "rental.book.b0.extra"};
  return kSubjects[selector % (sizeof(kSubjects) / sizeof(kSubjects[0]))];
}

inline std::vector<nats::StreamMessage> ParseInput(const uint8_t* data, size_t size) {
  std::vector<nats::StreamMessage> out;
  size_t i = 0;
  uint64_t seq = 0;
  while (i + 2 <= size && out.size() < 256) {
    nats::StreamMessage m;
    m.subject = SubjectFor(data[i]);
    size_t len = data[i + 1];
    i += 2;
    len = std::min(len, size - i);
    m.data.assign(reinterpret_cast<const char*>(data + i), len);
    i += len;
    m.sequence = ++seq;
    out.push_back(std::move(m));
  }
  return out;
}

// The fold checks, after every batch: false means an invariant broke.
class EventFoldHarness {
 public:
  EventFoldHarness() {
    SetLogErrorsOnly(true);  // every input is set aside loudly otherwise
    store_ = std::move(*rocksdb_store::StateStore::Open(dir_.Sub("rental")));
    state_ = std::make_unique<rental::RocksDbRentalState>(*store_);
    view_ = std::move(*view::ViewService::Create(view_store_, {"RENTAL", "PAYMENT", "RETURNS"}));
  }

  // Returns "" when every invariant holds, else what broke.
  std::string Run(const uint8_t* data, size_t size) {
    std::vector<nats::StreamMessage> msgs = ParseInput(data, size);
    // Sequences continue across runs (the store persists within a process).
    for (auto& m : msgs) m.sequence = ++sequence_;
    if (!msgs.empty() && !state_->Apply(msgs).ok()) return "rental fold failed to write";
    events::v1::Envelope scratch;
    for (const auto& m : msgs) {
      std::string stream = absl::StartsWith(m.subject, "rental.")    ? "RENTAL"
                           : absl::StartsWith(m.subject, "payment.") ? "PAYMENT"
                                                                     : "RETURNS";
      absl::StatusOr<view::ViewEvent> e = view::TranslateMessage(m, stream, scratch);
      if (!e.ok()) continue;
      if (!view_->ApplyBatch(stream, {*e}, m.sequence).ok()) return "view failed to write";
    }
    for (const char* book : {"b0", "b1", "b2"}) {
      auto b = state_->GetBook(book);
      if (!b.ok()) return absl::StrCat("cannot read book ", book);
      if (b->has_value()) {
        const auto& v = **b;
        if (v.active_rentals < 0 || v.active_rentals > v.copies) {
          return absl::StrCat("rental: book ", book, " has ", v.active_rentals,
                              " active rentals for ", v.copies, " copies");
        }
      }
    }
    auto catalog = view_->ListCatalog(100, "");
    if (!catalog.ok()) return "cannot read the view's catalog";
    for (const auto& b : catalog->books) {
      if (b.held < 0 || b.held > b.copies) {
        return absl::StrCat("view: book ", b.book_id, " holds ", b.held, " of ", b.copies);
      }
    }
    return "";
  }

 private:
  testing::TempDir dir_;
  std::unique_ptr<rocksdb_store::StateStore> store_;
  std::unique_ptr<rental::RocksDbRentalState> state_;
  view::InMemoryViewStore view_store_;
  std::unique_ptr<view::ViewService> view_;
  uint64_t sequence_ = 0;
};

// Serialized envelopes of well-formed rental events, as seeds: the fuzzer
// mutates real events, not only noise.
inline std::vector<std::string> SeedMessages() {
  using namespace rental::domain;
  const Money fee{"KRW", 1000};
  std::vector<BookEvent> events = {
      BookAdded{"b0", "B0", 1, fee},
      BookStocked{"b0", 1, 2, "s1"},
      RentalRequested{"r1", "b0", "alice", 1, fee, "q1", "B0"},
      RentalRequested{"r2", "b0", "bob", 1, fee, "q2", "B0"},
      RentalRefused{"r3", "b0", "carol", "no copy", "q3"},
      BookRented{"r1", "b0", "alice", 1, fee, "pay-1", absl::UnixEpoch(), absl::UnixEpoch(), "B0"},
      RentalCancelled{"r1", "b0", "alice", "x", absl::UnixEpoch(), "pay-1", fee, "c1"},
      BookReturned{"r2", "b0", "bob", "ret", absl::UnixEpoch(), fee, "t1"},
      RentalAborted{"r2", "b0", "bob", "down"},
  };
  std::vector<std::string> out;
  for (const auto& e : events) {
    events::v1::Envelope env;
    rental::mapping::SetPayload(e, env);
    events::EnvelopeHeader h;
    h.producer = "rental";
    events::Seal(h, env);
    out.push_back(env.SerializeAsString());
  }
  return out;
}

// One input holding `messages` on book b0's subject, in the input format.
inline std::string EncodeInput(const std::vector<std::string>& messages) {
  std::string out;
  for (const std::string& m : messages) {
    if (m.size() > 255) continue;
    out.push_back(0);  // rental.book.b0
    out.push_back(static_cast<char>(m.size()));
    out += m;
  }
  return out;
}

}  // namespace rentmesh::fuzz
