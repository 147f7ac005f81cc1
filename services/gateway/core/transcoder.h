#pragma once

#include <google/protobuf/message.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/core/route_table.h"

namespace rentmesh::gateway {

struct TranscoderOptions {
  // Deeper JSON request bodies are rejected before parsing.
  int max_json_depth = 32;
  // Print fields with default values (grpc-gateway v2's default: EmitUnpopulated).
  bool emit_unpopulated = true;
};

// JSON/HTTP <-> protobuf for one route, with protobuf's own JSON mapping:
// lowerCamelCase and original field names are accepted, lowerCamelCase is
// emitted; unknown fields are an error. Thread-safe (no mutable state).
class Transcoder final {
 public:
  explicit Transcoder(TranscoderOptions options,
                      google::protobuf::MessageFactory* factory =
                          google::protobuf::MessageFactory::generated_factory())
      : options_(options), factory_(factory) {}

  // The serialized request message of `match`'s method, from (in increasing
  // precedence) the body, the query parameters and the path variables.
  // - body "*": the whole message; query parameters are then refused.
  // - body "<field>": that field; query parameters set the other fields.
  // - no body: query parameters set any field not bound by the path:
  //   "?a.b=x" for nested, repeated "?ids=1&ids=2"; bool as true/false,
  //   enums by name or number, Timestamp/Duration in their JSON form.
  // INVALID_ARGUMENT on anything the client got wrong (malformed or non-UTF-8
  // JSON, too deep, unknown field or parameter, wrong type); never a
  // half-parsed message.
  absl::StatusOr<std::string> EncodeRequest(const RouteMatch& match, absl::string_view raw_query,
                                            absl::string_view body) const;

  // JSON for a serialized response of `route`'s method (its response_body
  // field only, when the rule names one). INTERNAL when `bytes` does not parse.
  absl::StatusOr<std::string> EncodeResponseJson(const Route& route, absl::string_view bytes) const;

 private:
  TranscoderOptions options_;
  google::protobuf::MessageFactory* factory_;
};

}  // namespace rentmesh::gateway
