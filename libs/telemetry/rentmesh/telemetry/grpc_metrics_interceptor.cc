#include "rentmesh/telemetry/grpc_metrics_interceptor.h"

#include <chrono>

#include "rentmesh/telemetry/metric_names.h"

namespace rentmesh::telemetry {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Lives for one RPC; gRPC deletes it when the call ends.
class GrpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  GrpcMetricsInterceptor(CounterFamily& handled, HistogramFamily& handling_seconds,
                         std::string_view full_method)
      : handled_(handled),
        handling_seconds_(handling_seconds),
        start_(std::chrono::steady_clock::now()) {
    std::tie(service_, method_) = SplitGrpcMethod(full_method);
  }

  // grpc::experimental::Interceptor
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_CLOSE)) {
      // Reached without PRE_SEND_STATUS only when the client cancelled.
      Record(grpc::StatusCode::CANCELLED);
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    if (recorded_) return;
    recorded_ = true;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    handled_.WithLabels({service_, method_, GrpcCodeName(code)}).Increment();
    handling_seconds_.WithLabels({service_, method_}).Observe(seconds);
  }

  CounterFamily& handled_;
  HistogramFamily& handling_seconds_;
  const std::chrono::steady_clock::time_point start_;
  std::string service_;
  std::string method_;
  // Hooks of one call run one batch at a time, so no lock is needed.
  bool recorded_ = false;
};

}  // namespace

GrpcMetricsInterceptorFactory::GrpcMetricsInterceptorFactory(MetricsRegistry& registry,
                                                             bool count_probes)
    : handled_(registry.AddCounter(kGrpcServerHandledTotal,
                                   "RPCs completed on the server, by status code.",
                                   {"service", "method", "code"})),
      handling_seconds_(registry.AddHistogram(
          kGrpcServerHandlingSeconds, "Time from RPC start to status sent, in seconds.",
          {"service", "method"}, DefaultLatencyBucketsSeconds())),
      count_probes_(count_probes) {}

grpc::experimental::Interceptor* GrpcMetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const char* method = info->method();
  std::string_view path = method ? method : "";
  if (!count_probes_ &&
      (path.rfind("/grpc.health.v1.Health/", 0) == 0 || path.rfind("/grpc.reflection.", 0) == 0)) {
    return nullptr;
  }
  return new GrpcMetricsInterceptor(handled_, handling_seconds_, path);
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
MakeGrpcServerInterceptors(MetricsRegistry& registry, bool count_probes) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<GrpcMetricsInterceptorFactory>(registry, count_probes));
  return out;
}

std::string_view GrpcCodeName(grpc::StatusCode code) {
  static constexpr std::string_view kNames[] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
  const int index = static_cast<int>(code);
  if (index < 0 || index >= static_cast<int>(std::size(kNames))) return "UNKNOWN";
  return kNames[index];
}

std::pair<std::string, std::string> SplitGrpcMethod(std::string_view full_method) {
  if (full_method.size() > 1 && full_method.front() == '/') {
    const size_t slash = full_method.find('/', 1);
    if (slash != std::string_view::npos && slash > 1 && slash + 1 < full_method.size()) {
      return {std::string(full_method.substr(1, slash - 1)),
              std::string(full_method.substr(slash + 1))};
    }
  }
  return {"unknown", std::string(full_method)};
}

}  // namespace rentmesh::telemetry
