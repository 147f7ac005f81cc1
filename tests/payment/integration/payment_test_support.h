#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rentmesh/events/v1/events.pb.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/payment/v1/payment.grpc.pb.h"

namespace rentmesh::payment::testing {

// Every message `stream` holds now, in order (read with a fresh follower).
absl::StatusOr<std::vector<nats::StreamMessage>> ReadStream(nats::JetStream& js,
                                                            const std::string& stream,
                                                            const std::string& subject);
// How many of `messages` carry event type `type` (and, if given, the subject).
int CountEvents(const std::vector<nats::StreamMessage>& messages, const std::string& type,
                const std::string& subject = "");
// Counts `type` events in the PAYMENT stream now.
int CountPaymentEvents(nats::JetStream& js, const std::string& type,
                       const std::string& subject = "");

// Messages of `stream` the durable has not delivered, or delivered without an ack yet.
absl::StatusOr<uint64_t> DurablePending(nats::JetStream& js, const std::string& stream,
                                        const std::string& durable);

// Seals `envelope` as its producer would and publishes it on `subject`.
// `copy` publishes it again as a separate message (another Nats-Msg-Id), as a
// redelivery after the duplicate window would look.
absl::Status PublishEvent(nats::JetStream& js, events::v1::Envelope envelope,
                          const std::string& subject, const std::string& correlation_id,
                          bool copy = false);
// The rental's own history before a cancel, abort or return (payment reacts
// only to events effective on it).
events::v1::Envelope BookAddedEvent(const std::string& book_id, int copies);
events::v1::Envelope RentalRequestedEvent(const std::string& rental_id, int64_t fee);
events::v1::Envelope BookRentedEvent(const std::string& rental_id);
events::v1::Envelope BookReturnedEvent(const std::string& rental_id, const std::string& return_id,
                                       int64_t late_fee);
events::v1::Envelope RentalCancelledEvent(const std::string& rental_id, int64_t fee);
events::v1::Envelope RentalAbortedEvent(const std::string& rental_id, const std::string& customer);
events::v1::Envelope ReturnCompletedEvent(const std::string& rental_id,
                                          const std::string& return_id, int64_t total_fee);

v1::PayRequest PayRequestFor(const std::string& rental_id, int64_t amount,
                             const std::string& customer = "alice");

struct Call {
  grpc::Status status;
  v1::Payment payment;
};
Call Pay(v1::PaymentService::Stub& stub, const v1::PayRequest& req,
         const std::vector<std::pair<std::string, std::string>>& metadata = {});
Call GetPayment(v1::PaymentService::Stub& stub, const std::string& payment_id,
                const std::vector<std::pair<std::string, std::string>>& metadata = {});
Call Refund(v1::PaymentService::Stub& stub, const std::string& payment_id,
            const std::string& reason = "");

// Polls `done` every 20 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout);

}  // namespace rentmesh::payment::testing
