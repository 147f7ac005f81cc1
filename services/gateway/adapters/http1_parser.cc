#include "gateway/adapters/http1_parser.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rentmesh::gateway {
namespace {

// RFC 9110 tchar: what a method and a header name are made of.
bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) continue;
    switch (c) {
      case '!':
      case '#':
      case '$':
      case '%':
      case '&':
      case '\'':
      case '*':
      case '+':
      case '-':
      case '.':
      case '^':
      case '_':
      case '`':
      case '|':
      case '~':
        continue;
      default:
        return false;
    }
  }
  return true;
}

// A header value may hold visible characters, spaces, tabs and obs-text;
// never a control character (a bare CR or a NUL smuggles a line end).
bool IsFieldValue(absl::string_view s) {
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

bool IsTarget(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 499:
      return "Client Closed Request";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

}  // namespace

Http1Parser::State Http1Parser::Fail(int status, std::string message) {
  error_status_ = status;
  error_message_ = std::move(message);
  return State::kError;
}

void Http1Parser::Reset() {
  request_ = HttpRequest();
  head_done_ = false;
  keep_alive_ = true;
  wants_continue_ = false;
  chunked_ = false;
  content_length_ = 0;
  body_start_ = 0;
  pos_ = 0;
  chunk_ = Chunk::kSize;
  chunk_left_ = 0;
  consumed_ = 0;
  error_status_ = 0;
  error_message_.clear();
}

Http1Parser::State Http1Parser::ParseHead(absl::string_view head) {
  // head: everything before the blank line, lines split by CRLF.
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  const absl::string_view line = lines.front();
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || !IsToken(parts[0]) || !IsTarget(parts[1])) {
    return Fail(400, "malformed request line");
  }
  const absl::string_view version = parts[2];
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    if (absl::StartsWith(version, "HTTP/")) return Fail(505, "only HTTP/1.1 and 1.0 are served");
    return Fail(400, "malformed request line");
  }
  request_.method = std::string(parts[0]);
  request_.target = std::string(parts[1]);
  const bool http10 = version == "HTTP/1.0";
  keep_alive_ = !http10;
  bool has_length = false;
  bool has_te = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const absl::string_view h = lines[i];
    if (h.empty()) continue;
    if (h.front() == ' ' || h.front() == '\t') return Fail(400, "obsolete header line folding");
    const size_t colon = h.find(':');
    if (colon == absl::string_view::npos || !IsToken(h.substr(0, colon))) {
      return Fail(400, "malformed header line");
    }
    std::string name = absl::AsciiStrToLower(h.substr(0, colon));
    const absl::string_view value = absl::StripAsciiWhitespace(h.substr(colon + 1));
    if (!IsFieldValue(value)) return Fail(400, "control character in a header value");
    if (name == "content-length") {
      uint64_t n = 0;
      if (value.empty() || value.size() > 19 || !absl::SimpleAtoi(value, &n) ||
          !absl::ascii_isdigit(static_cast<unsigned char>(value.front()))) {
        return Fail(400, "malformed Content-Length");
      }
      if (has_length && n != content_length_) return Fail(400, "conflicting Content-Length");
      has_length = true;
      content_length_ = n;
    } else if (name == "transfer-encoding") {
      if (!absl::EqualsIgnoreCase(value, "chunked") || has_te) {
        return Fail(501, "only the chunked transfer coding is supported");
      }
      has_te = true;
    } else if (name == "connection") {
      for (absl::string_view opt : absl::StrSplit(value, ',')) {
        opt = absl::StripAsciiWhitespace(opt);
        if (absl::EqualsIgnoreCase(opt, "close")) keep_alive_ = false;
        if (absl::EqualsIgnoreCase(opt, "keep-alive") && http10) keep_alive_ = true;
      }
    } else if (name == "expect") {
      if (!absl::EqualsIgnoreCase(value, "100-continue")) {
        return Fail(417, "unsupported Expect");
      }
      wants_continue_ = true;
    }
    request_.headers.emplace_back(std::move(name), std::string(value));
  }
  if (has_length && has_te) return Fail(400, "both Content-Length and Transfer-Encoding");
  if (has_te && http10) return Fail(400, "chunked transfer coding in an HTTP/1.0 request");
  chunked_ = has_te;
  if (content_length_ > limits_.max_body_bytes) {
    return Fail(413, absl::StrCat("request body exceeds ", limits_.max_body_bytes, " bytes"));
  }
  if (!chunked_ && content_length_ == 0) wants_continue_ = false;
  return State::kNeedMore;
}

