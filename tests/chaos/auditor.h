#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "load_driver.h"

namespace rentmesh::chaos {

// What the auditor reads after a scenario: the streams (the truth), every
// rental and book on every rental replica, the view, and what the clients
// were answered.
struct AuditInput {
  std::string nats_urls;
  // Empty: that part of the audit is skipped (the auditor's own test).
  std::vector<std::string> rental_addresses;
  std::string view_address;
  std::vector<OpRecord> records;
  // How long the system may take to converge once the faults stopped (the
  // reconciler, the reactions, the view): the audit is repeated until it
  // finds nothing or this runs out, and reports its last pass.
  absl::Duration settle = absl::Seconds(45);
};

// The names of the violations, in the order the table prints them.
const std::vector<std::string>& ViolationNames();

struct AuditReport {
  // Every name of ViolationNames(), 0 when clean.
  std::map<std::string, int> violations;
  // Up to a few examples per violation, with rental ids, request ids and
  // stream sequences: the evidence.
  std::map<std::string, std::vector<std::string>> examples;
  // Events in RENTAL that do not apply to the state they meet (a second
  // cancel, a reservation beyond the copies, ...): informational. The truth
  // ignores them; a replica, the view or payment that acted on one is
  // counted as a violation above.
  std::map<std::string, int> inapplicable;
  std::vector<std::string> inapplicable_examples;
  // Events in PAYMENT that do not apply to their payment (a second charge, a
  // reversal of nothing or of another amount, a tombstone after a charge):
  // informational, the same way.
  int inapplicable_payment_events = 0;
  // Books whose every-event fold (what today's replicas compute) went above
  // the copies at some point: informational, the stream's own record.
  int books_over_copies_in_raw_fold = 0;
  int rental_events = 0, payment_events = 0, returns_events = 0;
  // Sequences of RENTAL/PAYMENT/RETURNS (up to each stream's last sequence)
  // that could be read neither by a consumer nor by a direct get.
  int unreadable_sequences = 0;
  // Messages in the DEADLETTER stream (0 when it does not exist).
  uint64_t dead_letters = 0;
  int rentals = 0;
  // Seconds from the start of the audit until the view matched the streams
  // (-1: never within AuditInput::settle).
  double view_match_seconds = -1;
  // Seconds from the start of the audit until a pass found nothing (-1: never
  // within AuditInput::settle).
  double clean_after_seconds = -1;
  int total() const;
};

absl::StatusOr<AuditReport> Audit(const AuditInput& input);

}  // namespace rentmesh::chaos
