#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/core/backend_caller.h"
#include "gateway/core/client_rate_limiter.h"
#include "gateway/core/jwt_verifier.h"
#include "gateway/core/route_table.h"
#include "gateway/core/transcoder.h"

namespace rentmesh::gateway {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// An HTTP request as the server library parsed it.
struct HttpRequest {
  std::string method;  // upper case
  std::string target;  // raw request target: "/v1/books/b1?x=y", still percent-encoded
  HeaderList headers;  // names lower case; repeated names allowed
  std::string body;

  // The first value of header `name` (lower case), if any.
  const std::string* Header(absl::string_view name) const;
};

// The rest of a streamed response body, produced chunk by chunk.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  // The next chunk; nullopt at the end. May block until the backend sends.
  virtual std::optional<std::string> NextChunk() = 0;
  // The client went away: stop the backend call. Idempotent.
  virtual void Cancel() = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;
  std::string body;
  // For a server-streaming route: sent (chunked) after `body`.
  std::unique_ptr<ChunkSource> stream;
};

struct GatewayOptions {
  // Deadline of a call without a Grpc-Timeout header.
  absl::Duration default_timeout = absl::Seconds(10);
  // Upper bound on a client's Grpc-Timeout.
  absl::Duration max_timeout = absl::Minutes(5);
  // Deadline of a server-streaming call without Grpc-Timeout.
  absl::Duration stream_timeout = absl::Hours(1);
  // Larger bodies answer 413 (the HTTP server enforces it first; this is the
  // same rule for other callers).
  size_t max_body_bytes = 1 << 20;
  // Per-backend deadline of the /healthz probe.
  absl::Duration health_timeout = absl::Milliseconds(800);
  // Sum of the request's header names and values; more answers 431.
  size_t max_header_bytes = 16 << 10;
  // Per-client request rate (by peer address); over it answers 429 with
  // Retry-After. /healthz is exempt (probes).
  RateLimit rate_limit;
  // Open server-streaming responses (watches) at once; more answer 429 with
  // Retry-After. Each holds an HTTP worker thread, so keep it well below the
  // thread count or watches starve the REST API.
  int max_open_streams = 32;
  TranscoderOptions transcoder;
  // The OpenAPI document declares bearer auth (set when a verifier is given).
  std::string openapi_title = "rentmesh REST API";
};

// The edge's per-request pipeline, independent of the HTTP library and of
// gRPC: route lookup (404/405), limits (413), JWT (401 + WWW-Authenticate),
// Grpc-Timeout, transcoding (400), header forwarding, the backend call and
// the error table. Also serves GET /healthz and GET /openapi.json.
// Thread-safe; Handle never throws or crashes on any input.
class GatewayHandler final {
 public:
  // `routes` and `backends` must outlive the handler. `verifier` null means
  // authentication is disabled: no identity metadata is sent and the
  // services treat calls as coming from inside the mesh.
  GatewayHandler(GatewayOptions options, const RouteTable& routes, BackendCaller& backends,
                 std::unique_ptr<JwtVerifier> verifier,
                 std::function<absl::Time()> clock = &absl::Now);

  // `client` is the peer's address: the per-client rate limit's key.
  HttpResponse Handle(const HttpRequest& request, absl::string_view client = "");
  // Handle without blocking on a unary backend call: `done` runs once with
  // the same response, on this thread (an answer that needs no backend call)
  // or on a backend thread. What NeedsBlocking names still blocks here: give
  // those to Handle on a thread that may block.
  void HandleAsync(const HttpRequest& request, absl::string_view client,
                   std::function<void(HttpResponse)> done);
  // /healthz (it probes every backend) and server-streaming routes (the
  // response is pulled chunk by chunk).
  bool NeedsBlocking(const HttpRequest& request) const;

 private:
  // A request up to its backend call: the answer already (errors, /healthz,
  // /openapi.json), or the unary or server-streaming call to make.
  struct Prepared {
    Prepared() = default;
    Prepared(HttpResponse r) : answer(std::move(r)) {}  // NOLINT: implicit on purpose
    std::optional<HttpResponse> answer;
    const Route* route = nullptr;
    std::optional<BackendCall> call;
  };
  struct Started {
    std::string request_id;
    Prepared prepared;
  };
  Started Start(const HttpRequest& request, absl::string_view client);
  Prepared HandleApi(const HttpRequest& request, absl::string_view raw_path,
                     absl::string_view raw_query, const std::string& request_id);
  HttpResponse Stream(const Route& route, BackendCall call);
  HttpResponse FinishUnary(const Route& route, const absl::StatusOr<std::string>& reply) const;
  HttpResponse Healthz();
  std::string NewRequestId();
  // 429 with Retry-After (whole seconds, at least 1).
  static HttpResponse TooManyRequests(absl::string_view why, absl::Duration retry_after);

  const GatewayOptions options_;
  const RouteTable& routes_;
  BackendCaller& backends_;
  const std::unique_ptr<JwtVerifier> verifier_;
  const std::function<absl::Time()> clock_;
  const Transcoder transcoder_;
  const std::string openapi_json_;
  ClientRateLimiter limiter_;
  std::atomic<int> open_streams_{0};
  absl::Mutex id_mu_;
  absl::BitGen id_gen_ ABSL_GUARDED_BY(id_mu_);
};

// Grpc-Timeout ("<1-8 digits><H|M|S|m|u|n>") as a duration; nullopt when malformed.
std::optional<absl::Duration> ParseGrpcTimeout(absl::string_view value);

// The gRPC metadata forwarded for a request: authorization, x-request-id
// (`request_id`), traceparent, tracestate, b3 and x-b3-*, and
// Grpc-Metadata-<name> as <name>. Headers naming x-rentmesh-* (identity) or
// grpc-* are never forwarded from the client; `identity`, when given, adds
// x-rentmesh-subject and x-rentmesh-roles. INVALID_ARGUMENT when a forwarded
// value is not printable ASCII.
absl::StatusOr<HeaderList> ForwardedMetadata(const HeaderList& headers,
                                             const std::string& request_id,
                                             const VerifiedIdentity* identity);

}  // namespace rentmesh::gateway
