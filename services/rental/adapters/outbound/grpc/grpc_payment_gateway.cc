#include "rental/adapters/outbound/grpc/grpc_payment_gateway.h"

#include "rental/adapters/mapping.h"
#include "rentmesh/common/grpc_status.h"

namespace rentmesh::rental {

std::vector<std::shared_ptr<grpc::Channel>> PaymentChannels(
    const std::string& addresses, const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  return FailoverChannels(addresses, credentials);
}

GrpcPaymentGateway::GrpcPaymentGateway(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                                       CircuitBreaker::Options breaker_options, const Clock& clock,
                                       std::function<void(grpc::ClientContext&)> authorize)
    : endpoints_(
          channels,
          [](std::shared_ptr<grpc::Channel> c) { return payment::v1::PaymentService::NewStub(c); },
          breaker_options, clock, std::move(authorize),
          "payment circuit is open after repeated failures") {}

absl::StatusOr<PaymentOutcome> GrpcPaymentGateway::Pay(const PaymentRequest& request,
                                                       absl::Time deadline) {
  payment::v1::PayRequest req;
  req.set_rental_id(request.rental_id);
  req.set_customer_id(request.customer_id);
  *req.mutable_amount() = mapping::ToProto(request.amount);
  req.set_description(request.description);

  payment::v1::Payment resp;
  grpc::Status st =
      endpoints_.Call(deadline, request.trace,
                      [&](payment::v1::PaymentService::Stub& stub, grpc::ClientContext& ctx) {
                        resp.Clear();
                        return stub.Pay(&ctx, req, &resp);
                      });
  if (decltype(endpoints_)::IsTransient(st.error_code())) return FromGrpcStatus(st);
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

}  // namespace rentmesh::rental
