#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::nats {

// Transient: worth trying again later (UNAVAILABLE, DEADLINE_EXCEEDED,
// ABORTED, RESOURCE_EXHAUSTED, CANCELLED, UNKNOWN, INTERNAL, and any code not
// listed as permanent). Permanent: INVALID_ARGUMENT, FAILED_PRECONDITION,
// PERMISSION_DENIED, NOT_FOUND, OUT_OF_RANGE, DATA_LOSS, UNIMPLEMENTED, which
// no redelivery can fix.
bool IsPermanentError(const absl::Status& status);

// The redelivery delay after `num_delivered` failed deliveries: `initial`
// doubling per delivery, capped at `max`.
absl::Duration RedeliveryBackoff(uint64_t num_delivered, absl::Duration initial,
                                 absl::Duration max);

// Headers every dead letter carries, naming where it came from.
inline constexpr char kDeadLetterStreamHeader[] = "Rentmesh-Dead-Letter-Stream";
inline constexpr char kDeadLetterSequenceHeader[] = "Rentmesh-Dead-Letter-Sequence";
inline constexpr char kDeadLetterSubjectHeader[] = "Rentmesh-Dead-Letter-Subject";
inline constexpr char kDeadLetterConsumerHeader[] = "Rentmesh-Dead-Letter-Consumer";
inline constexpr char kDeadLetterErrorHeader[] = "Rentmesh-Dead-Letter-Error";
inline constexpr char kDeadLetterDeliveriesHeader[] = "Rentmesh-Dead-Letter-Deliveries";

// A dead letter as listed by DurableConsumer::DeadLetters.
struct DeadLetter {
  uint64_t sequence = 0;  // in the DEADLETTER stream
  std::string stream;     // original stream, sequence and subject
  uint64_t original_sequence = 0;
  std::string subject;
  std::string consumer;
  std::string error;
  uint64_t deliveries = 0;
  int64_t timestamp_ns = 0;
};

// Work that one replica of a service must do per event (refund on
// RentalCancelled, charge a late fee...): a durable pull consumer with explicit
// acks. Replicas that open the same durable share the work, each message going
// to one of them; a consumer that was down resumes where the durable stands.
//
// The handler's status decides the message's fate:
//   OK         acked (the ack is confirmed by the server; a failed ack is
//              counted and logged, and the message comes back after AckWait);
//   transient  (see IsPermanentError) nak'ed with exponential backoff
//              (`backoff_initial` doubling, capped at `backoff_max`) until
//              `max_deliver` deliveries (default: about a day of attempts);
//   permanent  dead-lettered at once.
// A dead letter is a copy on "deadletter.<durable>" in the DEADLETTER stream
// with its origin (stream, sequence, subject, consumer, error, deliveries) in
// headers; only once it is stored is the original terminated. When storing it
// fails, the message is nak'ed with a delay and tried again later, never
// dropped. The server's own MaxDeliver is unlimited, so the server never drops
// a message either: this class decides.
//
// A batch in hand never outlives AckWait: before each message the consumer
// tells the server that the ones still waiting are in progress once a third
// of AckWait has passed since the last such signal.
//
// The server delivering is not trusted to hold the stream's history (a
// diverged replica, docs/cluster.md case 7): the last message of each fetched
// batch is compared with what the stream leader holds at its sequence; on a
// difference every message of the batch is, and the handler gets the
// leader's message (acked under the delivered one's delivery; one outside the
// filter is acked unhandled). A batch that cannot be compared yet is nak'ed
// with backoff.
//
// Handlers must be idempotent: a message can be delivered again after a crash
// between handling and ack.
class DurableConsumer {
 public:
  using Handler = std::function<absl::Status(const StreamMessage& msg)>;

