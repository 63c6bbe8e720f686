"""Domain errors told to people in their language, the same words on a page and in the API.

The domain modules explain their errors in English for logs and the command line; here each
kind of error gets a translated sentence that says what to do.
"""

from __future__ import annotations

from flask_babel import gettext as _

from gatewatch.accounts import users
from gatewatch.accounts.users import MIN_PASSWORD_LENGTH
from gatewatch.crosscheck import watchlist
from gatewatch.events import reviews
from gatewatch.events.reviews import MAX_NOTE_LENGTH
from gatewatch.models.tables import Visit
from gatewatch.visitors import visits
from gatewatch.web.i18n import label, site_time


def plate_hint() -> str:
    """What a typed number plate must look like."""
    return _("Enter a number plate such as B 1234 XYZ.")


def review_error(error: reviews.ReviewError, status: str | None = None) -> str:
    """Why a decision on an event in ``status``, or a correction of its plate, was refused."""
    if isinstance(error, reviews.InvalidPlate):
        return plate_hint()
    if isinstance(error, reviews.NotAVehicle):
        return _("Only a vehicle has a number plate.")
    if isinstance(error, reviews.NoteRequired):
        return _("Write a note saying what you saw or did.")
    if isinstance(error, reviews.VisitNotFound):
        return _("Choose the visit that explains this entry.")
    if isinstance(error, reviews.TransitionRefused):
        return _(
            "This entry is already '%(status)s': someone may have decided before you.",
            status=label("status", status or ""),
        )
    if isinstance(error, reviews.EventNotFound):
        return _("There is no such entry.")
    if isinstance(error, reviews.NoteTooLong):
        return _("A note has at most %(count)d characters.", count=MAX_NOTE_LENGTH)
    return str(error)


def watchlist_error(error: watchlist.WatchlistError) -> str:
    """Why a plate could not be put on, or taken off, the watch list."""
    if isinstance(error, watchlist.AlreadyListed):
        return _("This plate is already on the watch list.")
    if isinstance(error, watchlist.EntryNotFound):
        return _("This plate is not on the watch list (any more).")
    if isinstance(error, watchlist.InvalidReason):
        return _("Give a reason of at most %(count)d characters.", count=watchlist.MAX_REASON_LENGTH)
    if error.field == "plate":
        return plate_hint()
    return str(error)


def visit_error(error: visits.VisitLogError, visit: Visit | None = None) -> str:
    """Why a visit could not be registered or checked out."""
    if isinstance(error, visits.VisitNotFound):
        return _("There is no such visit.")
    if isinstance(error, visits.AlreadyCheckedOut) and visit is not None:
        return _(
            "%(name)s already checked out at %(time)s.",
            name=visit.visitor_name,
            time=site_time(visit.checked_out_at, "%H:%M"),
        )
    if isinstance(error, visits.UnknownCamera):
        return _("There is no such gate.")
    if isinstance(error, visits.InvalidCheckOutTime):
        return _("A check-out time must lie between the check-in and now.")
    return str(error)


def user_error(error: users.UserError) -> str:
    """Why a user or token change was refused."""
    if isinstance(error, users.UsernameTaken):
        return _("This username is taken.")
    if isinstance(error, users.LastAdmin):
        return _("This is the last active administrator: make someone else an administrator first.")
    if isinstance(error, users.UserNotFound):
        return _("There is no such user or token.")
    if isinstance(error, users.TokenRevoked):
        return _("This token is already revoked.")
    messages = {
        "username": _("A username is 2-64 lower-case letters, digits, '.', '_' or '-'."),
        "password": _("A password has at least %(count)d characters.", count=MIN_PASSWORD_LENGTH),
        "role": _("Choose a role."),
        "locale": _("Choose a language."),
        "name": _("Give the token a name (1-100 characters) saying which client uses it."),
    }
    return messages.get(error.field or "", str(error))
