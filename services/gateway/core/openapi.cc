#include "gateway/core/openapi.h"

#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace rentmesh::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

constexpr char kStatusRef[] = "#/components/schemas/google.rpc.Status";

class SchemaBuilder final {
 public:
  explicit SchemaBuilder(json& schemas) : schemas_(schemas) {}

  json Ref(const Descriptor& d) {
    Add(d);
    return json{{"$ref", absl::StrCat("#/components/schemas/", d.full_name())}};
  }

  json Field(const FieldDescriptor& f) {
    if (f.is_map()) {
      return json{{"type", "object"},
                  {"additionalProperties", Single(*f.message_type()->map_value())}};
    }
    if (f.is_repeated()) return json{{"type", "array"}, {"items", Single(f)}};
    return Single(f);
  }

  json Single(const FieldDescriptor& f) {
    switch (f.type()) {
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
        return json{{"type", "integer"}, {"format", "int32"}};
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        return json{{"type", "integer"}, {"format", "int64"}, {"minimum", 0}};
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
        return json{{"type", "string"}, {"format", "int64"}};
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        return json{{"type", "string"}, {"format", "uint64"}};
      case FieldDescriptor::TYPE_DOUBLE:
        return json{{"type", "number"}, {"format", "double"}};
      case FieldDescriptor::TYPE_FLOAT:
        return json{{"type", "number"}, {"format", "float"}};
      case FieldDescriptor::TYPE_BOOL:
        return json{{"type", "boolean"}};
      case FieldDescriptor::TYPE_STRING:
        return json{{"type", "string"}};
      case FieldDescriptor::TYPE_BYTES:
        return json{{"type", "string"}, {"format", "byte"}};
      case FieldDescriptor::TYPE_ENUM: {
        json values = json::array();
        for (int i = 0; i < f.enum_type()->value_count(); ++i)
          values.push_back(f.enum_type()->value(i)->name());
        return json{{"type", "string"}, {"enum", values}};
      }
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        return Message(*f.message_type());
    }
    return json::object();
  }

 private:
  json Message(const Descriptor& d) {
    const std::string& n = d.full_name();
    if (n == "google.protobuf.Timestamp") return json{{"type", "string"}, {"format", "date-time"}};
    if (n == "google.protobuf.Duration" || n == "google.protobuf.FieldMask")
      return json{{"type", "string"}};
    if (n == "google.protobuf.Struct" || n == "google.protobuf.Any")
      return json{{"type", "object"}};
    if (n == "google.protobuf.Value") return json::object();
    if (n == "google.protobuf.Empty") return json{{"type", "object"}};
    if (n.rfind("google.protobuf.", 0) == 0 && d.field_count() == 1 &&
        d.field(0)->name() == "value") {
      return Single(*d.field(0));  // wrappers
    }
    return Ref(d);
  }

  void Add(const Descriptor& d) {
    if (!seen_.insert(d.full_name()).second) return;
    json props = json::object();
    for (int i = 0; i < d.field_count(); ++i) {
      props[d.field(i)->json_name()] = Field(*d.field(i));
    }
    schemas_[d.full_name()] = json{{"type", "object"}, {"properties", props}};
  }

  json& schemas_;
  std::set<std::string> seen_;
};

// Query parameters: the fields a client may set in the query string, nested
// messages flattened with dots (to a bounded depth).
void AddQueryParams(const Descriptor& d, const std::string& prefix, const Route& route,
                    SchemaBuilder& schemas, int depth, json& params) {
  for (int i = 0; i < d.field_count(); ++i) {
    const FieldDescriptor& f = *d.field(i);
    const std::string name = prefix + f.name();
    bool bound = false;
    for (const std::string& v : route.path.VariableFields()) bound = bound || v == name;
    if (bound || (!route.body.empty() && route.body == name) || f.is_map()) continue;
    const bool plain_message = f.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                               f.message_type()->full_name().rfind("google.protobuf.", 0) != 0;
    if (plain_message) {
      if (!f.is_repeated() && depth < 3)
        AddQueryParams(*f.message_type(), name + ".", route, schemas, depth + 1, params);
      continue;
    }
    json p = {{"name", name}, {"in", "query"}, {"required", false}, {"schema", schemas.Field(f)}};
    if (f.is_repeated()) {
      p["style"] = "form";
      p["explode"] = true;
    }
    params.push_back(p);
  }
}

}  // namespace

