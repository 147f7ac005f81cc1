#include "gateway/core/transcoder.h"

#include <google/protobuf/util/json_util.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/core/json_guard.h"

namespace rentmesh::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using nlohmann::json;

bool IsBoolLike(const FieldDescriptor& f) {
  if (f.cpp_type() == FieldDescriptor::CPPTYPE_BOOL) return true;
  return f.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         f.message_type()->full_name() == "google.protobuf.BoolValue";
}

// Message types that have a JSON string or number form and so can come from a
// single path or query value.
bool IsScalarLikeMessage(const Descriptor& d) {
  const std::string& n = d.full_name();
  return n == "google.protobuf.Timestamp" || n == "google.protobuf.Duration" ||
         n == "google.protobuf.FieldMask" ||
         (absl::StartsWith(n, "google.protobuf.") && absl::EndsWith(n, "Value") &&
          n != "google.protobuf.Value" && n != "google.protobuf.ListValue");
}

absl::StatusOr<json> ValueJson(const FieldDescriptor& f, const std::string& value,
                               absl::string_view what) {
  if (f.is_map() || (f.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                     !IsScalarLikeMessage(*f.message_type()))) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", f.name(), "\" cannot be set from a single value"));
  }
  if (IsBoolLike(f)) {
    if (value == "true" || value == "1") return json(true);
    if (value == "false" || value == "0") return json(false);
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", f.name(), "\" must be true or false"));
  }
  if (f.cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
    int n;
    if (absl::SimpleAtoi(value, &n)) return json(n);
  }
  return json(value);
}

// Sets `path` (proto or JSON names, dotted) in the JSON object `root` using
// proto field names; repeated fields collect values.
absl::Status SetPath(const Descriptor& message, absl::string_view path, const std::string& value,
                     absl::string_view what, json& root) {
  const Descriptor* d = &message;
  json* node = &root;
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* f = FindFieldPath(*d, parts[i]);
    if (f == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown ", what, " \"", path, "\""));
    }
    const bool last = i + 1 == parts.size();
    if (!last) {
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated() ||
          IsScalarLikeMessage(*f->message_type())) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, " \"", path, "\" is not a path of messages"));
      }
      json& child = (*node)[f->name()];
      if (child.is_null()) child = json::object();
      node = &child;
      d = f->message_type();
      continue;
    }
    absl::StatusOr<json> v = ValueJson(*f, value, what);
    if (!v.ok()) return v.status();
    json& slot = (*node)[f->name()];
    if (f->is_repeated()) {
      if (slot.is_null()) slot = json::array();
      slot.push_back(*std::move(v));
    } else {
      if (!slot.is_null()) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, " \"", path, "\" given more than once"));
      }
      slot = *std::move(v);
    }
  }
  return absl::OkStatus();
}

