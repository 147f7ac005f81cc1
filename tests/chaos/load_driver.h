#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"

namespace rentmesh::chaos {

enum class OpKind { kRent, kReturn, kCancel, kGet };
const char* OpName(OpKind kind);

// One client operation with all its attempts.
struct OpRecord {
  OpKind kind = OpKind::kRent;
  std::string request_id;
  std::string customer_id;
  std::string book_id;
  // RentBook: the rental id of the final OK answer. Others: the target.
  std::string rental_id;
  grpc::StatusCode final_code = grpc::StatusCode::UNKNOWN;
  std::string final_message;
  int attempts = 0;
  bool first_attempt_ok = false;
  absl::Duration latency;
  // RentBook: every rental id an OK answer named, over all attempts.
  std::set<std::string> ok_rental_ids;
};

struct LoadOptions {
  std::vector<std::string> rental_addresses;
  std::vector<std::string> books;
  std::string request_prefix = "chaos";
  int customers = 20;
  int threads = 8;
  double ops_per_second = 100;
  // Retries of UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED, each on a
  // replica picked at random, with exponential backoff; bounded in count and
  // in total time.
  int max_attempts = 10;
  absl::Duration attempt_deadline = absl::Seconds(3);
  absl::Duration retry_budget = absl::Seconds(20);
};

// Client threads renting, returning, cancelling and reading rentals on a few
// books with few copies, spread over the rental replicas, at a bounded rate.
class LoadDriver {
 public:
  explicit LoadDriver(LoadOptions options);
  ~LoadDriver();
  void Start();
  // Stops issuing operations and waits for the ones in flight (bounded by
  // the retry budget).
  void Stop();
  std::vector<OpRecord> records() const;

 private:
  void Run(int thread);
  OpRecord Rent(int thread, int n);
  OpRecord Transition(OpKind kind, const std::string& rental_id, const std::string& request_id);
  OpRecord Get(const std::string& rental_id);
  // Calls `attempt` until it answers something other than a transient code.
  template <typename Attempt>
  void WithRetries(OpRecord& rec, Attempt attempt);

  const LoadOptions options_;
  std::vector<std::unique_ptr<rental::v1::RentalService::Stub>> stubs_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  mutable absl::Mutex mu_;
  std::vector<OpRecord> records_ ABSL_GUARDED_BY(mu_);
  // Rentals answered OK and not yet returned or cancelled by this driver.
  std::vector<std::string> held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> known_ ABSL_GUARDED_BY(mu_);
};

bool Transient(grpc::StatusCode code);

}  // namespace rentmesh::chaos
