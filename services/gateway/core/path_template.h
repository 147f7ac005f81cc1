#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rentmesh::gateway {

// A google.api.http path template:
//   Template = "/" Segments [ ":" Verb ]
//   Segment  = "*" | "**" | LITERAL | "{" FieldPath [ "=" Segments ] "}"
// "{x}" is "{x=*}". "**" matches one or more segments and may only be the last
// segment. Matching works on the raw (still percent-encoded) request path.
class PathTemplate final {
 public:
  // A variable's value: the field path ("book_id", "a.b") and the matched
  // segments joined by "/", percent-decoded.
  using Bindings = std::vector<std::pair<std::string, std::string>>;

  // INVALID_ARGUMENT when `text` is not a well-formed template.
  static absl::StatusOr<PathTemplate> Parse(absl::string_view text);
  // The empty template (matches nothing); for default-constructed holders.
  PathTemplate() = default;

  // The bindings when `raw_path` (no query string) matches; nullopt otherwise,
  // also when a segment's percent-encoding is malformed or a bound value is
  // not UTF-8.
  std::optional<Bindings> Match(absl::string_view raw_path) const;

  const std::string& text() const { return text_; }
  const std::string& verb() const { return verb_; }
  // Field paths of the variables, in order.
  std::vector<std::string> VariableFields() const;
  // The template in OpenAPI form: "/v1/books/{book_id}:stock"; "{name=shelves/*}" becomes "{name}".
  std::string OpenApiPath() const;
  int literal_count() const;
  // True when the last segment is a literal (a collection such as "/v1/books").
  bool EndsWithLiteral() const;

 private:
  enum class Kind { kLiteral, kSingle, kMulti };
  struct Segment {
    Kind kind;
    std::string literal;
  };
  struct Variable {
    std::string field_path;
    size_t begin;  // segment index range [begin, end)
    size_t end;
  };

  bool MatchFrom(const std::vector<absl::string_view>& parts, size_t seg, size_t part,
                 std::vector<std::pair<size_t, size_t>>& spans) const;

  std::string text_;
  std::vector<Segment> segments_;
  std::vector<Variable> variables_;
  std::string verb_;
};

// Percent-decodes `in`; nullopt on a malformed escape. `plus_is_space` for
// query strings (application/x-www-form-urlencoded).
std::optional<std::string> PercentDecode(absl::string_view in, bool plus_is_space);

}  // namespace rentmesh::gateway
