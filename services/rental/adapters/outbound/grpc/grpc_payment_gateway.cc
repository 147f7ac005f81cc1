#include "rental/adapters/outbound/grpc/grpc_payment_gateway.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "rental/adapters/mapping.h"
#include "rentmesh/common/grpc_status.h"

namespace rentmesh::rental {
namespace {

bool IsTransient(grpc::StatusCode c) {
  return c == grpc::StatusCode::UNAVAILABLE || c == grpc::StatusCode::DEADLINE_EXCEEDED ||
         c == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

// The call did not run on that endpoint (or was refused before running):
// another endpoint may take it within the same deadline.
bool TryNext(grpc::StatusCode c) {
  return c == grpc::StatusCode::UNAVAILABLE || c == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

}  // namespace

std::vector<std::shared_ptr<grpc::Channel>> PaymentChannels(
    const std::string& addresses, const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  std::vector<std::shared_ptr<grpc::Channel>> out;
  for (absl::string_view a : absl::StrSplit(addresses, ',', absl::SkipWhitespace())) {
    grpc::ChannelArguments args;
    args.SetLoadBalancingPolicyName("round_robin");
    out.push_back(grpc::CreateCustomChannel(std::string(absl::StripAsciiWhitespace(a)),
                                            credentials, args));
  }
  return out;
}

GrpcPaymentGateway::GrpcPaymentGateway(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                                       CircuitBreaker::Options breaker_options,
                                       const Clock& clock,
                                       std::function<void(grpc::ClientContext&)> authorize)
    : authorize_(std::move(authorize)) {
  for (const auto& channel : channels) {
    endpoints_.push_back({payment::v1::PaymentService::NewStub(channel),
                          std::make_unique<CircuitBreaker>(breaker_options, clock)});
  }
}

bool GrpcPaymentGateway::Accepting() {
  for (Endpoint& e : endpoints_) {
    if (e.breaker->WouldAllow()) return true;
  }
  return false;
}

bool GrpcPaymentGateway::CircuitOpen() {
  for (Endpoint& e : endpoints_) {
    if (e.breaker->state() == CircuitBreaker::State::kClosed) return false;
  }
  return !endpoints_.empty();
}

absl::StatusOr<PaymentOutcome> GrpcPaymentGateway::Pay(const PaymentRequest& request,
                                                       absl::Time deadline) {
  payment::v1::PayRequest req;
  req.set_rental_id(request.rental_id);
  req.set_customer_id(request.customer_id);
  *req.mutable_amount() = mapping::ToProto(request.amount);
  req.set_description(request.description);

  const size_t n = endpoints_.size();
  const size_t first = next_.fetch_add(1, std::memory_order_relaxed);
  grpc::Status last = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                   "payment circuit is open after repeated failures");
  for (size_t i = 0; i < n; ++i) {
    if (absl::Now() >= deadline) break;
    Endpoint& e = endpoints_[(first + i) % n];
    if (!e.breaker->Allow()) continue;
    payment::v1::Payment resp;
    grpc::ClientContext ctx;
    if (authorize_) authorize_(ctx);
    ctx.set_deadline(absl::ToChronoTime(deadline));
    for (const auto& [k, v] : request.trace) ctx.AddMetadata(k, v);
    grpc::Status st = e.stub->Pay(&ctx, req, &resp);
    if (IsTransient(st.error_code())) {
      e.breaker->RecordFailure();
      last = st;
      if (TryNext(st.error_code())) continue;
      return FromGrpcStatus(st);  // DEADLINE_EXCEEDED: the deadline is spent
    }
    e.breaker->RecordSuccess();
    if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      return PaymentOutcome{false, "", st.error_message()};
    }
    if (!st.ok()) return FromGrpcStatus(st);
    if (resp.status() != payment::v1::PAYMENT_STATUS_APPROVED) {
      return PaymentOutcome{
          false, resp.payment_id(),
          resp.decline_reason().empty() ? "payment not approved" : resp.decline_reason()};
    }
    return PaymentOutcome{true, resp.payment_id(), ""};
  }
  return FromGrpcStatus(last);
}

}  // namespace rentmesh::rental
