#include "gateway/core/gateway_handler.h"

#include <google/protobuf/dynamic_message.h>

#include <future>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/core/error_mapping.h"
#include "gateway/core/json_guard.h"
#include "gateway/core/openapi.h"

namespace rentmesh::gateway {
namespace {

constexpr char kRealm[] = "rentmesh";
constexpr const char* kTraceHeaders[] = {"traceparent",  "tracestate",  "b3",
                                         "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid",
                                         "x-b3-sampled", "x-b3-flags"};
constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";

bool IsPrintableAscii(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

bool IsHeaderName(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

HttpResponse ErrorResponse(int http_status, const absl::Status& status) {
  HttpResponse r;
  r.status = http_status;
  r.body = StatusJson(status);
  return r;
}

HttpResponse ErrorResponse(const absl::Status& status) {
  return ErrorResponse(HttpStatusFromCode(status.code()), status);
}

// A 401 with the RFC 6750 challenge.
HttpResponse Unauthorized(const absl::Status& status, bool token_given) {
  HttpResponse r = ErrorResponse(401, status);
  std::string challenge = absl::StrCat("Bearer realm=\"", kRealm, "\"");
  if (token_given) {
    std::string desc(status.message());
    for (char& c : desc) {
      if (c == '"' || c == '\\' || !IsPrintableAscii(absl::string_view(&c, 1))) c = '\'';
    }
    absl::StrAppend(&challenge, ", error=\"invalid_token\", error_description=\"", desc, "\"");
  }
  r.headers.emplace_back("WWW-Authenticate", challenge);
  return r;
}

// Streams {"result": ...} lines, then an {"error": ...} line when the call
// fails after its first message.
// One of the open-stream slots, given back when the response is gone.
class StreamSlot final {
 public:
  explicit StreamSlot(std::atomic<int>& open) : open_(&open) {}
  StreamSlot(StreamSlot&& other) noexcept : open_(other.open_) { other.open_ = nullptr; }
  StreamSlot& operator=(StreamSlot&&) = delete;
  ~StreamSlot() {
    if (open_ != nullptr) open_->fetch_sub(1);
  }

 private:
  std::atomic<int>* open_;
};

class NdjsonChunkSource final : public ChunkSource {
 public:
  NdjsonChunkSource(std::unique_ptr<MessageStream> stream, const Transcoder& transcoder,
                    const Route& route, StreamSlot slot)
      : stream_(std::move(stream)),
        transcoder_(transcoder),
        route_(route),
        slot_(std::move(slot)) {}

  std::optional<std::string> NextChunk() override {
    if (done_) return std::nullopt;
    absl::StatusOr<std::optional<std::string>> next = stream_->Next();
    if (next.ok() && !next->has_value()) {
      done_ = true;
      return std::nullopt;
    }
    if (!next.ok()) {
      done_ = true;
      return absl::StrCat("{\"error\":", StatusJson(next.status()), "}\n");
    }
    return Line(**next);
  }

  void Cancel() override { stream_->Cancel(); }

  // One NDJSON line for a serialized message.
  std::string Line(const std::string& message) {
    absl::StatusOr<std::string> json = transcoder_.EncodeResponseJson(route_, message);
    if (!json.ok()) {
      done_ = true;
      stream_->Cancel();
      return absl::StrCat("{\"error\":", StatusJson(json.status()), "}\n");
    }
    return absl::StrCat("{\"result\":", *json, "}\n");
  }

 private:
  std::unique_ptr<MessageStream> stream_;
  const Transcoder& transcoder_;
  const Route& route_;
  StreamSlot slot_;
  bool done_ = false;
};

}  // namespace

const std::string* HttpRequest::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::optional<absl::Duration> ParseGrpcTimeout(absl::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t n;
  const absl::string_view digits = value.substr(0, value.size() - 1);
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  if (!absl::SimpleAtoi(digits, &n)) return std::nullopt;
  switch (value.back()) {
    case 'H':
      return absl::Hours(n);
    case 'M':
      return absl::Minutes(n);
    case 'S':
      return absl::Seconds(n);
    case 'm':
      return absl::Milliseconds(n);
    case 'u':
      return absl::Microseconds(n);
    case 'n':
      return absl::Nanoseconds(n);
    default:
      return std::nullopt;
  }
}

absl::StatusOr<HeaderList> ForwardedMetadata(const HeaderList& headers,
                                             const std::string& request_id,
                                             const VerifiedIdentity* identity) {
  HeaderList md;
  for (const auto& [name, value] : headers) {
    std::string key;
    if (name == "authorization") {
      key = name;
    } else if (absl::StartsWith(name, "grpc-metadata-")) {
      key = name.substr(strlen("grpc-metadata-"));
      if (!IsHeaderName(key) || absl::StartsWith(key, "x-rentmesh-") ||
          absl::StartsWith(key, "grpc-") || absl::EndsWith(key, "-bin") || key == "x-request-id" ||
          key == "authorization") {
        continue;
      }
    } else {
      for (const char* h : kTraceHeaders) {
        if (name == h) key = name;
      }
      if (key.empty()) continue;
    }
    if (!IsPrintableAscii(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("header \"", name, "\" is not printable ASCII"));
    }
    md.emplace_back(std::move(key), value);
  }
  md.emplace_back("x-request-id", request_id);
  if (identity != nullptr) {
    md.emplace_back("x-rentmesh-subject", identity->subject);
    if (!identity->roles.empty())
      md.emplace_back("x-rentmesh-roles", absl::StrJoin(identity->roles, ","));
  }
  return md;
}

// A mutating call whose request has an empty `request_id` gets the
// X-Request-Id: a retry of the same HTTP request (the client resending its
// X-Request-Id, or the mesh retrying the gRPC call) is then recognised by the
// service instead of acting twice. Generic: any request message with a string
// field named request_id, no per-route code.
void DefaultRequestId(const Route& route, const std::string& request_id, std::string& message) {
  const google::protobuf::Descriptor* input = route.method->input_type();
  const google::protobuf::FieldDescriptor* field = input->FindFieldByName("request_id");
  if (field == nullptr || field->is_repeated() ||
      field->type() != google::protobuf::FieldDescriptor::TYPE_STRING) {
    return;
  }
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<google::protobuf::Message> m(factory.GetPrototype(input)->New());
  if (!m->ParseFromString(message)) return;
  const google::protobuf::Reflection* refl = m->GetReflection();
  if (!refl->GetString(*m, field).empty()) return;
  refl->SetString(m.get(), field, request_id);
  message = m->SerializeAsString();
}

GatewayHandler::GatewayHandler(GatewayOptions options, const RouteTable& routes,
                               BackendCaller& backends, std::unique_ptr<JwtVerifier> verifier,
                               std::function<absl::Time()> clock)
    : options_(std::move(options)),
      routes_(routes),
      backends_(backends),
      verifier_(std::move(verifier)),
      clock_(std::move(clock)),
      transcoder_(options_.transcoder),
      openapi_json_(
          BuildOpenApi(routes, OpenApiOptions{options_.openapi_title, "v1", verifier_ != nullptr})),
      limiter_(options_.rate_limit, clock_) {}

HttpResponse GatewayHandler::TooManyRequests(absl::string_view why, absl::Duration retry_after) {
  HttpResponse r = ErrorResponse(429, absl::ResourceExhaustedError(why));
  const int64_t seconds =
      std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(retry_after, absl::Seconds(1))));
  r.headers.emplace_back("Retry-After", absl::StrCat(seconds));
  return r;
}

std::string GatewayHandler::NewRequestId() {
  uint64_t hi, lo;
  {
    absl::MutexLock lock(&id_mu_);
    hi = absl::Uniform<uint64_t>(id_gen_);
    lo = absl::Uniform<uint64_t>(id_gen_);
  }
  // A version-4 UUID.
  hi = (hi & ~uint64_t{0xF000}) | 0x4000;
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);
  char buf[40];
  snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
           static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
           static_cast<unsigned>(lo >> 48),
           static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return buf;
}

