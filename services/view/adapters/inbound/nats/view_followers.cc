#include "adapters/inbound/nats/view_followers.h"

#include "absl/strings/str_cat.h"
#include "adapters/inbound/nats/event_translator.h"
#include "rentmesh/common/log.h"

namespace rentmesh::view {

std::vector<FollowedStream> DefaultFollowedStreams() {
  return {{"RENTAL", "rental.>"},
          {"PAYMENT", "payment.>"},
          {"RETURNS", "returns.>"},
          {"DELIVERY", "delivery.>"}};
}

nats::StreamFollower::BatchHandler ProjectionHandler(ViewService& service, std::string stream) {
  // The follower calls its handler from one thread at a time, so one scratch
  // envelope per stream is enough.
  auto scratch = std::make_shared<events::v1::Envelope>();
  return [&service, stream = std::move(stream),
          scratch](const std::vector<nats::StreamMessage>& batch) {
    std::vector<ViewEvent> events;
    events.reserve(batch.size());
    for (const nats::StreamMessage& m : batch) {
      absl::StatusOr<ViewEvent> e = TranslateMessage(m, stream, *scratch);
      if (!e.ok()) {
        LogWarn("event set aside: not one of our events",
                {{"stream", stream},
                 {"subject", m.subject},
                 {"sequence", absl::StrCat(m.sequence)},
                 {"error", e.status().message()}});
        service.NoteIgnored(stream, m.Header(nats::kEventTypeHeader),
                            absl::IsPermissionDenied(e.status()) ? "foreign_producer"
                                                                 : "not_an_event");
        continue;
      }
      if (e->kind == EventKind::kUnknown && stream == "RENTAL") {
        service.NoteIgnored(stream, e->event_type, "unknown_type");
      }
      events.push_back(std::move(*e));
    }
    return service.ApplyBatch(stream, events, batch.empty() ? 0 : batch.back().sequence);
  };
}

absl::StatusOr<std::unique_ptr<ViewFollowers>> ViewFollowers::Start(
    nats::JetStream& js, ViewService& service, const std::vector<FollowedStream>& streams,
    int replicas) {
  std::unique_ptr<ViewFollowers> out(new ViewFollowers(js));
  for (const FollowedStream& s : streams) {
    nats::StreamSpec spec;
    spec.name = s.name;
    spec.subjects = {s.subjects};
    spec.replicas = replicas;
    if (absl::Status st = js.EnsureStream(spec); !st.ok()) return st;
    nats::StreamFollower::Options opts;
    opts.stream = s.name;
    opts.subject = s.subjects;
    opts.applied = service.positions().Applied(s.name);
    opts.all_headers = false;  // the projection reads only the body
    absl::StatusOr<std::unique_ptr<nats::StreamFollower>> f =
        nats::StreamFollower::Start(js, opts, ProjectionHandler(service, s.name));
    if (!f.ok()) return f.status();
    out->names_.push_back(s.name);
    out->followers_.push_back(std::move(*f));
  }
  return out;
}

ViewFollowers::~ViewFollowers() {
  while (!followers_.empty()) followers_.pop_back();
}

absl::Status ViewFollowers::CatchUp(absl::Time deadline) const {
  for (const auto& f : followers_) {
    if (absl::Status s = f->CatchUp(deadline); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StreamSequence>> ViewFollowers::Heads() const {
  std::vector<StreamSequence> out;
  for (const std::string& name : names_) {
    absl::StatusOr<uint64_t> last = js_.LastSequence(name);
    if (!last.ok()) return last.status();
    out.push_back({name, *last});
  }
  return out;
}

}  // namespace rentmesh::view
