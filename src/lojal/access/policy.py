"""The rules a till key's activity follows, for what a request names in its body (what its path
names is checked with the key, ``lojal.web.deps``):

* a purchase, a return and a coupon step are of the till's own store: a body that names another
  store is refused (403 ``OtherStore``), one that names none is the till's store;
* a body that names a member by id names the member of the till's handle (403
  ``HandleRequired`` otherwise); an identity shown at the till (card, email, phone) is always
  fine — that is how the till found them.

Other kinds pass through: an integration key is the web shop's server, trusted with every store.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from lojal.access.errors import HandleRequired, OtherStore
from lojal.staff.service import Principal

Body = TypeVar("Body", bound=BaseModel)


def at_till(principal: Principal, body: Body) -> Body:
    """``body`` as the till may send it: its store filled in; refused if it names another
    store or another member than the handle's."""
    if principal.kind != "till":
        return body
    member_id = getattr(body, "member_id", None)
    if member_id is not None and member_id != principal.member_id:
        raise HandleRequired(
            "a till names a member by id only with the Lojal-Member-Handle of its lookup "
            "(or give the card, email or phone shown at the till)",
            field="member_id",
        )
    if "store_id" not in type(body).model_fields:
        return body
    store_id = getattr(body, "store_id", None)
    if store_id is not None and store_id != principal.store_id:
        raise OtherStore(
            f"this till key records activity of store {principal.store_id!r} only",
            field="store_id",
        )
    return body.model_copy(update={"store_id": principal.store_id})


def store_of(principal: Principal) -> str | None:
    """The one store whose orders a till may return (None: any store)."""
    return principal.store_id if principal.kind == "till" else None