GatewayHandler::Started GatewayHandler::Start(const HttpRequest& request, absl::string_view client) {
  std::string request_id;
  if (const std::string* given = request.Header("x-request-id");
      given != nullptr && !given->empty() && given->size() <= 128 && IsPrintableAscii(*given)) {
    request_id = *given;
  } else {
    request_id = NewRequestId();
  }
  const size_t q = request.target.find('?');
  const absl::string_view target(request.target);
  const absl::string_view raw_path = target.substr(0, q);
  const absl::string_view raw_query =
      q == absl::string_view::npos ? absl::string_view() : target.substr(q + 1);

  Prepared response;
  const bool read_method = request.method == "GET" || request.method == "HEAD";
  size_t header_bytes = 0;
  for (const auto& [k, v] : request.headers) header_bytes += k.size() + v.size();
  absl::Duration wait = absl::ZeroDuration();
  if (header_bytes > options_.max_header_bytes) {
    response =
        ErrorResponse(431, absl::InvalidArgumentError(absl::StrCat(
                               "request headers exceed ", options_.max_header_bytes, " bytes")));
  } else if (raw_path != "/healthz" && (wait = limiter_.Admit(client)) > absl::ZeroDuration()) {
    response = TooManyRequests("too many requests from this client; slow down", wait);
  } else if (raw_path == "/healthz" || raw_path == "/openapi.json") {
    if (!read_method) {
      HttpResponse r = ErrorResponse(405, absl::UnimplementedError("method not allowed"));
      r.headers.emplace_back("Allow", "GET");
      response = std::move(r);
    } else if (raw_path == "/healthz") {
      response = Healthz();
    } else {
      HttpResponse r;
      r.body = openapi_json_;
      response = std::move(r);
    }
  } else {
    response = HandleApi(request, raw_path, raw_query, request_id);
  }
  return Started{std::move(request_id), std::move(response)};
}

