#include "adapters/proto/return_mapping.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "rentmesh/common/consistency_token.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::returns {
namespace {

using events::FromProtoTime;
using events::ToProtoTime;

common::v1::Money ToProtoMoney(const Money& money) {
  common::v1::Money m;
  m.set_currency(money.currency);
  m.set_amount_minor(money.amount_minor);
  return m;
}

Money FromProtoMoney(const common::v1::Money& money) {
  return {money.currency(), money.amount_minor()};
}

// google.protobuf.Timestamp's documented valid range.
bool IsValidTimestamp(const google::protobuf::Timestamp& t) {
  return t.seconds() >= -62135596800 && t.seconds() <= 253402300799 && t.nanos() >= 0 &&
         t.nanos() <= 999999999;
}

absl::StatusOr<Condition> FromProtoCondition(int condition) {
  switch (condition) {
    case v1::CONDITION_UNSPECIFIED:
    case v1::CONDITION_GOOD:
      return Condition::kGood;
    case v1::CONDITION_DAMAGED:
      return Condition::kDamaged;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown condition ", condition));
  }
}

v1::Condition ToProtoCondition(Condition condition) {
  return condition == Condition::kDamaged ? v1::CONDITION_DAMAGED : v1::CONDITION_GOOD;
}

}  // namespace

absl::StatusOr<ReturnCommand> ToReturnCommand(const v1::ProcessReturnRequest& request) {
  ReturnCommand command;
  command.rental_id = request.rental_id();
  command.book_id = request.book_id();
  command.customer_id = request.customer_id();
  if (!request.has_due_at()) return absl::InvalidArgumentError("due_at is required");
  if (!IsValidTimestamp(request.due_at())) {
    return absl::InvalidArgumentError("due_at is not a valid timestamp (years 1 to 9999)");
  }
  command.due_at = FromProtoTime(request.due_at());
  absl::StatusOr<Condition> condition = FromProtoCondition(request.condition());
  if (!condition.ok()) return condition.status();
  command.condition = *condition;
  command.late_fee_discount_percent = request.late_fee_discount_percent();
  return command;
}

v1::Return ToReturnProto(const RecordedReturn& recorded) {
  const ReturnInspection& r = recorded.inspection;
  v1::Return out;
  out.set_return_id(r.return_id);
  out.set_rental_id(r.rental_id);
  out.set_book_id(r.book_id);
  out.set_customer_id(r.customer_id);
  out.set_condition(ToProtoCondition(r.condition));
  *out.mutable_due_at() = ToProtoTime(r.due_at);
  *out.mutable_returned_at() = ToProtoTime(r.returned_at);
  out.set_days_overdue(r.days_overdue);
  *out.mutable_late_fee() = ToProtoMoney(r.late_fee);
  *out.mutable_damage_fee() = ToProtoMoney(r.damage_fee);
  *out.mutable_total_fee() = ToProtoMoney(r.total_fee);
  *out.mutable_late_fee_base() = ToProtoMoney(r.late_fee_base);
  out.set_late_fee_discount_percent(r.late_fee_discount_percent);
  out.set_version(recorded.version);
  out.set_consistency_token(FormatConsistencyToken(events::kReturnsStream, recorded.sequence));
  return out;
}

absl::StatusOr<RecordedReturn> FromReturnProto(const v1::Return& proto) {
  absl::StatusOr<std::vector<StreamPosition>> token =
      ParseConsistencyToken(proto.consistency_token());
  if (!token.ok()) return token.status();
  if (token->size() != 1 || (*token)[0].stream != events::kReturnsStream) {
    return absl::InvalidArgumentError(
        absl::StrCat("stored return ", proto.return_id(), " has no RETURNS position"));
  }
  absl::StatusOr<Condition> condition = FromProtoCondition(proto.condition());
  if (!condition.ok()) return condition.status();
  RecordedReturn recorded;
  ReturnInspection& r = recorded.inspection;
  r.return_id = proto.return_id();
  r.rental_id = proto.rental_id();
  r.book_id = proto.book_id();
  r.customer_id = proto.customer_id();
  r.condition = *condition;
  r.due_at = FromProtoTime(proto.due_at());
  r.returned_at = FromProtoTime(proto.returned_at());
  r.days_overdue = proto.days_overdue();
  r.late_fee = FromProtoMoney(proto.late_fee());
  r.damage_fee = FromProtoMoney(proto.damage_fee());
  r.total_fee = FromProtoMoney(proto.total_fee());
  // Recorded before tier discounts: the late fee was not discounted.
  r.late_fee_base = proto.has_late_fee_base() ? FromProtoMoney(proto.late_fee_base()) : r.late_fee;
  r.late_fee_discount_percent = proto.late_fee_discount_percent();
  recorded.version = proto.version();
  recorded.sequence = (*token)[0].sequence;
  return recorded;
}

events::v1::ReturnCompleted ToReturnCompleted(const ReturnInspection& r) {
  events::v1::ReturnCompleted e;
  e.set_return_id(r.return_id);
  e.set_rental_id(r.rental_id);
  e.set_book_id(r.book_id);
  e.set_customer_id(r.customer_id);
  *e.mutable_due_at() = ToProtoTime(r.due_at);
  *e.mutable_returned_at() = ToProtoTime(r.returned_at);
  e.set_days_overdue(r.days_overdue);
  *e.mutable_late_fee() = ToProtoMoney(r.late_fee);
  *e.mutable_damage_fee() = ToProtoMoney(r.damage_fee);
  *e.mutable_total_fee() = ToProtoMoney(r.total_fee);
  e.set_condition(std::string(ConditionName(r.condition)));
  *e.mutable_late_fee_base() = ToProtoMoney(r.late_fee_base);
  e.set_late_fee_discount_percent(r.late_fee_discount_percent);
  return e;
}

absl::StatusOr<ReturnInspection> FromReturnCompleted(const events::v1::ReturnCompleted& e) {
  absl::StatusOr<Condition> condition = ParseConditionName(e.condition());
  if (!condition.ok()) return condition.status();
  if (e.return_id().empty() || e.rental_id().empty()) {
    return absl::InvalidArgumentError("ReturnCompleted without return or rental id");
  }
  ReturnInspection r;
  r.return_id = e.return_id();
  r.rental_id = e.rental_id();
  r.book_id = e.book_id();
  r.customer_id = e.customer_id();
  r.condition = *condition;
  r.due_at = FromProtoTime(e.due_at());
  r.returned_at = FromProtoTime(e.returned_at());
  r.days_overdue = e.days_overdue();
  r.late_fee = FromProtoMoney(e.late_fee());
  r.damage_fee = FromProtoMoney(e.damage_fee());
  r.total_fee = FromProtoMoney(e.total_fee());
  r.late_fee_base = e.has_late_fee_base() ? FromProtoMoney(e.late_fee_base()) : r.late_fee;
  r.late_fee_discount_percent = e.late_fee_discount_percent();
  return r;
}

}  // namespace rentmesh::returns
