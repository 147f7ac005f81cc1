#include "rentmesh/telemetry/dead_letter_admin.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rentmesh::telemetry {
namespace {

std::string Json(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

AdminServer::Reply ErrorReply(const absl::Status& s) {
  return {HttpStatusOf(s), absl::StrCat("{\"error\":", Json(absl::StatusCodeToString(s.code())),
                                        ",\"message\":", Json(s.message()), "}\n")};
}

}  // namespace

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      return 503;
    default:
      return 500;
  }
}

std::vector<AdminServer::Route> DeadLetterAdmin::Routes() {
  return {
      {"GET", "/admin/deadletters",
       [this](const std::map<std::string, std::string>&) { return List(); }},
      {"POST", "/admin/deadletters/replay",
       [this](const std::map<std::string, std::string>& params) {
         auto it = params.find("seq");
         return Replay(it == params.end() ? "" : it->second);
       }},
  };
}

void DeadLetterAdmin::Attach(nats::DurableConsumer& consumer) {
  absl::MutexLock lock(&mu_);
  consumers_.push_back(&consumer);
}

void DeadLetterAdmin::DetachAll() {
  absl::MutexLock lock(&mu_);
  consumers_.clear();
}

AdminServer::Reply DeadLetterAdmin::List() {
  absl::MutexLock lock(&mu_);
  if (consumers_.empty()) return ErrorReply(absl::UnavailableError("no consumer is running"));
  std::string body = "{\"dead_letters\":[";
  bool first = true;
  for (nats::DurableConsumer* c : consumers_) {
    absl::StatusOr<std::vector<nats::DeadLetter>> letters = c->DeadLetters();
    if (!letters.ok()) return ErrorReply(letters.status());
    for (const nats::DeadLetter& d : *letters) {
      absl::StrAppend(&body, first ? "" : ",", "\n{\"seq\":", d.sequence,
                      ",\"consumer\":", Json(d.consumer), ",\"stream\":", Json(d.stream),
                      ",\"stream_seq\":", d.original_sequence, ",\"subject\":", Json(d.subject),
                      ",\"deliveries\":", d.deliveries, ",\"error\":", Json(d.error),
                      ",\"at_unix_ns\":", d.timestamp_ns, "}");
      first = false;
    }
  }
  absl::StrAppend(&body, "]}\n");
  return {200, body};
}

AdminServer::Reply DeadLetterAdmin::Replay(const std::string& seq_text) {
  uint64_t seq = 0;
  if (!absl::SimpleAtoi(seq_text, &seq) || seq == 0) {
    return ErrorReply(absl::InvalidArgumentError(absl::StrCat(
        "seq must be a dead letter's sequence (a positive integer), got \"", seq_text, "\"")));
  }
  absl::MutexLock lock(&mu_);
  if (consumers_.empty()) return ErrorReply(absl::UnavailableError("no consumer is running"));
  absl::Status last = absl::NotFoundError(absl::StrCat("no dead letter ", seq));
  for (nats::DurableConsumer* c : consumers_) {
    last = c->Replay(seq);
    // INVALID_ARGUMENT: it belongs to another consumer; try the next one.
    if (!absl::IsInvalidArgument(last)) break;
  }
  if (!last.ok()) return ErrorReply(last);
  return {200, absl::StrCat("{\"replayed\":", seq, "}\n")};
}

}  // namespace rentmesh::telemetry