std::string BuildOpenApi(const RouteTable& routes, const OpenApiOptions& options) {
  json doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = {{"title", options.title},
                 {"version", options.version},
                 {"description",
                  "Generated by the rentmesh gateway from the google.api.http annotations of the "
                  "gRPC contracts. Only the public API is served here: the internal steps of the "
                  "rental saga (x-rentmesh-internal) are callable over gRPC by the service that "
                  "owns them, and answer 404 at this edge."}};
  json schemas = json::object();
  schemas["google.rpc.Status"] = {
      {"type", "object"},
      {"properties",
       {{"code", {{"type", "integer"}, {"format", "int32"}}},
        {"message", {{"type", "string"}}},
        {"details", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};
  SchemaBuilder builder(schemas);
  json paths = json::object();
  json tags = json::array();
  for (const auto* s : routes.services()) tags.push_back({{"name", s->name()}});
  const std::set<std::string> kOpenApiMethods = {"get",   "put",     "post", "delete",
                                                 "patch", "options", "head"};
  for (const Route& r : routes.routes()) {
    const std::string method = absl::AsciiStrToLower(r.http_method);
    if (kOpenApiMethods.count(method) == 0) continue;
    json op;
    op["operationId"] = r.operation_id;
    op["summary"] = absl::StrCat(r.method->service()->name(), ".", r.method->name());
    op["tags"] = json::array({r.method->service()->name()});
    op["x-rentmesh-visibility"] = "public";
    json params = json::array();
    for (const std::string& v : r.path.VariableFields()) {
      const FieldDescriptor* f = FindFieldPath(*r.method->input_type(), v);
      params.push_back({{"name", v},
                        {"in", "path"},
                        {"required", true},
                        {"schema", f ? builder.Field(*f) : json{{"type", "string"}}}});
    }
    if (r.body != "*") AddQueryParams(*r.method->input_type(), "", r, builder, 0, params);
    params.push_back({{"name", "Grpc-Timeout"},
                      {"in", "header"},
                      {"required", false},
                      {"description", "Deadline, gRPC form: 500m, 2S, 1M"},
                      {"schema", {{"type", "string"}}}});
    op["parameters"] = params;
    if (r.body == "*") {
      op["requestBody"] = {
          {"required", true},
          {"content", {{"application/json", {{"schema", builder.Ref(*r.method->input_type())}}}}}};
    } else if (!r.body.empty()) {
      const FieldDescriptor* f = FindFieldPath(*r.method->input_type(), r.body);
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", builder.Field(*f)}}}}}};
    }
    json ok_schema = builder.Ref(*r.method->output_type());
    if (!r.response_body.empty()) {
      const FieldDescriptor* f = FindFieldPath(*r.method->output_type(), r.response_body);
      if (f != nullptr) ok_schema = builder.Field(*f);
    }
    json responses;
    if (r.server_streaming) {
      responses["200"] = {
          {"description", "A stream of newline-delimited JSON objects, one per message"},
          {"content",
           {{"application/x-ndjson",
             {{"schema",
               {{"type", "object"},
                {"properties", {{"result", ok_schema}, {"error", {{"$ref", kStatusRef}}}}}}}}}}}};
    } else {
      responses[r.creates ? "201" : "200"] = {
          {"description", r.creates ? "Created" : "OK"},
          {"content", {{"application/json", {{"schema", ok_schema}}}}}};
    }
    json error_content = {{"application/json", {{"schema", {{"$ref", kStatusRef}}}}}};
    if (options.bearer_auth) {
      responses["401"] = {{"description", "Missing or invalid bearer token"},
                          {"content", error_content}};
    }
    responses["429"] = {{"description",
                         "Rate limited (per client) or too many open streams; "
                         "retry after the Retry-After header's seconds"},
                        {"content", error_content}};
    responses["default"] = {{"description", "An error (google.rpc.Status)"},
                            {"content", error_content}};
    op["responses"] = responses;
    if (options.bearer_auth) op["security"] = json::array({{{"bearerAuth", json::array()}}});
    paths[r.path.OpenApiPath()][method] = op;
  }
  paths["/healthz"]["get"] = {
      {"operationId", "Healthz"},
      {"summary", "The gateway's and its backends' gRPC health"},
      {"responses",
       {{"200", {{"description", "Every backend is SERVING"}}},
        {"503", {{"description", "A backend is not SERVING or unreachable"}}}}}};
  doc["tags"] = tags;
  doc["paths"] = paths;
  json internal = json::array();
  for (const auto* m : routes.internal_methods()) {
    internal.push_back({{"rpc", m->full_name()},
                        {"visibility", "internal"},
                        {"description",
                         "An internal saga step: gRPC only, for the service that owns it (and "
                         "staff where noted); not served by this gateway (404)."}});
  }
  doc["x-rentmesh-internal"] = internal;
  doc["components"]["schemas"] = schemas;
  if (options.bearer_auth) {
    doc["components"]["securitySchemes"]["bearerAuth"] = {
        {"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}};
  }
  return doc.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace rentmesh::gateway
