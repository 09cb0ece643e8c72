from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from lojal.inputs import MAX_ID
from lojal.messaging import engagement, service, tracking, unsubscribe
from lojal.messaging.models import InboxItem
from lojal.web.deps import (
    API_PREFIX,
    Admin,
    MemberIdPath,
    SessionDep,
    ShopOrMember,
    ShopOrMemberWrite,
)
from lojal.web.writer import Job, Reply

router = APIRouter(prefix=API_PREFIX, tags=["messaging"])
# For people and mail clients, not API callers: no key, the signed token is the authority.
public = APIRouter(tags=["messaging"])
Token = Annotated[str, Path(max_length=200, description="The signed unsubscribe token")]
TrackingToken = Annotated[str, Path(max_length=3000, description="The signed tracking token")]
# a transparent 1×1 GIF
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


class Unsubscribed(BaseModel):
    member_id: int
    channel: str
    unsubscribed: bool = True


class MessageRead(BaseModel):
    id: int
    member_id: int
    channel: str
    purpose: str
    batch: str | None
    status: str
    error: str | None
    created_at: datetime
    sent_at: datetime | None


class BatchRead(BaseModel):
    batch: str
    total: int
    queued: int
    sent: int
    suppressed: int
    failed: int
    complete: bool


class InboxItemRead(BaseModel):
    id: int
    title: str | None
    body: str
    data: dict[str, Any]
    created_at: datetime
    read: bool
    archived: bool


class InboxRead(BaseModel):
    member_id: int
    unread: int
    items: list[InboxItemRead]


class InboxMark(BaseModel):
    model_config = ConfigDict(extra="forbid")
    read: bool | None = None
    archived: bool | None = None


def _item(item: InboxItem) -> InboxItemRead:
    return InboxItemRead(
        id=item.id,
        title=item.title,
        body=item.body,
        data=item.data,
        created_at=item.created_at,
        read=item.read_at is not None,
        archived=item.archived_at is not None,
    )


# Not in the OpenAPI document: for mail clients and people, without an API key.
@public.post("/unsubscribe/{token}", response_model=Unsubscribed, include_in_schema=False)
async def one_click(token: Token, request: Request) -> Response:
    """RFC 8058 one-click unsubscribe: the mail client POSTs ``List-Unsubscribe=One-Click``;
    the consent the token names is withdrawn in this request."""
    settings = request.app.state.settings
    secret = unsubscribe.secret_of(settings.messaging.unsubscribe_secret, settings.api_key_pepper)
    unsubscribe.read(secret, token)  # a forged token is refused before the writer

    def work(session: Session, now: datetime) -> Reply:
        member_id, channel = unsubscribe.unsubscribe(session, secret=secret, value=token, now=now)
        return Reply.of(Unsubscribed(member_id=member_id, channel=channel), 200)

    reply = await request.app.state.writer.submit(Job(work=work, claim=None))
    return Response(reply.body, reply.status, media_type="application/json")


@public.get("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(token: Token) -> HTMLResponse:
    """The link in the message's text: a page whose button unsubscribes (a GET changes
    nothing, so that link scanners do not unsubscribe anyone)."""
    action = escape(f"/unsubscribe/{token}")
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Unsubscribe</title>"
        f'<form method=post action="{action}"><button>Unsubscribe</button></form>'
    )


class Engaged(BaseModel):
    recorded: bool


def _tracker(request: Request) -> tracking.Tracker:
    settings = request.app.state.settings
    secret = tracking.secret_of(settings.messaging.tracking_secret, settings.api_key_pepper)
    return tracking.Tracker(secret, settings.messaging.public_url)


async def _record(request: Request, message_id: int, kind: str, url: str | None) -> None:
    def work(session: Session, now: datetime) -> Reply:
        done = engagement.message_event(
            session, message_id=message_id, type_=kind, now=now, url=url
        )
        return Reply.of(Engaged(recorded=done), 200)

    await request.app.state.writer.submit(Job(work=work, claim=None))


# Not in the OpenAPI document: for mail clients, without an API key (the signed token is the
# authority); rate-limited per address as the API is (lojal.web.limits).
@public.get("/track/open/{token}", include_in_schema=False)
async def opened(token: TrackingToken, request: Request) -> Response:
    """The open pixel of a tracked email: records ``email_opened`` naming the message and
    answers a transparent 1×1 GIF. A token lojal did not make is a 404."""
    message_id = _tracker(request).read_open(token)
    await _record(request, message_id, engagement.OPENED, None)
    return Response(PIXEL, 200, media_type="image/gif", headers=NO_STORE)


@public.get("/track/click/{token}", include_in_schema=False)
async def clicked(token: TrackingToken, request: Request) -> Response:
    """A tracked link: records ``email_clicked`` naming the message and the link, and sends
    the reader on to the link (302). Only links lojal signed, and only http(s) ones, are
    followed; anything else is a 404, so this is no open redirect."""
    message_id, url = _tracker(request).read_click(token)
    await _record(request, message_id, engagement.CLICKED, url)
    return RedirectResponse(url, 302, headers=NO_STORE)


@router.get("/messages/{message_id}", response_model=MessageRead)
def get_message(
    message_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep, _: Admin
) -> MessageRead:
    m = service.get(session, message_id)
    return MessageRead(
        id=m.id,
        member_id=m.member_id,
        channel=m.channel,
        purpose=m.purpose,
        batch=m.batch,
        status=m.status,
        error=m.error,
        created_at=m.created_at,
        sent_at=m.sent_at,
    )


@router.get("/message-batches/{batch}", response_model=BatchRead)
def get_batch(
    batch: Annotated[str, Path(max_length=100)], session: SessionDep, _: Admin
) -> BatchRead:
    """A send's figures; ``complete`` only when no recipient is still queued."""
    s = service.batch_status(session, batch)
    return BatchRead(
        batch=s.batch,
        total=s.total,
        queued=s.queued,
        sent=s.sent,
        suppressed=s.suppressed,
        failed=s.failed,
        complete=s.complete,
    )


@router.get("/members/{member_id}/inbox", response_model=InboxRead)
def member_inbox(
    member_id: MemberIdPath, session: SessionDep, _: ShopOrMember, archived: bool = False
) -> InboxRead:
    """The member's in-app inbox, newest first (``archived=true``: the archive)."""
    items = service.inbox(session, member_id=member_id, archived=archived)
    return InboxRead(
        member_id=member_id,
        unread=service.unread_count(session, member_id=member_id),
        items=[_item(i) for i in items],
    )


@router.patch("/members/{member_id}/inbox/{item_id}", response_model=InboxItemRead)
async def mark(
    member_id: MemberIdPath,
    item_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: InboxMark,
    write: ShopOrMemberWrite,
) -> Response:
    """Mark an item read or unread, archive it or take it back out."""

    def work(session: Session, now: datetime) -> Reply:
        item = service.mark(
            session,
            member_id=member_id,
            item_id=item_id,
            now=now,
            read=body.read,
            archived=body.archived,
        )
        return Reply.of(_item(item), 200)

    return await write(work)
