#include "core/domain/notification.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rentmesh::notification {
namespace {

std::string Amount(const Notice& n) { return absl::StrFormat("%d %s", n.amount_minor, n.currency); }

std::string Book(const Notice& n) { return n.book_title.empty() ? n.book_id : n.book_title; }

std::string When(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

}  // namespace

absl::string_view KindName(NotificationKind kind) {
  switch (kind) {
    case NotificationKind::kRented:
      return "RENTED";
    case NotificationKind::kReturned:
      return "RETURNED";
    case NotificationKind::kCancelled:
      return "CANCELLED";
    case NotificationKind::kRefunded:
      return "REFUNDED";
    case NotificationKind::kDueSoon:
      return "DUE_SOON";
    case NotificationKind::kOverdue:
      return "OVERDUE";
  }
  return "UNKNOWN";
}

std::string MessageFor(const Notice& n) {
  switch (n.kind) {
    case NotificationKind::kRented: {
      std::string text = absl::StrCat("You rented ", Book(n));
      if (n.due_at != absl::InfinitePast()) {
        absl::StrAppend(&text, "; it is due on ", When(n.due_at));
      }
      if (n.amount_minor > 0) absl::StrAppend(&text, " (paid ", Amount(n), ")");
      return absl::StrCat(text, ".");
    }
    case NotificationKind::kReturned:
      return n.amount_minor > 0 ? absl::StrCat("You returned ", Book(n), "; a late fee of ",
                                               Amount(n), " is charged.")
                                : absl::StrCat("You returned ", Book(n), ". Thank you.");
    case NotificationKind::kCancelled:
      return absl::StrCat("Your rental of ", Book(n), " is cancelled; the fee will be refunded.");
    case NotificationKind::kRefunded:
      return absl::StrCat("Your payment of ", Amount(n), " for rental ", n.rental_id,
                          " was refunded.");
    case NotificationKind::kDueSoon:
      return absl::StrCat("Your rental of ", Book(n), " is due on ", When(n.due_at),
                          ". Please return it on time.");
    case NotificationKind::kOverdue:
      return absl::StrCat("Your rental of ", Book(n), " was due on ", When(n.due_at),
                          " and is overdue; late fees apply until it is returned.");
  }
  return "";
}

std::string NotificationIdFor(absl::string_view event_id, absl::string_view channel) {
  return absl::StrCat("ntf-", channel, "-", event_id);
}

}  // namespace rentmesh::notification
