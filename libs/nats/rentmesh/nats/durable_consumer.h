#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::nats {

// Work that one replica of a service must do per event (refund on
// RentalCancelled, charge a late fee...): a durable pull consumer with explicit
// acks. Replicas that open the same durable share the work, each message going
// to one of them; a consumer that was down resumes where the durable stands.
//
// The handler's status decides the message's fate: OK acks it; an error naks
// it for redelivery with backoff, until `max_deliver` deliveries, after which
// the message is copied to the dead-letter stream (subject
// "deadletter.<durable>", with the error and its origin in headers) and
// terminated. Handlers must be idempotent: a message can be delivered again
// after a crash between handling and ack.
class DurableConsumer {
 public:
  using Handler = std::function<absl::Status(const StreamMessage& msg)>;

  struct Options {
    std::string stream;
    std::string durable;
    std::string filter_subject;
    int max_deliver = 5;
    absl::Duration ack_wait = absl::Seconds(30);
    int batch = 64;
    absl::Duration fetch_wait = absl::Milliseconds(500);
    int dead_letter_replicas = 1;
  };

  static absl::StatusOr<std::unique_ptr<DurableConsumer>> Start(JetStream& js, Options options,
                                                                Handler handler);
  // Stops fetching and waits for the batch in hand; the durable stays.
  ~DurableConsumer();
  DurableConsumer(const DurableConsumer&) = delete;
  DurableConsumer& operator=(const DurableConsumer&) = delete;

  // Messages the stream holds that the durable has not delivered yet.
  absl::StatusOr<uint64_t> Pending() const;

  uint64_t handled() const { return handled_.load(); }
  uint64_t redelivered() const { return redelivered_.load(); }
  uint64_t dead_lettered() const { return dead_lettered_.load(); }

  static constexpr char kDeadLetterStream[] = "DEADLETTER";

 private:
  DurableConsumer(JetStream& js, Options options, Handler handler)
      : js_(js), options_(std::move(options)), handler_(std::move(handler)) {}
  void Loop();
  void Handle(natsMsg* msg);

  JetStream& js_;
  const Options options_;
  const Handler handler_;
  natsSubscription* sub_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> handled_{0};
  std::atomic<uint64_t> redelivered_{0};
  std::atomic<uint64_t> dead_lettered_{0};
  std::thread thread_;
};

}  // namespace rentmesh::nats
