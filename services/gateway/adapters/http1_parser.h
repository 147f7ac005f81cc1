#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "gateway/core/gateway_handler.h"

namespace rentmesh::gateway {

// An HTTP/1.1 (and 1.0) request parser for one connection, incremental: the
// connection appends what it reads to its input buffer and calls Parse on
// the unconsumed bytes until a request is complete. Bodies come with
// Content-Length or chunked transfer coding; anything it cannot frame safely
// (both framings, a bad length, obsolete line folding, a bad chunk) is an
// error with the status to answer, after which the connection must close.
class Http1Parser {
 public:
  struct Limits {
    // Request line plus headers, with their line ends.
    size_t max_head_bytes = 16 << 10;
    size_t max_body_bytes = 1 << 20;
  };
  enum class State { kNeedMore, kComplete, kError };

  explicit Http1Parser(Limits limits) : limits_(limits) {}

  // Looks at `input` (everything received and not yet consumed, the same
  // bytes plus more on each call). kComplete: request() is whole and the
  // first consumed() bytes of `input` were it; call Reset() before parsing
  // the next one. kError: error_status() (400, 413, 417, 431, 501, 505) and
  // error_message().
  State Parse(absl::string_view input);
  void Reset();

  HttpRequest& request() { return request_; }
  size_t consumed() const { return consumed_; }
  // HTTP/1.1 without "Connection: close", or 1.0 with "Connection: keep-alive".
  bool keep_alive() const { return keep_alive_; }
  // The head is parsed, the body not yet complete, and the client sent
  // "Expect: 100-continue": answer "100 Continue" once (then clear it).
  bool wants_continue() const { return wants_continue_; }
  void clear_wants_continue() { wants_continue_ = false; }
  bool head_parsed() const { return head_done_; }
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

 private:
  State Fail(int status, std::string message);
  State ParseHead(absl::string_view head);
  State ParseChunked(absl::string_view input);

  const Limits limits_;
  HttpRequest request_;
  bool head_done_ = false;
  bool keep_alive_ = true;
  bool wants_continue_ = false;
  bool chunked_ = false;
  uint64_t content_length_ = 0;
  // Where the body starts in the input, and (chunked) how far it was read.
  size_t body_start_ = 0;
  size_t pos_ = 0;
  enum class Chunk { kSize, kData, kDataEnd, kTrailers } chunk_ = Chunk::kSize;
  uint64_t chunk_left_ = 0;
  size_t consumed_ = 0;
  int error_status_ = 0;
  std::string error_message_;
};

// The response bytes: status line, Content-Type, Content-Length (or
// Transfer-Encoding: chunked when `chunked`), the response's headers,
// Connection: close unless `keep_alive`, and the body (none for HEAD, whose
// Content-Length is still the body's).
std::string SerializeResponse(const HttpResponse& response, bool keep_alive, bool head_request,
                              bool chunked);
// One chunk of a chunked body ("" makes the last chunk).
std::string Chunk(absl::string_view data);

}  // namespace rentmesh::gateway
