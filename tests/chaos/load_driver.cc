#include "load_driver.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "system.h"

namespace rentmesh::chaos {

const char* OpName(OpKind kind) {
  switch (kind) {
    case OpKind::kRent:
      return "RentBook";
    case OpKind::kReturn:
      return "ReturnBook";
    case OpKind::kCancel:
      return "CancelRental";
    case OpKind::kGet:
      return "GetRental";
  }
  return "?";
}

bool Transient(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

LoadDriver::LoadDriver(LoadOptions options) : options_(std::move(options)) {
  grpc::ChannelArguments args;
  // A restarted replica is found again within a second, not after gRPC's
  // default reconnect backoff of up to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  for (const std::string& address : options_.rental_addresses) {
    stubs_.push_back(rental::v1::RentalService::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
  }
}

LoadDriver::~LoadDriver() { Stop(); }

void LoadDriver::Start() {
  for (int t = 0; t < options_.threads; ++t) threads_.emplace_back([this, t] { Run(t); });
}

void LoadDriver::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

std::vector<OpRecord> LoadDriver::records() const {
  absl::MutexLock lock(&mu_);
  return records_;
}

void LoadDriver::Run(int thread) {
  absl::BitGen gen;
  const absl::Duration interval = absl::Seconds(options_.threads / options_.ops_per_second);
  absl::Time next = absl::Now() + interval * absl::Uniform(gen, 0.0, 1.0);
  for (int n = 0; !stop_; ++n) {
    absl::SleepFor(next - absl::Now());
    next = std::max(next + interval, absl::Now());
    if (stop_) break;
    const int roll = absl::Uniform(gen, 0, 100);
    std::string target;
    bool contested = false;
    {
      absl::MutexLock lock(&mu_);
      if (roll >= 55 && roll < 85 && !held_.empty()) {
        size_t i = absl::Uniform<size_t>(gen, 0, held_.size());
        target = held_[i];
        // One time in five the rental stays held, so that another thread may
        // cancel or return it at the same time (a race the system must settle).
        contested = absl::Bernoulli(gen, 0.2);
        if (!contested) {
          held_[i] = held_.back();
          held_.pop_back();
        }
      } else if (roll >= 85 && !known_.empty()) {
        target = known_[absl::Uniform<size_t>(gen, 0, known_.size())];
      }
    }
    OpRecord rec;
    const std::string request_id = absl::StrCat(options_.request_prefix, "-", thread, "-", n);
    if (target.empty()) {
      rec = Rent(thread, n);
    } else if (roll < 70) {
      rec = Transition(OpKind::kReturn, target, request_id);
    } else if (roll < 85) {
      rec = Transition(OpKind::kCancel, target, request_id);
    } else {
      rec = Get(target);
    }
    absl::MutexLock lock(&mu_);
    if (rec.kind == OpKind::kRent && rec.final_code == grpc::StatusCode::OK) {
      held_.push_back(rec.rental_id);
      known_.push_back(rec.rental_id);
    }
    records_.push_back(std::move(rec));
  }
}

template <typename Attempt>
void LoadDriver::WithRetries(OpRecord& rec, Attempt attempt) {
  thread_local absl::BitGen gen;
  const absl::Time start = absl::Now();
  absl::Duration backoff = absl::Milliseconds(100);
  while (true) {
    auto& stub = *stubs_[absl::Uniform<size_t>(gen, 0, stubs_.size())];
    grpc::ClientContext ctx;
    e2e::WithDeadline(ctx, options_.attempt_deadline);  // with a librarian's token
    grpc::Status st = attempt(stub, ctx);
    ++rec.attempts;
    rec.final_code = st.error_code();
    rec.final_message = st.error_message();
    if (rec.attempts == 1) rec.first_attempt_ok = st.ok();
    if (!Transient(st.error_code()) || rec.attempts >= options_.max_attempts ||
        absl::Now() - start + backoff > options_.retry_budget) {
      break;
    }
    absl::SleepFor(backoff * absl::Uniform(gen, 1.0, 2.0));
    backoff = std::min(backoff * 2, absl::Milliseconds(1600));
  }
  rec.latency = absl::Now() - start;
}

OpRecord LoadDriver::Rent(int thread, int n) {
  thread_local absl::BitGen gen;
  OpRecord rec;
  rec.kind = OpKind::kRent;
  rec.request_id = absl::StrCat(options_.request_prefix, "-", thread, "-", n);
  rec.customer_id = absl::StrCat("cust-", absl::Uniform(gen, 0, options_.customers));
  rec.book_id = options_.books[absl::Uniform<size_t>(gen, 0, options_.books.size())];
  rental::v1::RentBookRequest req;
  req.set_customer_id(rec.customer_id);
  req.set_book_id(rec.book_id);
  req.set_days(absl::Uniform(gen, 1, 8));
  req.set_request_id(rec.request_id);
  WithRetries(rec, [&](rental::v1::RentalService::Stub& stub, grpc::ClientContext& ctx) {
    rental::v1::Rental out;
    grpc::Status st = stub.RentBook(&ctx, req, &out);
    if (st.ok()) {
      rec.rental_id = out.rental_id();
      rec.ok_rental_ids.insert(out.rental_id());
    }
    return st;
  });
  return rec;
}

OpRecord LoadDriver::Transition(OpKind kind, const std::string& rental_id,
                                const std::string& request_id) {
  thread_local absl::BitGen gen;
  OpRecord rec;
  rec.kind = kind;
  rec.rental_id = rental_id;
  rec.request_id = request_id;
  const bool damaged = absl::Bernoulli(gen, 0.3);
  WithRetries(rec, [&](rental::v1::RentalService::Stub& stub, grpc::ClientContext& ctx) {
    rental::v1::Rental out;
    if (kind == OpKind::kReturn) {
      rental::v1::ReturnBookRequest req;
      req.set_rental_id(rental_id);
      req.set_condition(damaged ? rental::v1::BOOK_CONDITION_DAMAGED
                                : rental::v1::BOOK_CONDITION_GOOD);
      req.set_request_id(request_id);
      return stub.ReturnBook(&ctx, req, &out);
    }
    rental::v1::CancelRentalRequest req;
    req.set_rental_id(rental_id);
    req.set_reason("chaos");
    req.set_request_id(request_id);
    return stub.CancelRental(&ctx, req, &out);
  });
  return rec;
}

OpRecord LoadDriver::Get(const std::string& rental_id) {
  OpRecord rec;
  rec.kind = OpKind::kGet;
  rec.rental_id = rental_id;
  WithRetries(rec, [&](rental::v1::RentalService::Stub& stub, grpc::ClientContext& ctx) {
    rental::v1::GetRentalRequest req;
    req.set_rental_id(rental_id);
    rental::v1::Rental out;
    return stub.GetRental(&ctx, req, &out);
  });
  return rec;
}

}  // namespace rentmesh::chaos