  struct Options {
    std::string stream;
    std::string durable;
    std::string filter_subject;
    // Deliveries after which a transient failure is dead-lettered; with the
    // 30 s cap, 3000 is about a day.
    int max_deliver = 3000;
    absl::Duration backoff_initial = absl::Milliseconds(100);
    absl::Duration backoff_max = absl::Seconds(30);
    absl::Duration ack_wait = absl::Seconds(30);
    int batch = 16;
    absl::Duration fetch_wait = absl::Milliseconds(500);
    int dead_letter_replicas = 1;
    // Limits of the DEADLETTER stream (0: none). It may age out.
    absl::Duration dead_letter_max_age = absl::ZeroDuration();
    int64_t dead_letter_max_bytes = 0;
    // Tests only: alters each delivered message before it is checked,
    // standing in for a server that holds another history than the leader.
    std::function<void(StreamMessage&)> tamper_delivery = nullptr;
  };

  static absl::StatusOr<std::unique_ptr<DurableConsumer>> Start(JetStream& js, Options options,
                                                                Handler handler);
  // Stops fetching and waits for the batch in hand; the durable stays.
  ~DurableConsumer();
  DurableConsumer(const DurableConsumer&) = delete;
  DurableConsumer& operator=(const DurableConsumer&) = delete;

  // Messages the stream holds that the durable has not delivered yet.
  absl::StatusOr<uint64_t> Pending() const;

  // The dead letters of this consumer, oldest first (at most `limit`).
  absl::StatusOr<std::vector<DeadLetter>> DeadLetters(size_t limit = 1000) const;
  // Re-drives dead letter `dead_letter_sequence` through this consumer's
  // handler: loads the original message from its stream by sequence, runs the
  // handler on it and, on success, deletes the dead letter. NOT_FOUND when
  // there is no such dead letter or the original is gone, INVALID_ARGUMENT
  // when it belongs to another consumer, the handler's error otherwise (the
  // dead letter is then kept). Safe to retry.
  absl::Status Replay(uint64_t dead_letter_sequence);

  uint64_t handled() const { return handled_.load(); }
  uint64_t redelivered() const { return redelivered_.load(); }
  uint64_t dead_lettered() const { return dead_lettered_.load(); }
  uint64_t dead_letter_failures() const { return dead_letter_failures_.load(); }
  uint64_t ack_failures() const { return ack_failures_.load(); }
  // Delivered messages the stream leader held otherwise (handled as the leader's).
  uint64_t diverged() const { return diverged_.load(); }
  const std::string& durable() const { return options_.durable; }

  static constexpr char kDeadLetterStream[] = "DEADLETTER";

 private:
  DurableConsumer(JetStream& js, Options options, Handler handler)
      : js_(js), options_(std::move(options)), handler_(std::move(handler)) {}
  absl::Status CreateOrUpdate();
  void Loop();
  // Replaces each fetched message by what the stream leader holds at its
  // sequence where the two differ (`from_leader[i]` set). False when the
  // leader could not be asked.
  bool ToLeaderCopies(std::vector<StreamMessage>& fetched, std::vector<bool>& from_leader);
  // `m`: the message to handle for the delivered `msg` (acked under it);
  // `from_leader`: it is the leader's copy, not what was delivered.
  void Handle(natsMsg* msg, StreamMessage m, bool from_leader);
  absl::Status DeadLetterOf(const StreamMessage& m, const absl::Status& error);
  void CheckAck(natsStatus s, jsErrCode jerr, const char* op, const StreamMessage& m);
  void Nak(natsMsg* msg, const StreamMessage& m);

  JetStream& js_;
  const Options options_;
  const Handler handler_;
  natsSubscription* sub_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> handled_{0};
  std::atomic<uint64_t> redelivered_{0};
  std::atomic<uint64_t> diverged_{0};
  std::atomic<uint64_t> dead_lettered_{0};
  std::atomic<uint64_t> dead_letter_failures_{0};
  std::atomic<uint64_t> ack_failures_{0};
  std::thread thread_;
};

}  // namespace rentmesh::nats
