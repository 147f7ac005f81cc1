#include "gateway/core/path_template.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gateway/core/json_guard.h"

namespace rentmesh::gateway {
namespace {

bool IsIdentChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool IsFieldPath(absl::string_view s) {
  if (s.empty()) return false;
  for (absl::string_view part : absl::StrSplit(s, '.')) {
    if (part.empty()) return false;
    for (char c : part) {
      if (!IsIdentChar(c)) return false;
    }
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> PercentDecode(absl::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<PathTemplate> PathTemplate::Parse(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("path template \"", text, "\": ", why));
  };
  if (text.empty() || text[0] != '/') return bad("must start with '/'");
  PathTemplate t;
  t.text_ = std::string(text);
  absl::string_view rest = text.substr(1);
  // The verb is after the last ':' that is outside braces.
  int depth = 0;
  size_t verb_at = absl::string_view::npos;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '{') ++depth;
    if (rest[i] == '}') --depth;
    if (rest[i] == ':' && depth == 0) verb_at = i;
  }
  if (verb_at != absl::string_view::npos) {
    t.verb_ = std::string(rest.substr(verb_at + 1));
    if (t.verb_.empty() || t.verb_.find('/') != std::string::npos) return bad("bad verb");
    rest = rest.substr(0, verb_at);
  }
  // Split into segments, keeping "{...}" variables (which may contain '/') whole.
  size_t i = 0;
  bool saw_multi = false;
  while (i <= rest.size()) {
    if (saw_multi) return bad("'**' must be the last segment");
    if (i < rest.size() && rest[i] == '{') {
      const size_t close = rest.find('}', i);
      if (close == absl::string_view::npos) return bad("unclosed '{'");
      absl::string_view inner = rest.substr(i + 1, close - i - 1);
      absl::string_view field = inner;
      absl::string_view sub = "*";
      if (const size_t eq = inner.find('='); eq != absl::string_view::npos) {
        field = inner.substr(0, eq);
        sub = inner.substr(eq + 1);
      }
      if (!IsFieldPath(field)) return bad("bad variable name");
      if (sub.empty() || sub.find('{') != absl::string_view::npos)
        return bad("bad variable pattern");
      Variable v{std::string(field), t.segments_.size(), 0};
      for (absl::string_view s : absl::StrSplit(sub, '/')) {
        if (saw_multi) return bad("'**' must be the last segment");
        if (s == "*") {
          t.segments_.push_back({Kind::kSingle, ""});
        } else if (s == "**") {
          t.segments_.push_back({Kind::kMulti, ""});
          saw_multi = true;
        } else if (!s.empty() && s.find_first_of("*{}:") == absl::string_view::npos) {
          t.segments_.push_back({Kind::kLiteral, std::string(s)});
        } else {
          return bad("bad segment in variable");
        }
      }
      v.end = t.segments_.size();
      t.variables_.push_back(std::move(v));
      i = close + 1;
    } else {
      size_t slash = rest.find('/', i);
      if (slash == absl::string_view::npos) slash = rest.size();
      absl::string_view s = rest.substr(i, slash - i);
      if (s == "*") {
        t.segments_.push_back({Kind::kSingle, ""});
      } else if (s == "**") {
        t.segments_.push_back({Kind::kMulti, ""});
        saw_multi = true;
      } else if (!s.empty() && s.find_first_of("*{}=") == absl::string_view::npos) {
        t.segments_.push_back({Kind::kLiteral, std::string(s)});
      } else {
        return bad("empty or malformed segment");
      }
      i = slash;
    }
    if (i == rest.size()) break;
    if (rest[i] != '/') return bad("expected '/' after a variable");
    ++i;
  }
  if (t.segments_.empty()) return bad("no segments");
  return t;
}

bool PathTemplate::MatchFrom(const std::vector<absl::string_view>& parts, size_t seg, size_t part,
                             std::vector<std::pair<size_t, size_t>>& spans) const {
  // spans[seg] = the parts [first, second) segment `seg` consumed.
  if (seg == segments_.size()) return part == parts.size();
  if (part >= parts.size()) return false;
  const Segment& s = segments_[seg];
  switch (s.kind) {
    case Kind::kLiteral:
      if (parts[part] != s.literal) return false;
      spans[seg] = {part, part + 1};
      return MatchFrom(parts, seg + 1, part + 1, spans);
    case Kind::kSingle:
      if (parts[part].empty()) return false;
      spans[seg] = {part, part + 1};
      return MatchFrom(parts, seg + 1, part + 1, spans);
    case Kind::kMulti:
      // Last segment by construction: takes the rest (at least one part).
      for (size_t k = part; k < parts.size(); ++k) {
        if (parts[k].empty()) return false;
      }
      spans[seg] = {part, parts.size()};
      return true;
  }
  return false;
}

std::optional<PathTemplate::Bindings> PathTemplate::Match(absl::string_view raw_path) const {
  if (raw_path.empty() || raw_path[0] != '/') return std::nullopt;
  absl::string_view rest = raw_path.substr(1);
  if (!verb_.empty()) {
    if (rest.size() <= verb_.size() + 1) return std::nullopt;
    const absl::string_view tail = rest.substr(rest.size() - verb_.size() - 1);
    if (tail[0] != ':' || tail.substr(1) != verb_) return std::nullopt;
    rest.remove_suffix(verb_.size() + 1);
  } else if (!segments_.empty() && segments_.back().kind != Kind::kLiteral) {
    // A verb the template does not declare is not part of a variable.
    const size_t last_slash = rest.rfind('/');
    const absl::string_view last =
        last_slash == absl::string_view::npos ? rest : rest.substr(last_slash + 1);
    if (last.find(':') != absl::string_view::npos && segments_.back().kind == Kind::kSingle) {
      return std::nullopt;
    }
  }
  std::vector<absl::string_view> parts = absl::StrSplit(rest, '/');
  std::vector<std::pair<size_t, size_t>> spans(segments_.size());
  if (!MatchFrom(parts, 0, 0, spans)) return std::nullopt;
  Bindings bindings;
  bindings.reserve(variables_.size());
  for (const Variable& v : variables_) {
    const size_t first = spans[v.begin].first;
    const size_t last = spans[v.end - 1].second;
    std::string value;
    for (size_t k = first; k < last; ++k) {
      std::optional<std::string> d = PercentDecode(parts[k], /*plus_is_space=*/false);
      if (!d.has_value()) return std::nullopt;
      if (k != first) value.push_back('/');
      value += *d;
    }
    if (!IsValidUtf8(value)) return std::nullopt;
    bindings.emplace_back(v.field_path, std::move(value));
  }
  return bindings;
}

std::vector<std::string> PathTemplate::VariableFields() const {
  std::vector<std::string> out;
  for (const Variable& v : variables_) out.push_back(v.field_path);
  return out;
}

std::string PathTemplate::OpenApiPath() const {
  std::string out;
  size_t var = 0;
  for (size_t s = 0; s < segments_.size();) {
    out += "/";
    if (var < variables_.size() && variables_[var].begin == s) {
      absl::StrAppend(&out, "{", variables_[var].field_path, "}");
      s = variables_[var].end;
      ++var;
      continue;
    }
    const Segment& seg = segments_[s];
    out += seg.kind == Kind::kLiteral ? seg.literal : (seg.kind == Kind::kSingle ? "*" : "**");
    ++s;
  }
  if (!verb_.empty()) absl::StrAppend(&out, ":", verb_);
  return out;
}

int PathTemplate::literal_count() const {
  int n = 0;
  for (const Segment& s : segments_) n += s.kind == Kind::kLiteral;
  return n;
}

bool PathTemplate::EndsWithLiteral() const {
  return !segments_.empty() && segments_.back().kind == Kind::kLiteral;
}

}  // namespace rentmesh::gateway