HttpResponse GatewayHandler::Handle(const HttpRequest& request, absl::string_view client) {
  Started s = Start(request, client);
  HttpResponse r = s.prepared.answer.has_value() ? *std::move(s.prepared.answer)
                   : s.prepared.route->server_streaming
                       ? Stream(*s.prepared.route, *std::move(s.prepared.call))
                       : FinishUnary(*s.prepared.route, backends_.Unary(*s.prepared.call));
  r.headers.emplace_back("X-Request-Id", std::move(s.request_id));
  return r;
}

void GatewayHandler::HandleAsync(const HttpRequest& request, absl::string_view client,
                                 std::function<void(HttpResponse)> done) {
  Started s = Start(request, client);
  if (s.prepared.answer.has_value() || s.prepared.route->server_streaming) {
    HttpResponse r = s.prepared.answer.has_value()
                         ? *std::move(s.prepared.answer)
                         : Stream(*s.prepared.route, *std::move(s.prepared.call));
    r.headers.emplace_back("X-Request-Id", std::move(s.request_id));
    done(std::move(r));
    return;
  }
  const Route* route = s.prepared.route;
  backends_.UnaryAsync(*s.prepared.call, [this, route, id = std::move(s.request_id),
                                          done = std::move(done)](
                                             absl::StatusOr<std::string> reply) mutable {
    HttpResponse r = FinishUnary(*route, reply);
    r.headers.emplace_back("X-Request-Id", std::move(id));
    done(std::move(r));
  });
}

bool GatewayHandler::NeedsBlocking(const HttpRequest& request) const {
  const absl::string_view target(request.target);
  const absl::string_view path = target.substr(0, target.find('?'));
  if (path == "/healthz") return true;
  RouteTable::Lookup lookup = routes_.Find(request.method, path);
  return lookup.match.has_value() && lookup.match->route->server_streaming;
}

GatewayHandler::Prepared GatewayHandler::HandleApi(const HttpRequest& request,
                                                   absl::string_view raw_path,
                                                   absl::string_view raw_query,
                                                   const std::string& request_id) {
  if (raw_path.empty() || raw_path[0] != '/') {
    return ErrorResponse(absl::InvalidArgumentError("the request target must be an absolute path"));
  }
  if (request.body.size() > options_.max_body_bytes) {
    return ErrorResponse(413, absl::InvalidArgumentError(absl::StrCat(
                                  "request body exceeds ", options_.max_body_bytes, " bytes")));
  }
  RouteTable::Lookup lookup = routes_.Find(request.method, raw_path);
  if (!lookup.match.has_value()) {
    if (lookup.allowed_methods.empty()) {
      return ErrorResponse(absl::NotFoundError(absl::StrCat("no route for ", raw_path)));
    }
    HttpResponse r = ErrorResponse(
        405, absl::UnimplementedError(absl::StrCat("method ", request.method, " not allowed")));
    r.headers.emplace_back("Allow", absl::StrJoin(lookup.allowed_methods, ", "));
    return r;
  }
  const Route& route = *lookup.match->route;

  std::optional<VerifiedIdentity> identity;
  if (verifier_ != nullptr) {
    const std::string* auth = request.Header("authorization");
    absl::StatusOr<std::string> token = BearerToken(auth == nullptr ? "" : *auth);
    if (!token.ok()) return Unauthorized(token.status(), /*token_given=*/false);
    absl::StatusOr<VerifiedIdentity> verified = verifier_->Verify(*token);
    if (!verified.ok()) return Unauthorized(verified.status(), /*token_given=*/true);
    identity = *std::move(verified);
  }

  absl::Duration timeout =
      route.server_streaming ? options_.stream_timeout : options_.default_timeout;
  if (const std::string* t = request.Header("grpc-timeout"); t != nullptr) {
    std::optional<absl::Duration> parsed = ParseGrpcTimeout(*t);
    if (!parsed.has_value()) {
      return ErrorResponse(absl::InvalidArgumentError("malformed Grpc-Timeout header"));
    }
    timeout = std::min(*parsed, options_.max_timeout);
  }

  absl::StatusOr<std::string> message =
      transcoder_.EncodeRequest(*lookup.match, raw_query, request.body);
  if (!message.ok()) return ErrorResponse(message.status());
  if (route.http_method != "GET") DefaultRequestId(route, request_id, *message);
  absl::StatusOr<HeaderList> metadata =
      ForwardedMetadata(request.headers, request_id, identity ? &*identity : nullptr);
  if (!metadata.ok()) return ErrorResponse(metadata.status());

  Prepared out;
  out.route = &route;
  out.call = BackendCall{route.backend, route.grpc_path, *std::move(message),
                         *std::move(metadata), clock_() + timeout};
  return out;
}