// Sets the scalar field at `path` of `root` by reflection (the fast path for
// path variables and query parameters). Returns false, changing nothing,
// when the leaf is a message with a JSON string form (Timestamp, Duration,
// wrappers): the caller then goes through the JSON parser.
absl::StatusOr<bool> SetByReflection(Message& root, absl::string_view path,
                                     const std::string& value, absl::string_view what,
                                     std::set<std::string>& seen) {
  Message* msg = &root;
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  std::string canonical;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Descriptor& d = *msg->GetDescriptor();
    const FieldDescriptor* f = FindFieldPath(d, parts[i]);
    if (f == nullptr)
      return absl::InvalidArgumentError(absl::StrCat("unknown ", what, " \"", path, "\""));
    absl::StrAppend(&canonical, i ? "." : "", f->name());
    const bool is_message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (i + 1 < parts.size()) {
      if (!is_message || f->is_repeated() || IsScalarLikeMessage(*f->message_type())) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, " \"", path, "\" is not a path of messages"));
      }
      msg = msg->GetReflection()->MutableMessage(msg, f);
      continue;
    }
    if (f->is_map() || (is_message && !IsScalarLikeMessage(*f->message_type()))) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " \"", path, "\" cannot be set from a single value"));
    }
    if (is_message) return false;
    if (!f->is_repeated() && !seen.insert(canonical).second) {
      return absl::InvalidArgumentError(absl::StrCat(what, " \"", path, "\" given more than once"));
    }
    const google::protobuf::Reflection& r = *msg->GetReflection();
    const bool rep = f->is_repeated();
    auto bad = [&](absl::string_view type) {
      return absl::InvalidArgumentError(absl::StrCat(what, " \"", path, "\" must be ", type));
    };
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string v = value;
        if (f->type() == FieldDescriptor::TYPE_BYTES && !absl::Base64Unescape(value, &v) &&
            !absl::WebSafeBase64Unescape(value, &v)) {
          return bad("base64");
        }
        rep ? r.AddString(msg, f, std::move(v)) : r.SetString(msg, f, std::move(v));
        break;
      }
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t v;
        if (!absl::SimpleAtoi(value, &v)) return bad("a 32-bit integer");
        rep ? r.AddInt32(msg, f, v) : r.SetInt32(msg, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v;
        if (!absl::SimpleAtoi(value, &v)) return bad("a 64-bit integer");
        rep ? r.AddInt64(msg, f, v) : r.SetInt64(msg, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t v;
        if (!absl::SimpleAtoi(value, &v)) return bad("an unsigned 32-bit integer");
        rep ? r.AddUInt32(msg, f, v) : r.SetUInt32(msg, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v;
        if (!absl::SimpleAtoi(value, &v)) return bad("an unsigned 64-bit integer");
        rep ? r.AddUInt64(msg, f, v) : r.SetUInt64(msg, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        double v;
        if (!absl::SimpleAtod(value, &v)) return bad("a number");
        rep ? r.AddDouble(msg, f, v) : r.SetDouble(msg, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_FLOAT: {
        float v;
        if (!absl::SimpleAtof(value, &v)) return bad("a number");
        rep ? r.AddFloat(msg, f, v) : r.SetFloat(msg, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool v;
        if (value == "true" || value == "1") {
          v = true;
        } else if (value == "false" || value == "0") {
          v = false;
        } else {
          return bad("true or false");
        }
        rep ? r.AddBool(msg, f, v) : r.SetBool(msg, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        int v;
        if (const auto* ev = f->enum_type()->FindValueByName(value); ev != nullptr) {
          v = ev->number();
        } else if (!absl::SimpleAtoi(value, &v) ||
                   (f->enum_type()->FindValueByNumber(v) == nullptr &&
                    f->file()->syntax() == google::protobuf::FileDescriptor::SYNTAX_PROTO2)) {
          return bad(absl::StrCat("a ", f->enum_type()->name(), " name or number"));
        }
        rep ? r.AddEnumValue(msg, f, v) : r.SetEnumValue(msg, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return false;
    }
  }
  return true;
}

absl::Status ParseJsonInto(absl::string_view text, Message& msg) {
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto s = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &msg, opts);
  if (!s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON for ", msg.GetDescriptor()->name(),
                                                   ": ", std::string(s.message())));
  }
  return absl::OkStatus();
}

bool IsBlank(absl::string_view s) { return absl::StripAsciiWhitespace(s).empty(); }

// Whether query field `path` lies within body field `body` (so the body sets it).
bool Within(const Descriptor& input, absl::string_view path, absl::string_view body) {
  const FieldDescriptor* b = FindFieldPath(input, body);
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  return b != nullptr && !parts.empty() && FindFieldPath(input, parts[0]) == b;
}

}  // namespace

absl::StatusOr<std::string> Transcoder::EncodeRequest(const RouteMatch& match,
                                                      absl::string_view raw_query,
                                                      absl::string_view body) const {
  const Route& route = *match.route;
  const Descriptor& input = *route.method->input_type();
  const Message* prototype = factory_->GetPrototype(&input);
  if (prototype == nullptr) return absl::InternalError("no message type for " + input.full_name());
  std::unique_ptr<Message> msg(prototype->New());

  if (!IsBlank(body)) {
    if (route.body.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(route.http_method, " ", route.path.text(), " takes no request body"));
    }
    if (absl::Status s = CheckJsonBody(body, options_.max_json_depth); !s.ok()) return s;
    if (route.body == "*") {
      if (absl::Status s = ParseJsonInto(body, *msg); !s.ok()) return s;
    } else {
      // {"a":{"b": <body>}} lets the JSON parser type-check any field kind.
      std::vector<absl::string_view> parts = absl::StrSplit(route.body, '.');
      std::string wrapped;
      for (absl::string_view p : parts) absl::StrAppend(&wrapped, "{\"", p, "\":");
      absl::StrAppend(&wrapped, body, std::string(parts.size(), '}'));
      if (absl::Status s = ParseJsonInto(wrapped, *msg); !s.ok()) return s;
    }
  }

  json query = json::object();
  std::set<std::string> seen;
  for (absl::string_view pair : absl::StrSplit(raw_query, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    std::optional<std::string> key = PercentDecode(pair.substr(0, eq), true);
    std::optional<std::string> value =
        PercentDecode(eq == absl::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value)
      return absl::InvalidArgumentError("malformed percent-encoding in the query");
    if (!IsValidUtf8(*key) || !IsValidUtf8(*value)) {
      return absl::InvalidArgumentError("query parameter is not valid UTF-8");
    }
    if (route.body == "*") {
      return absl::InvalidArgumentError(absl::StrCat(
          "query parameter \"", *key, "\" not allowed: the body carries the whole request"));
    }
    if (!route.body.empty() && Within(input, *key, route.body)) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter \"", *key, "\" is set by the request body"));
    }
    for (const auto& [field, unused] : match.bindings) {
      if (FindFieldPath(input, *key) != nullptr &&
          FindFieldPath(input, *key) == FindFieldPath(input, field)) {
        return absl::InvalidArgumentError(
            absl::StrCat("query parameter \"", *key, "\" is set by the path"));
      }
    }
    absl::StatusOr<bool> set = SetByReflection(*msg, *key, *value, "query parameter", seen);
    if (!set.ok()) return set.status();
    if (!*set) {
      if (absl::Status s = SetPath(input, *key, *value, "query parameter", query); !s.ok())
        return s;
    }
  }
  if (!query.empty()) {
    std::unique_ptr<Message> q(prototype->New());
    if (absl::Status s = ParseJsonInto(query.dump(), *q); !s.ok()) return s;
    msg->MergeFrom(*q);
  }

  if (!match.bindings.empty()) {
    // Path variables are singular scalars (checked when the route was built).
    std::set<std::string> path_seen;
    for (const auto& [field, value] : match.bindings) {
      absl::StatusOr<bool> set = SetByReflection(*msg, field, value, "path variable", path_seen);
      if (!set.ok()) return set.status();
    }
  }

  std::string out;
  if (!msg->SerializeToString(&out)) return absl::InternalError("could not serialize the request");
  return out;
}

absl::StatusOr<std::string> Transcoder::EncodeResponseJson(const Route& route,
                                                           absl::string_view bytes) const {
  const Descriptor& output = *route.method->output_type();
  const Message* prototype = factory_->GetPrototype(&output);
  if (prototype == nullptr) return absl::InternalError("no message type for " + output.full_name());
  std::unique_ptr<Message> msg(prototype->New());
  if (!msg->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InternalError("the backend sent a malformed " + output.full_name());
  }
  google::protobuf::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = options_.emit_unpopulated;
  std::string out;
  auto s = google::protobuf::util::MessageToJsonString(*msg, &out, opts);
  if (!s.ok())
    return absl::InternalError(absl::StrCat("JSON encoding failed: ", std::string(s.message())));
  if (!route.response_body.empty()) {
    const FieldDescriptor* f = FindFieldPath(output, route.response_body);
    json whole = json::parse(out, nullptr, /*allow_exceptions=*/false);
    if (f == nullptr || whole.is_discarded()) return absl::InternalError("response_body not found");
    auto it = whole.find(f->json_name());
    return it == whole.end() ? std::string("null") : it->dump();
  }
  return out;
}

}  // namespace rentmesh::gateway
