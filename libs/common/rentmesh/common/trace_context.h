#pragma once

#include <map>
#include <string>

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

namespace rentmesh {

// The tracing headers the mesh stitches traces with (W3C traceparent and
// tracestate, B3, x-request-id), carried from an inbound call to outbound
// calls and to event headers.
struct TraceContext {
  std::string traceparent;
  std::string tracestate;
  std::string request_id;
  std::map<std::string, std::string> b3;  // x-b3-traceid, x-b3-spanid, ..., b3

  static TraceContext FromServerContext(const grpc::ServerContextBase& ctx);
  void ApplyTo(grpc::ClientContext& ctx) const;
  // Header name/value pairs, for NATS message headers.
  std::map<std::string, std::string> Headers() const;
};

}  // namespace rentmesh