HttpResponse GatewayHandler::Stream(const Route& route, BackendCall call) {
  StreamSlot slot(open_streams_);
  if (open_streams_.fetch_add(1) >= options_.max_open_streams) {
    return TooManyRequests("too many open streams on this gateway; retry shortly",
                           absl::Seconds(5));
  }
  std::unique_ptr<MessageStream> stream = backends_.ServerStream(call);
  // The first message decides the HTTP status: an immediate failure
  // (PERMISSION_DENIED, NOT_FOUND) gets its own status, not a 200 stream.
  absl::StatusOr<std::optional<std::string>> first = stream->Next();
  if (!first.ok()) return ErrorResponse(first.status());
  auto source =
      std::make_unique<NdjsonChunkSource>(std::move(stream), transcoder_, route, std::move(slot));
  HttpResponse r;
  r.content_type = "application/x-ndjson";
  if (first->has_value()) r.body = source->Line(**first);
  r.stream = std::move(source);
  if (!first->has_value()) r.stream.reset();
  return r;
}

HttpResponse GatewayHandler::FinishUnary(const Route& route,
                                         const absl::StatusOr<std::string>& reply) const {
  if (!reply.ok()) return ErrorResponse(reply.status());
  absl::StatusOr<std::string> json = transcoder_.EncodeResponseJson(route, *reply);
  if (!json.ok()) return ErrorResponse(json.status());
  HttpResponse r;
  r.status = route.creates ? 201 : 200;
  r.body = *std::move(json);
  return r;
}

HttpResponse GatewayHandler::Healthz() {
  // grpc.health.v1.HealthCheckRequest{service: ""} is the empty message;
  // the response's field 1 (varint) is the status, SERVING = 1.
  const std::vector<std::string> backends = routes_.Backends();
  std::vector<std::future<absl::StatusOr<std::string>>> probes;
  for (const std::string& b : backends) {
    BackendCall call{b, kHealthCheckMethod, "", {}, clock_() + options_.health_timeout};
    probes.push_back(
        std::async(std::launch::async, [this, call] { return backends_.Unary(call); }));
  }
  nlohmann::json out;
  bool all_serving = true;
  for (size_t i = 0; i < backends.size(); ++i) {
    absl::StatusOr<std::string> reply = probes[i].get();
    std::string state;
    if (!reply.ok()) {
      state = absl::StrCat(absl::StatusCodeToString(reply.status().code()), ": ",
                           reply.status().message());
    } else if (reply->size() >= 2 && (*reply)[0] == 0x08) {
      const int v = static_cast<unsigned char>((*reply)[1]);
      state = v == 1 ? "SERVING" : v == 2 ? "NOT_SERVING" : v == 3 ? "SERVICE_UNKNOWN" : "UNKNOWN";
    } else {
      state = "UNKNOWN";
    }
    all_serving = all_serving && state == "SERVING";
    out["backends"][backends[i]] = state;
  }
  out["status"] = all_serving ? "SERVING" : "NOT_SERVING";
  HttpResponse r;
  r.status = all_serving ? 200 : 503;
  r.body = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace rentmesh::gateway
