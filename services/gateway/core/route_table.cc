#include "gateway/core/route_table.h"

#include <google/protobuf/descriptor_database.h>

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"
#include "rentmesh/common/v1/common.pb.h"

namespace rentmesh::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

absl::Status AddRule(const MethodDescriptor& method, const google::api::HttpRule& rule, int index,
                     std::vector<Route>& out) {
  std::string verb;
  std::string pattern;
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      verb = "GET", pattern = rule.get();
      break;
    case google::api::HttpRule::kPut:
      verb = "PUT", pattern = rule.put();
      break;
    case google::api::HttpRule::kPost:
      verb = "POST", pattern = rule.post();
      break;
    case google::api::HttpRule::kDelete:
      verb = "DELETE", pattern = rule.delete_();
      break;
    case google::api::HttpRule::kPatch:
      verb = "PATCH", pattern = rule.patch();
      break;
    case google::api::HttpRule::kCustom:
      verb = rule.custom().kind(), pattern = rule.custom().path();
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(method.full_name(), ": google.api.http rule without a pattern"));
  }
  absl::StatusOr<PathTemplate> path = PathTemplate::Parse(pattern);
  if (!path.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(method.full_name(), ": ", path.status().message()));
  }
  const Descriptor& input = *method.input_type();
  for (const std::string& field : path->VariableFields()) {
    const FieldDescriptor* f = FindFieldPath(input, field);
    if (f == nullptr || f->is_repeated() || f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return absl::InvalidArgumentError(absl::StrCat(method.full_name(), ": path variable \"",
                                                     field, "\" is not a singular scalar field"));
    }
  }
  if (!rule.body().empty() && rule.body() != "*" && FindFieldPath(input, rule.body()) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(method.full_name(), ": body \"", rule.body(), "\" names no field"));
  }
  if (!rule.response_body().empty() &&
      FindFieldPath(*method.output_type(), rule.response_body()) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(method.full_name(), ": response_body \"",
                                                   rule.response_body(), "\" names no field"));
  }
  Route r;
  r.http_method = verb;
  r.body = rule.body();
  r.response_body = rule.response_body();
  r.method = &method;
  r.grpc_path = absl::StrCat("/", method.service()->full_name(), "/", method.name());
  r.backend = BackendForPackage(method.service()->file()->package());
  r.server_streaming = method.server_streaming();
  r.creates =
      verb == "POST" && rule.body() == "*" && path->verb().empty() && path->EndsWithLiteral();
  r.operation_id = absl::StrCat(method.service()->name(), "_", method.name());
  if (index > 0) absl::StrAppend(&r.operation_id, "_", index + 1);
  r.path = *std::move(path);
  out.push_back(std::move(r));
  return absl::OkStatus();
}

}  // namespace

bool IsInternal(const MethodDescriptor& method) {
  return method.options().GetExtension(rentmesh::common::v1::internal);
}

std::string BackendForPackage(absl::string_view package) {
  std::vector<absl::string_view> parts = absl::StrSplit(package, '.');
  if (parts.size() >= 2 && parts[0] == "rentmesh") return std::string(parts[1]);
  return std::string(parts.empty() ? package : parts[0]);
}

const FieldDescriptor* FindFieldPath(const Descriptor& message, absl::string_view path) {
  const Descriptor* d = &message;
  const FieldDescriptor* f = nullptr;
  for (absl::string_view name : absl::StrSplit(path, '.')) {
    if (d == nullptr) return nullptr;
    f = d->FindFieldByName(std::string(name));
    if (f == nullptr) {
      for (int i = 0; i < d->field_count() && f == nullptr; ++i) {
        if (d->field(i)->json_name() == name) f = d->field(i);
      }
    }
    if (f == nullptr) return nullptr;
    d = (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated()) ? f->message_type()
                                                                                 : nullptr;
  }
  return f;
}

absl::StatusOr<RouteTable> RouteTable::FromServices(
    const std::vector<const ServiceDescriptor*>& services) {
  RouteTable table;
  table.services_ = services;
  for (const ServiceDescriptor* service : services) {
    for (int m = 0; m < service->method_count(); ++m) {
      const MethodDescriptor& method = *service->method(m);
      if (IsInternal(method)) {
        table.internal_methods_.push_back(&method);
        continue;
      }
      if (!method.options().HasExtension(google::api::http)) continue;
      const google::api::HttpRule& rule = method.options().GetExtension(google::api::http);
      if (absl::Status s = AddRule(method, rule, 0, table.routes_); !s.ok()) return s;
      for (int b = 0; b < rule.additional_bindings_size(); ++b) {
        if (absl::Status s = AddRule(method, rule.additional_bindings(b), b + 1, table.routes_);
            !s.ok()) {
          return s;
        }
      }
    }
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (const Route& r : table.routes_) {
    if (!seen.emplace(r.http_method, r.path.OpenApiPath()).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("two rules bind ", r.http_method, " ", r.path.text()));
    }
  }
  // Most specific first: a declared verb, then more literal segments.
  std::stable_sort(table.routes_.begin(), table.routes_.end(), [](const Route& a, const Route& b) {
    if (a.path.verb().empty() != b.path.verb().empty()) return !a.path.verb().empty();
    return a.path.literal_count() > b.path.literal_count();
  });
  return table;
}

absl::StatusOr<RouteTable> RouteTable::FromGeneratedPool(absl::string_view package_prefix) {
  std::vector<std::string> files;
  google::protobuf::DescriptorPool::internal_generated_database()->FindAllFileNames(&files);
  std::sort(files.begin(), files.end());
  std::vector<const ServiceDescriptor*> services;
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& name : files) {
    const google::protobuf::FileDescriptor* file = pool->FindFileByName(name);
    if (file == nullptr || !absl::StartsWith(file->package(), package_prefix)) continue;
    for (int s = 0; s < file->service_count(); ++s) services.push_back(file->service(s));
  }
  if (services.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no service of package \"", package_prefix, "*\" is linked in"));
  }
  return FromServices(services);
}

RouteTable::Lookup RouteTable::Find(absl::string_view http_method,
                                    absl::string_view raw_path) const {
  if (http_method == "HEAD") http_method = "GET";
  Lookup out;
  for (const Route& r : routes_) {
    std::optional<PathTemplate::Bindings> b = r.path.Match(raw_path);
    if (!b.has_value()) continue;
    if (r.http_method == http_method) {
      out.match = RouteMatch{&r, *std::move(b)};
      out.allowed_methods.clear();
      return out;
    }
    if (std::find(out.allowed_methods.begin(), out.allowed_methods.end(), r.http_method) ==
        out.allowed_methods.end()) {
      out.allowed_methods.push_back(r.http_method);
    }
  }
  std::sort(out.allowed_methods.begin(), out.allowed_methods.end());
  return out;
}

std::vector<std::string> RouteTable::Backends() const {
  std::set<std::string> s;
  for (const Route& r : routes_) s.insert(r.backend);
  return {s.begin(), s.end()};
}

}  // namespace rentmesh::gateway
