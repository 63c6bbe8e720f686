"""A person's own preferences that are not part of their account's access: the alert sound.

Audited like any change to a user (``user.updated``, with the value before and after), so the
trail tells who turned the sound off at a gate post, and when.
"""

from __future__ import annotations

from sqlmodel import Session

from gatewatch.accounts.users import get_user
from gatewatch.audit import trail
from gatewatch.models.tables import User


def set_alert_sound(session: Session, user_id: int, on: bool, *, actor: str, actor_role: str) -> User:
    """Turn the sound of the user's browser alerts on or off; nothing is recorded when it is already so."""
    user = get_user(session, user_id)
    if user.alert_sound == on:
        return user
    before = {"alert_sound": user.alert_sound}
    user.alert_sound = on
    session.flush()
    trail.record(
        session,
        actor=actor,
        role=actor_role,
        action="user.updated",
        entity="user",
        entity_id=user.id if user.id is not None else user_id,
        before=before,
        after={"alert_sound": on},
    )
    return user
