#include "auditor.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"
#include "rentmesh/rules/payment_stream_rules.h"
#include "rentmesh/rules/rental_stream_rules.h"
#include "rentmesh/view/v1/view.grpc.pb.h"
#include "system.h"

namespace rentmesh::chaos {
namespace {

namespace ev = ::rentmesh::events::v1;

constexpr char kAckedRentalLost[] = "acknowledged rentals lost";
constexpr char kAckedTransitionLost[] = "acknowledged returns/cancels lost";
constexpr char kOversold[] = "oversold (rental beyond the copies acted on)";
constexpr char kCopiesWrong[] = "copies_available wrong (replica x book)";
constexpr char kChargeWithoutRental[] = "charges without a rental";
constexpr char kRentalWithoutCharge[] = "rentals without a charge";
constexpr char kCancelWithoutRefund[] = "cancels without a refund";
constexpr char kRefundWithoutCancel[] = "refunds without an applicable cancel";
constexpr char kFeeWithoutReturn[] = "late fees without a return";
constexpr char kTwoIds[] = "two rental ids for one request_id";
constexpr char kRefusalCompleted[] = "definite refusals that later completed";
constexpr char kLeftPending[] = "rentals left PENDING_PAYMENT";
constexpr char kReplicaWrong[] = "replica state != stream truth";
constexpr char kReplicasDisagree[] = "replicas disagreeing";
constexpr char kViewMismatch[] = "view mismatches";

using rules::RentalEventKind;
using rules::RentalPhase;
using rules::Verdict;
using St = RentalPhase;

const char* Name(St s) {
  switch (s) {
    case St::kAbsent:
      return "ABSENT";
    case St::kPendingPayment:
      return "PENDING_PAYMENT";
    case St::kRented:
      return "RENTED";
    case St::kReturned:
      return "RETURNED";
    case St::kCancelled:
      return "CANCELLED";
    case St::kRejected:
      return "REJECTED";
    case St::kAborted:
      return "ABORTED";
    case St::kRefused:
      return "REFUSED";
    case St::kHeld:
      return "HELD";
    case St::kHoldReleased:
      return "HOLD_RELEASED";
    case St::kHoldExpired:
      return "HOLD_EXPIRED";
    case St::kHoldWaiting:
      return "HOLD_WAITING";
  }
  return "?";
}

// The rental took a copy and was paid for.
bool Held(St s) { return s == St::kRented || s == St::kReturned || s == St::kCancelled; }

St FromProto(rental::v1::RentalStatus s) {
  switch (s) {
    case rental::v1::RENTAL_STATUS_PENDING_PAYMENT:
      return St::kPendingPayment;
    case rental::v1::RENTAL_STATUS_RENTED:
      return St::kRented;
    case rental::v1::RENTAL_STATUS_RETURNED:
      return St::kReturned;
    case rental::v1::RENTAL_STATUS_CANCELLED:
      return St::kCancelled;
    case rental::v1::RENTAL_STATUS_REJECTED:
      return St::kRejected;
    case rental::v1::RENTAL_STATUS_ABORTED:
      return St::kAborted;
    case rental::v1::RENTAL_STATUS_REFUSED:
      return St::kRefused;
    default:
      return St::kAbsent;
  }
}

// The view's state for a rental in `s`; UNSPECIFIED where the view may show
// it as failed or not at all (absent, refused), but never as held or pending.
view::v1::RentalState ViewStateOf(St s) {
  switch (s) {
    case St::kPendingPayment:
      return view::v1::RENTAL_STATE_PENDING;
    case St::kRented:
      return view::v1::RENTAL_STATE_RENTED;
    case St::kReturned:
      return view::v1::RENTAL_STATE_RETURNED;
    case St::kCancelled:
      return view::v1::RENTAL_STATE_CANCELLED;
    case St::kRejected:
    case St::kAborted:
      return view::v1::RENTAL_STATE_FAILED;
    case St::kAbsent:
    case St::kRefused:
    // The chaos workload places no holds (the auditor does not fold them).
    case St::kHeld:
    case St::kHoldReleased:
    case St::kHoldExpired:
    case St::kHoldWaiting:
      break;
  }
  return view::v1::RENTAL_STATE_UNSPECIFIED;
}

// The kind, book and rental of a RENTAL event; false for anything else.
bool Classify(const ev::Envelope& e, RentalEventKind& kind, std::string& book,
              std::string& rental) {
  switch (e.payload_case()) {
    case ev::Envelope::kBookAdded:
      kind = RentalEventKind::kBookAdded;
      book = e.book_added().book_id();
      return true;
    case ev::Envelope::kBookStocked:
      kind = RentalEventKind::kBookStocked;
      book = e.book_stocked().book_id();
      return true;
    case ev::Envelope::kRentalRequested:
      kind = RentalEventKind::kRentalRequested;
      book = e.rental_requested().book_id();
      rental = e.rental_requested().rental_id();
      return true;
    case ev::Envelope::kRentalRefused:
      kind = RentalEventKind::kRentalRefused;
      book = e.rental_refused().book_id();
      rental = e.rental_refused().rental_id();
      return true;
    case ev::Envelope::kBookRented:
      kind = RentalEventKind::kBookRented;
      book = e.book_rented().book_id();
      rental = e.book_rented().rental_id();
      return true;
    case ev::Envelope::kRentalRejected:
      kind = RentalEventKind::kRentalRejected;
      book = e.rental_rejected().book_id();
      rental = e.rental_rejected().rental_id();
      return true;
    case ev::Envelope::kRentalAborted:
      kind = RentalEventKind::kRentalAborted;
      book = e.rental_aborted().book_id();
      rental = e.rental_aborted().rental_id();
      return true;
    case ev::Envelope::kBookReturned:
      kind = RentalEventKind::kBookReturned;
      book = e.book_returned().book_id();
      rental = e.book_returned().rental_id();
      return true;
    case ev::Envelope::kRentalCancelled:
      kind = RentalEventKind::kRentalCancelled;
      book = e.rental_cancelled().book_id();
      rental = e.rental_cancelled().rental_id();
      return true;
    default:
      return false;
  }
}

struct Rental {
  std::string id, book, customer, request_id;
  St st = St::kAbsent;
  // Its reservation met no free copy and nothing applied to it since: it
  // does not exist in the truth (st is kAbsent).
  bool beyond_copies = false;
  uint64_t requested_seq = 0;
  // Request id and sequence of the applicable return or cancel.
  std::string transition_request_id;
  uint64_t transition_seq = 0;
  int64_t return_fee_minor = 0;
};

struct Book {
  rules::BookCounts counts;
  // Every event applied, as the replicas folded before the rules.
  int64_t raw_active = 0;
  int64_t raw_copies = 0;
  bool raw_over = false;
};

// One rental's payments, folded from PAYMENT by the stream's rules
// (rentmesh/rules/payment_stream_rules.h): only events that apply count.
struct Payments {
  struct One {
    rules::PaymentPhase phase = rules::PaymentPhase::kAbsent;
    int64_t charged_minor = 0;
  };
  std::map<std::string, One> by_id;
  int approvals = 0;  // rental-fee charges that applied
  int reversals = 0;  // refunds and voids of a charge that applied
  int late_fees = 0;  // late fees that applied
  int64_t refunded_minor = 0;
  std::vector<uint64_t> seqs;  // every event of the rental, applied or not

