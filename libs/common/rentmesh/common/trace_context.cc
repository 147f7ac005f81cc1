#include "rentmesh/common/trace_context.h"

#include "absl/strings/string_view.h"

namespace rentmesh {
namespace {

constexpr const char* kB3Headers[] = {"b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid",
                                      "x-b3-sampled", "x-b3-flags"};

std::string Get(const std::multimap<grpc::string_ref, grpc::string_ref>& md, absl::string_view key) {
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return {};
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

TraceContext TraceContext::FromServerContext(const grpc::ServerContextBase& ctx) {
  const auto& md = ctx.client_metadata();
  TraceContext tc;
  tc.traceparent = Get(md, "traceparent");
  tc.tracestate = Get(md, "tracestate");
  tc.request_id = Get(md, "x-request-id");
  for (const char* h : kB3Headers) {
    std::string v = Get(md, h);
    if (!v.empty()) tc.b3[h] = std::move(v);
  }
  return tc;
}

void TraceContext::ApplyTo(grpc::ClientContext& ctx) const {
  for (const auto& [k, v] : Headers()) ctx.AddMetadata(k, v);
}

std::map<std::string, std::string> TraceContext::Headers() const {
  std::map<std::string, std::string> h = b3;
  if (!traceparent.empty()) h["traceparent"] = traceparent;
  if (!tracestate.empty()) h["tracestate"] = tracestate;
  if (!request_id.empty()) h["x-request-id"] = request_id;
  return h;
}

}  // namespace rentmesh