Http1Parser::State Http1Parser::ParseChunked(absl::string_view input) {
  for (;;) {
    switch (chunk_) {
      case Chunk::kSize: {
        const size_t eol = input.find("\r\n", pos_);
        if (eol == absl::string_view::npos) {
          if (input.size() - pos_ > 1024) return Fail(400, "malformed chunk size");
          return State::kNeedMore;
        }
        absl::string_view size = input.substr(pos_, eol - pos_);
        size = size.substr(0, size.find(';'));  // chunk extensions are ignored
        size = absl::StripTrailingAsciiWhitespace(size);
        uint64_t n = 0;
        if (size.empty() || size.size() > 15) return Fail(400, "malformed chunk size");
        for (char c : size) {
          if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
            return Fail(400, "malformed chunk size");
          }
          n = n * 16 + static_cast<uint64_t>(absl::ascii_isdigit(static_cast<unsigned char>(c))
                                                 ? c - '0'
                                                 : absl::ascii_tolower(c) - 'a' + 10);
        }
        if (request_.body.size() + n > limits_.max_body_bytes) {
          return Fail(413, absl::StrCat("request body exceeds ", limits_.max_body_bytes, " bytes"));
        }
        pos_ = eol + 2;
        chunk_left_ = n;
        chunk_ = n == 0 ? Chunk::kTrailers : Chunk::kData;
        break;
      }
      case Chunk::kData: {
        const size_t take = std::min<uint64_t>(chunk_left_, input.size() - pos_);
        request_.body.append(input.data() + pos_, take);
        pos_ += take;
        chunk_left_ -= take;
        if (chunk_left_ > 0) return State::kNeedMore;
        chunk_ = Chunk::kDataEnd;
        break;
      }
      case Chunk::kDataEnd:
        if (input.size() - pos_ < 2) return State::kNeedMore;
        if (input.substr(pos_, 2) != "\r\n") return Fail(400, "malformed chunk");
        pos_ += 2;
        chunk_ = Chunk::kSize;
        break;
      case Chunk::kTrailers: {
        const size_t eol = input.find("\r\n", pos_);
        if (eol == absl::string_view::npos) {
          if (input.size() - pos_ > limits_.max_head_bytes) return Fail(431, "trailers too large");
          return State::kNeedMore;
        }
        const bool last = eol == pos_;
        pos_ = eol + 2;
        if (last) {
          consumed_ = pos_;
          return State::kComplete;
        }
        break;  // a trailer field: ignored
      }
    }
  }
}

Http1Parser::State Http1Parser::Parse(absl::string_view input) {
  if (error_status_ != 0) return State::kError;
  if (!head_done_) {
    // Empty lines before a request line are allowed (RFC 9112 2.2).
    size_t start = 0;
    while (input.size() - start >= 2 && input.substr(start, 2) == "\r\n") start += 2;
    const size_t end = input.find("\r\n\r\n", start);
    if (end == absl::string_view::npos) {
      if (input.size() - start > limits_.max_head_bytes) {
        return Fail(431, absl::StrCat("request head exceeds ", limits_.max_head_bytes, " bytes"));
      }
      return State::kNeedMore;
    }
    if (end - start > limits_.max_head_bytes) {
      return Fail(431, absl::StrCat("request head exceeds ", limits_.max_head_bytes, " bytes"));
    }
    if (State s = ParseHead(input.substr(start, end - start)); s == State::kError) return s;
    head_done_ = true;
    body_start_ = end + 4;
    pos_ = body_start_;
  }
  if (chunked_) return ParseChunked(input);
  if (input.size() - body_start_ < content_length_) return State::kNeedMore;
  request_.body.assign(input.data() + body_start_, content_length_);
  consumed_ = body_start_ + content_length_;
  wants_continue_ = false;
  return State::kComplete;
}

std::string SerializeResponse(const HttpResponse& response, bool keep_alive, bool head_request,
                              bool chunked) {
  std::string out;
  out.reserve(160 + response.body.size());
  absl::StrAppend(&out, "HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status),
                  "\r\nContent-Type: ", response.content_type, "\r\n");
  if (chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else {
    absl::StrAppend(&out, "Content-Length: ", response.body.size(), "\r\n");
  }
  for (const auto& [k, v] : response.headers) absl::StrAppend(&out, k, ": ", v, "\r\n");
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n");
  if (head_request) return out;
  if (chunked) {
    if (!response.body.empty()) out.append(Chunk(response.body));
  } else {
    out.append(response.body);
  }
  return out;
}

std::string Chunk(absl::string_view data) {
  std::string out = absl::StrCat(absl::Hex(data.size()), "\r\n");
  out.append(data.data(), data.size());
  out.append("\r\n");
  return out;
}

}  // namespace rentmesh::gateway