  // Folds one event; false when it does not apply.
  bool Apply(const std::string& payment_id, rules::PaymentEventKind kind, int64_t amount,
             uint64_t seq) {
    seqs.push_back(seq);
    One& p = by_id[payment_id];
    if (rules::CheckPayment(p.phase, p.charged_minor, kind, amount) !=
        rules::PaymentVerdict::kApplies) {
      return false;
    }
    p.phase = rules::PaymentPhaseAfter(kind, amount);
    switch (kind) {
      case rules::PaymentEventKind::kApproved:
        ++approvals;
        p.charged_minor = amount;
        break;
      case rules::PaymentEventKind::kLateFeeCharged:
        ++late_fees;
        p.charged_minor = amount;
        break;
      case rules::PaymentEventKind::kRefunded:
      case rules::PaymentEventKind::kVoided:
        if (amount > 0) {
          ++reversals;
          refunded_minor += amount;
        }
        break;
      case rules::PaymentEventKind::kDeclined:
        break;
    }
    return true;
  }
  // A rental fee charged and not reversed.
  bool FeeOutstanding() const { return approvals > reversals; }
};

struct Seen {
  uint64_t seq;
  ev::Envelope env;
};

// Reads a whole stream in order. An ordered consumer does the bulk; what it
// has not delivered by its deadline (seen on a cluster after a partition: the
// last sequences never came) is read one by one with a direct get, and a
// sequence that cannot be read at all is counted in `unreadable`.
absl::StatusOr<std::vector<Seen>> ReadStream(nats::JetStream& js, const std::string& stream,
                                             const std::string& subject, int& unreadable) {
  absl::Mutex mu;
  std::vector<Seen> out;
  uint64_t seen_up_to = 0;
  absl::StatusOr<uint64_t> last = js.LastSequence(stream);
  if (!last.ok()) return last.status();
  // Every message from the stream leader: a replica's copy can differ
  // (docs/cluster.md case 7), and the audit's truth is the leader's.
  nats::StreamFollower::Options opts{stream, subject, 0, 512};
  opts.each_from_leader = true;
  auto follower =
      nats::StreamFollower::Start(js, opts, [&](const std::vector<nats::StreamMessage>& batch) {
        absl::MutexLock lock(&mu);
        for (const auto& m : batch) {
          seen_up_to = std::max(seen_up_to, m.sequence);
          absl::StatusOr<ev::Envelope> env = events::ParseEnvelope(m);
          if (env.ok()) out.push_back({m.sequence, std::move(*env)});
        }
        return absl::OkStatus();
      });
  if (!follower.ok()) return follower.status();
  (void)(*follower)->WaitApplied(*last, absl::Now() + absl::Seconds(20));
  follower->reset();
  absl::MutexLock lock(&mu);
  for (uint64_t seq = seen_up_to + 1; seq <= *last; ++seq) {
    natsMsg* msg = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    if (js_GetMsg(&msg, js.context(), stream.c_str(), seq, nullptr, &code) != NATS_OK) {
      ++unreadable;
      continue;
    }
    nats::StreamMessage m;
    m.sequence = seq;
    m.subject = natsMsg_GetSubject(msg);
    m.data.assign(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
    absl::StatusOr<ev::Envelope> env = events::ParseEnvelope(m);
    if (env.ok()) out.push_back({seq, std::move(*env)});
  }
  return out;
}

class Collector {
 public:
  explicit Collector(AuditReport& r) : r_(r) {
    for (const std::string& n : ViolationNames()) r_.violations[n] = 0;
  }
  void Add(const std::string& kind, std::string detail) {
    ++r_.violations[kind];
    auto& ex = r_.examples[kind];
    if (ex.size() < 5) ex.push_back(std::move(detail));
  }
  void Inapplicable(const std::string& type, uint64_t seq, const std::string& rental,
                    const std::string& why) {
    ++r_.inapplicable[type];
    if (r_.inapplicable_examples.size() < 12) {
      r_.inapplicable_examples.push_back(
          absl::StrCat("RENTAL seq ", seq, " ", type, " ", rental, ": ", why));
    }
  }

 private:
  AuditReport& r_;
};

template <typename Call>
grpc::Status CallWithRetries(Call call) {
  grpc::Status st;
  for (int i = 0; i < 10; ++i) {
    grpc::ClientContext ctx;
    e2e::WithDeadline(ctx, absl::Seconds(5));  // with a librarian's token
    st = call(ctx);
    if (!Transient(st.error_code())) return st;
    absl::SleepFor(absl::Milliseconds(300));
  }
  return st;
}

}  // namespace

const std::vector<std::string>& ViolationNames() {
  static const auto* names = new std::vector<std::string>{kAckedRentalLost,
                                                          kAckedTransitionLost,
                                                          kOversold,
                                                          kCopiesWrong,
                                                          kChargeWithoutRental,
                                                          kRentalWithoutCharge,
                                                          kCancelWithoutRefund,
                                                          kRefundWithoutCancel,
                                                          kFeeWithoutReturn,
                                                          kTwoIds,
                                                          kRefusalCompleted,
                                                          kLeftPending,
                                                          kReplicaWrong,
                                                          kReplicasDisagree,
                                                          kViewMismatch};
  return *names;
}

int AuditReport::total() const {
  int n = 0;
  for (const auto& [name, count] : violations) n += count;
  return n;
}

absl::StatusOr<AuditReport> AuditOnce(const AuditInput& in, absl::Time started,
                                      absl::Duration view_wait) {
  AuditReport report;
  Collector c(report);
  auto js = nats::JetStream::Connect(in.nats_urls, "chaos-auditor", absl::Seconds(30));
  if (!js.ok()) return js.status();
  auto rental_events =
      ReadStream(**js, events::kRentalStream, "rental.>", report.unreadable_sequences);
  if (!rental_events.ok()) return rental_events.status();
  auto payment_events =
      ReadStream(**js, events::kPaymentStream, "payment.>", report.unreadable_sequences);
  if (!payment_events.ok()) return payment_events.status();
  auto returns_events =
      ReadStream(**js, events::kReturnsStream, "returns.>", report.unreadable_sequences);
  if (!returns_events.ok()) return returns_events.status();
  report.rental_events = rental_events->size();
  report.payment_events = payment_events->size();
  report.returns_events = returns_events->size();
  // Messages set aside by the consumers (informational: a reaction parked
  // there was not done).
  if (absl::StatusOr<uint64_t> dead = (*js)->LastSequence("DEADLETTER"); dead.ok()) {
    report.dead_letters = *dead;
  }

  // 1. The truth: RENTAL folded in stream order, where only the first
  // applicable transition of a rental counts and an event that does not apply
  // to the state it meets changes nothing.
  std::map<std::string, Book> books;
  std::map<std::string, Rental> rentals;
  std::map<std::string, std::vector<std::string>> rentals_of_request;  // customer/request -> ids
  std::set<std::string> event_ids, stock_requests;
  for (const Seen& s : *rental_events) {
    const ev::Envelope& e = s.env;
    const std::string type = events::EventTypeOf(e);
    RentalEventKind kind;
    std::string book_id, rental_id;
    if (!Classify(e, kind, book_id, rental_id)) {
      c.Inapplicable(type, s.seq, rental_id, "not a RENTAL event");
      continue;
    }
    Book& b = books[book_id];
    // What the replicas folded before the rules: every event counts.
    b.raw_active += rules::ActiveDelta(kind);
    if (kind == RentalEventKind::kBookAdded) b.raw_copies = e.book_added().copies();
    if (kind == RentalEventKind::kBookStocked) b.raw_copies = e.book_stocked().copies_total();
    if (b.raw_active > b.raw_copies) b.raw_over = true;

    Rental* r = nullptr;
    if (!rental_id.empty()) {
      r = &rentals[rental_id];
      r->id = rental_id;
      r->book = book_id;
    }
    if (kind == RentalEventKind::kRentalRequested && r->requested_seq == 0) {
      const ev::RentalRequested& p = e.rental_requested();
      r->customer = p.customer_id();
      r->request_id = p.request_id();
      r->requested_seq = s.seq;
      rentals_of_request[absl::StrCat(p.customer_id(), "/", p.request_id())].push_back(r->id);
    }
    Verdict v = rules::Check(b.counts, r ? r->st : St::kAbsent, kind);
    if (!event_ids.insert(e.event_id()).second ||
        (kind == RentalEventKind::kBookStocked &&
         !stock_requests.insert(absl::StrCat(book_id, "/", e.book_stocked().request_id()))
              .second)) {
      v = Verdict::kDuplicate;
    }
    if (v != Verdict::kApplies) {
      std::string why(rules::VerdictName(v));
      if (v == Verdict::kNoCopyFree) {
        r->beyond_copies = true;
        absl::StrAppend(&why, " (", b.counts.active, " of ", b.counts.copies, " held)");
      } else if (r != nullptr) {
        absl::StrAppend(&why, " (rental is ", Name(r->st), ")");
      }
      c.Inapplicable(type, s.seq, rental_id, why);
      continue;
    }
    switch (kind) {
      case RentalEventKind::kBookAdded:
        b.counts.exists = true;
        b.counts.copies = e.book_added().copies();
        break;
      case RentalEventKind::kBookStocked:
        b.counts.copies = e.book_stocked().copies_total();
        break;
      case RentalEventKind::kBookReturned:
        r->transition_request_id = e.book_returned().request_id();
        r->transition_seq = s.seq;
        r->return_fee_minor = e.book_returned().late_fee().amount_minor();
        break;
      case RentalEventKind::kRentalCancelled:
        r->transition_request_id = e.rental_cancelled().request_id();
        r->transition_seq = s.seq;
        break;
      default:
        break;
    }
    b.counts.active += rules::ActiveDelta(kind);
    if (r != nullptr) {
      r->st = rules::PhaseAfter(r->st, kind);
      r->beyond_copies = false;
    }
  }
  for (const auto& [id, b] : books) report.books_over_copies_in_raw_fold += b.raw_over;
  report.rentals = rentals.size();
  for (const auto& [key, ids] : rentals_of_request) {
    if (ids.size() > 1 && key.back() != '/') {
      c.Add(kTwoIds, absl::StrCat(key, " reserved as ", absl::StrJoin(ids, ", ")));
    }
  }

  // 2. Payments and returns, per rental.
  std::map<std::string, std::vector<uint64_t>> returns_of;
  for (const Seen& s : *returns_events) {
    if (s.env.has_return_completed())
      returns_of[s.env.return_completed().rental_id()].push_back(s.seq);
  }
  std::map<std::string, Payments> payments;
  // Rentals beyond the copies that a client, a replica or payment took as real.
  std::map<std::string, std::string> acted_beyond;
  int inapplicable_payment_events = 0;
  for (const Seen& s : *payment_events) {
    const ev::Envelope& e = s.env;
    auto fold = [&](const auto& payload, rules::PaymentEventKind kind, int64_t amount) {
      if (!payments[payload.rental_id()].Apply(payload.payment_id(), kind, amount, s.seq)) {
        ++inapplicable_payment_events;
      }
    };
    switch (e.payload_case()) {
      case ev::Envelope::kPaymentApproved:
        fold(e.payment_approved(), rules::PaymentEventKind::kApproved,
             e.payment_approved().amount().amount_minor());
        break;
      case ev::Envelope::kPaymentDeclined:
        fold(e.payment_declined(), rules::PaymentEventKind::kDeclined, 0);
        break;
      case ev::Envelope::kPaymentRefunded:
        fold(e.payment_refunded(), rules::PaymentEventKind::kRefunded,
             e.payment_refunded().amount().amount_minor());
        break;
      case ev::Envelope::kPaymentVoided:
        fold(e.payment_voided(), rules::PaymentEventKind::kVoided,
             e.payment_voided().amount_reversed().amount_minor());
        break;
      case ev::Envelope::kLateFeeCharged:
        fold(e.late_fee_charged(), rules::PaymentEventKind::kLateFeeCharged,
             e.late_fee_charged().amount().amount_minor());
        break;
      default:
        break;
    }
  }
  report.inapplicable_payment_events = inapplicable_payment_events;
  for (const auto& [id, p] : payments) {
    auto it = rentals.find(id);
    const St st = it == rentals.end() || it->second.beyond_copies ? St::kAbsent : it->second.st;
    const std::string where = absl::StrCat(
        id, " (truth ", Name(st), "; RENTAL seqs ",
        it == rentals.end() ? 0 : it->second.requested_seq, "..",
        it == rentals.end() ? 0 : it->second.transition_seq, "; PAYMENT seqs ",
        absl::StrJoin(p.seqs, ","), "; RETURNS seqs ", absl::StrJoin(returns_of[id], ","), ")");
    // Payment ids derive from the rental id: two fee charges that both apply
    // mean two ids for one rental's fee.
    if (p.approvals > 1) c.Add(kChargeWithoutRental, "charged twice: " + where);
    if (st == St::kRented || st == St::kReturned) {
      if (p.reversals > 0) c.Add(kRefundWithoutCancel, where);
    } else if (st == St::kCancelled) {
      if (p.FeeOutstanding()) c.Add(kCancelWithoutRefund, where);
    } else if (p.FeeOutstanding()) {
      c.Add(kChargeWithoutRental, where);
      if (it != rentals.end() && it->second.beyond_copies) acted_beyond[id] += "charged; ";
    }
    if (p.late_fees > 0 && st != St::kReturned) c.Add(kFeeWithoutReturn, where);
  }
  for (const auto& [id, r] : rentals) {
    if (r.beyond_copies) continue;
    if (Held(r.st) && payments[id].approvals == 0) {
      c.Add(kRentalWithoutCharge,
            absl::StrCat(id, " is ", Name(r.st), " with no PaymentApproved (RENTAL seqs ",
                         r.requested_seq, "..", r.transition_seq, ")"));
    }
    if (r.st == St::kPendingPayment) {
      c.Add(kLeftPending,
            absl::StrCat(id, " (request ", r.request_id, ", RENTAL seq ", r.requested_seq, ")"));
    }
  }

  // 3. What the clients were told.
  for (const OpRecord& rec : in.records) {
    if (rec.kind == OpKind::kRent) {
      if (rec.ok_rental_ids.size() > 1) {
        c.Add(kTwoIds, absl::StrCat("request ", rec.request_id, " answered OK as ",
                                    absl::StrJoin(rec.ok_rental_ids, ", ")));
      }
      if (rec.final_code == grpc::StatusCode::OK) {
        auto it = rentals.find(rec.rental_id);
        if (it != rentals.end() && it->second.beyond_copies)
          acted_beyond[it->first] += "answered OK; ";
        if (it == rentals.end() || it->second.beyond_copies || !Held(it->second.st)) {
          c.Add(kAckedRentalLost,
                absl::StrCat(rec.rental_id, " (request ", rec.request_id, ") answered OK, truth ",
                             it == rentals.end()        ? "absent"
                             : it->second.beyond_copies ? absl::StrCat("beyond the copies at seq ",
                                                                       it->second.requested_seq)
                                                        : std::string(Name(it->second.st))));
        }
      } else if (!Transient(rec.final_code)) {
        auto ids = rentals_of_request.find(absl::StrCat(rec.customer_id, "/", rec.request_id));
        if (ids == rentals_of_request.end()) continue;
        for (const std::string& id : ids->second) {
          const Rental& r = rentals[id];
          if (!r.beyond_copies && Held(r.st)) {
            c.Add(kRefusalCompleted,
                  absl::StrCat("request ", rec.request_id, " answered ", rec.final_code, " \"",
                               rec.final_message, "\" after ", rec.attempts, " attempts; ", id,
                               " reserved at RENTAL seq ", r.requested_seq, ", now ", Name(r.st)));
          }
        }
      }
    } else if (rec.kind == OpKind::kReturn || rec.kind == OpKind::kCancel) {
      auto it = rentals.find(rec.rental_id);
      const St want = rec.kind == OpKind::kReturn ? St::kReturned : St::kCancelled;
      const bool done_by_it = it != rentals.end() && it->second.st == want &&
                              it->second.transition_request_id == rec.request_id;
      if (rec.final_code == grpc::StatusCode::OK && !done_by_it) {
        c.Add(kAckedTransitionLost,
              absl::StrCat(OpName(rec.kind), " ", rec.request_id, " of ", rec.rental_id,
                           " answered OK, truth ",
                           it == rentals.end() ? "absent" : Name(it->second.st)));
      } else if (rec.final_code != grpc::StatusCode::OK && !Transient(rec.final_code) &&
                 done_by_it) {
        c.Add(kRefusalCompleted,
              absl::StrCat(OpName(rec.kind), " ", rec.request_id, " of ", rec.rental_id,
                           " answered ", rec.final_code, " \"", rec.final_message,
                           "\" but did it at RENTAL seq ", it->second.transition_seq));
      }
    }
  }

  // 4. Every replica's view of every rental and book.
  std::vector<std::unique_ptr<rental::v1::RentalService::Stub>> stubs;
  for (const std::string& a : in.rental_addresses) {
    stubs.push_back(rental::v1::RentalService::NewStub(
        grpc::CreateChannel(a, grpc::InsecureChannelCredentials())));
  }
  for (const auto& [id, r] : rentals) {
    const St truth = r.beyond_copies ? St::kAbsent : r.st;
    std::vector<St> seen;
    for (size_t i = 0; i < stubs.size(); ++i) {
      rental::v1::GetRentalRequest req;
      req.set_rental_id(id);
      rental::v1::Rental out;
      grpc::Status st = CallWithRetries(
          [&](grpc::ClientContext& ctx) { return stubs[i]->GetRental(&ctx, req, &out); });
      St got = st.ok() ? FromProto(out.status()) : St::kAbsent;
      if (!st.ok() && st.error_code() != grpc::StatusCode::NOT_FOUND) {
        c.Add(kReplicaWrong, absl::StrCat("replica ", i, " GetRental ", id, ": ", st.error_code(),
                                          " ", st.error_message()));
      } else if (got != truth) {
        c.Add(kReplicaWrong,
              absl::StrCat("replica ", i, " says ", id, " is ", Name(got), ", truth ", Name(truth),
                           " (reserved at RENTAL seq ", r.requested_seq, ")"));
      }
      seen.push_back(got);
      if (r.beyond_copies && Held(got)) {
        acted_beyond[id] += absl::StrCat("replica ", i, " says ", Name(got), "; ");
      }
    }
    if (std::set<St>(seen.begin(), seen.end()).size() > 1) {
      std::vector<std::string> names;
      for (St s : seen) names.push_back(Name(s));
      c.Add(kReplicasDisagree, absl::StrCat(id, ": ", absl::StrJoin(names, " vs ")));
    }
  }
  for (const auto& [id, what] : acted_beyond) {
    c.Add(kOversold, absl::StrCat(id, " of book ", rentals[id].book,
                                  " reserved beyond the copies at RENTAL seq ",
                                  rentals[id].requested_seq, ": ", what));
  }
  for (const auto& [id, b] : books) {
    for (size_t i = 0; i < stubs.size(); ++i) {
      rental::v1::GetBookRequest req;
      req.set_book_id(id);
      rental::v1::Book out;
      grpc::Status st = CallWithRetries(
          [&](grpc::ClientContext& ctx) { return stubs[i]->GetBook(&ctx, req, &out); });
      if (!st.ok() || out.copies_available() != b.counts.copies - b.counts.active ||
          out.copies() != b.counts.copies) {
        c.Add(kCopiesWrong,
              absl::StrCat("replica ", i, " book ", id, ": copies_available ",
                           st.ok() ? absl::StrCat(out.copies_available()) : st.error_message(),
                           ", truth ", b.counts.copies - b.counts.active));
      }
    }
  }

  // 5. The view, until it matches or view_wait runs out.
  if (in.view_address.empty()) return report;
  auto view = view::v1::ViewService::NewStub(
      grpc::CreateChannel(in.view_address, grpc::InsecureChannelCredentials()));
  const absl::Time start = absl::Now();
  std::vector<std::string> mismatches;
  do {
    mismatches.clear();
    for (const auto& [id, r] : rentals) {
      const St truth = r.beyond_copies ? St::kAbsent : r.st;
      view::v1::GetRentalStatusRequest req;
      req.set_rental_id(id);
      view::v1::RentalStatusView out;
      grpc::Status st = CallWithRetries(
          [&](grpc::ClientContext& ctx) { return view->GetRentalStatus(&ctx, req, &out); });
      const auto want = ViewStateOf(truth);
      const auto got = st.ok() ? out.rental().status() : view::v1::RENTAL_STATE_UNSPECIFIED;
      const int64_t refund = payments.count(id) ? payments[id].refunded_minor : 0;
      const bool shown =
          got == view::v1::RENTAL_STATE_PENDING || got == view::v1::RENTAL_STATE_RENTED ||
          got == view::v1::RENTAL_STATE_RETURNED || got == view::v1::RENTAL_STATE_CANCELLED;
      const bool wrong =
          want == view::v1::RENTAL_STATE_UNSPECIFIED
              ? shown
              : got != want || (st.ok() && out.rental().refund().amount_minor() != refund);
      if (wrong) {
        mismatches.push_back(absl::StrCat(id, ": view ", view::v1::RentalState_Name(got),
                                          " refund ", out.rental().refund().amount_minor(),
                                          ", truth ", Name(truth), " refund ", refund));
      }
    }
    view::v1::ListCatalogRequest req;
    req.set_page_size(100);
    view::v1::ListCatalogResponse out;
    grpc::Status st = CallWithRetries(
        [&](grpc::ClientContext& ctx) { return view->ListCatalog(&ctx, req, &out); });
    std::map<std::string, int> available;
    for (const auto& e : out.books()) available[e.book_id()] = e.copies_available();
    for (const auto& [id, b] : books) {
      if (!st.ok() || available.count(id) == 0 ||
          available[id] != b.counts.copies - b.counts.active) {
        mismatches.push_back(absl::StrCat("catalog ", id, ": view ",
                                          available.count(id) ? available[id] : -1, ", truth ",
                                          b.counts.copies - b.counts.active));
      }
    }
    if (mismatches.empty()) {
      report.view_match_seconds = absl::ToDoubleSeconds(absl::Now() - started);
      break;
    }
    absl::SleepFor(absl::Milliseconds(500));
  } while (absl::Now() - start < view_wait);
  for (std::string& m : mismatches) c.Add(kViewMismatch, std::move(m));
  return report;
}

absl::StatusOr<AuditReport> Audit(const AuditInput& in) {
  const absl::Time started = absl::Now();
  while (true) {
    absl::StatusOr<AuditReport> report = AuditOnce(in, started, absl::Seconds(5));
    if (!report.ok()) return report;
    if (report->total() == 0) {
      report->clean_after_seconds = absl::ToDoubleSeconds(absl::Now() - started);
      return report;
    }
    if (absl::Now() - started + absl::Seconds(3) > in.settle) return report;
    absl::SleepFor(absl::Seconds(3));
  }
}

}  // namespace rentmesh::chaos
