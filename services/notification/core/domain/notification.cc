#include "core/domain/notification.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rentmesh::notification {
namespace {

std::string Amount(const Notice& n) { return absl::StrFormat("%d %s", n.amount_minor, n.currency); }

std::string Book(const Notice& n) { return n.book_title.empty() ? n.book_id : n.book_title; }

// "Courier Kim" ("courier Kim" within a sentence): the name when known, else
// the id; "Your courier" when neither is.
std::string Courier(const Notice& n, bool capital) {
  const std::string& who = n.courier_name.empty() ? n.courier_id : n.courier_name;
  if (who.empty()) return capital ? "Your courier" : "your courier";
  return absl::StrCat(capital ? "Courier " : "courier ", who);
}

// " (reason)" when a reason was given.
std::string Because(const Notice& n) {
  return n.reason.empty() ? "" : absl::StrCat(" (", n.reason, ")");
}

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
    case NotificationKind::kDeliveryAssigned:
      return "DELIVERY_ASSIGNED";
    case NotificationKind::kDeliveryPickedUp:
      return "DELIVERY_PICKED_UP";
    case NotificationKind::kDelivered:
      return "DELIVERED";
    case NotificationKind::kDeliveryCancelled:
      return "DELIVERY_CANCELLED";
    case NotificationKind::kReturnPickupRequested:
      return "RETURN_PICKUP_REQUESTED";
    case NotificationKind::kReturnPickupAssigned:
      return "RETURN_PICKUP_ASSIGNED";
    case NotificationKind::kReturnPickedUp:
      return "RETURN_PICKED_UP";
    case NotificationKind::kReturnDelivered:
      return "RETURN_DELIVERED";
    case NotificationKind::kReturnPickupCancelled:
      return "RETURN_PICKUP_CANCELLED";
  }
  return "UNKNOWN";
}

bool IsDeliveryStep(NotificationKind kind) {
  switch (kind) {
    case NotificationKind::kRented:
    case NotificationKind::kReturned:
    case NotificationKind::kCancelled:
    case NotificationKind::kRefunded:
    case NotificationKind::kDueSoon:
    case NotificationKind::kOverdue:
      return false;
    case NotificationKind::kDeliveryAssigned:
    case NotificationKind::kDeliveryPickedUp:
    case NotificationKind::kDelivered:
    case NotificationKind::kDeliveryCancelled:
    case NotificationKind::kReturnPickupRequested:
    case NotificationKind::kReturnPickupAssigned:
    case NotificationKind::kReturnPickedUp:
    case NotificationKind::kReturnDelivered:
    case NotificationKind::kReturnPickupCancelled:
      return true;
  }
  return false;
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
    case NotificationKind::kDeliveryAssigned:
      return absl::StrCat(Courier(n, true), " will deliver ", Book(n), " to you.");
    case NotificationKind::kDeliveryPickedUp:
      return absl::StrCat(Courier(n, true), " picked up ", Book(n), " and is on the way to you.");
    case NotificationKind::kDelivered:
      return absl::StrCat(Book(n), " was delivered to you by ", Courier(n, false),
                          ". Enjoy reading!");
    case NotificationKind::kDeliveryCancelled:
      return absl::StrCat("The delivery of ", Book(n), " is cancelled", Because(n), ".");
    case NotificationKind::kReturnPickupRequested:
      return absl::StrCat("Your return pickup of ", Book(n),
                          " is requested; we will tell you which courier comes for it.");
    case NotificationKind::kReturnPickupAssigned:
      return absl::StrCat(Courier(n, true), " will pick up ", Book(n), " from you for its return.");
    case NotificationKind::kReturnPickedUp:
      return absl::StrCat(Courier(n, true), " picked up ", Book(n),
                          " from you and is bringing it back to the library.");
    case NotificationKind::kReturnDelivered:
      return absl::StrCat(Book(n), " is back at the library, brought by ", Courier(n, false),
                          ". Thank you.");
    case NotificationKind::kReturnPickupCancelled:
      return absl::StrCat("The return pickup of ", Book(n), " is cancelled", Because(n), ".");
  }
  return "";
}

std::string NotificationIdFor(absl::string_view event_id, absl::string_view channel) {
  return absl::StrCat("ntf-", channel, "-", event_id);
}

}  // namespace rentmesh::notification
