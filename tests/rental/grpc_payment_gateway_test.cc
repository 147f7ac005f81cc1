#include "rental/adapters/outbound/grpc/grpc_payment_gateway.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "gtest/gtest.h"

namespace rentmesh::rental {
namespace {

// Port 1 on loopback: nobody listens, every call fails UNAVAILABLE at once.
std::vector<std::shared_ptr<grpc::Channel>> DeadChannels() {
  return PaymentChannels("127.0.0.1:1", grpc::InsecureChannelCredentials());
}

PaymentRequest Request() {
  PaymentRequest r;
  r.rental_id = "r-1";
  r.customer_id = "alice";
  r.amount = {"KRW", 1500};
  return r;
}

TEST(GrpcPaymentGatewayTest, CircuitOpenOnceEveryEndpointIsOpen) {
  ManualClock clock(absl::FromUnixSeconds(1000));
  GrpcPaymentGateway payment(DeadChannels(), {2, absl::Seconds(3)}, clock);
  EXPECT_FALSE(payment.CircuitOpen());

  EXPECT_FALSE(payment.Pay(Request(), absl::Now() + absl::Seconds(2)).ok());
  EXPECT_FALSE(payment.CircuitOpen()) << "one failure of two";
  EXPECT_FALSE(payment.Pay(Request(), absl::Now() + absl::Seconds(2)).ok());
  EXPECT_TRUE(payment.CircuitOpen());
  EXPECT_FALSE(payment.Accepting());

  // Past open_for a probe may go, but the circuit is not closed until one succeeds.
  clock.Advance(absl::Seconds(4));
  EXPECT_TRUE(payment.Accepting());
  EXPECT_TRUE(payment.CircuitOpen());
}

}  // namespace
}  // namespace rentmesh::rental
