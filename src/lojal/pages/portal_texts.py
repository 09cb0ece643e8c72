"""The portal's sentences: lojal's catalogues (``lojal.i18n``) and the portal's own, in
``lojal/pages/locales/<language>/LC_MESSAGES/portal.po``, read with Babel."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

from lojal.i18n import FORMAT_LOCALES, LANGUAGES, Texts
from lojal.program.schemas import ProgramConfig

CATALOGUES = Path(__file__).parent / "locales"


@lru_cache(maxsize=len(LANGUAGES))
def portal_texts(language: str) -> Texts:
    t = Texts(language if language in LANGUAGES else "en")
    path = CATALOGUES / t.language / "LC_MESSAGES" / "portal.po"
    if path.exists():
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=FORMAT_LOCALES[t.language])
        for message in catalogue:
            if message.id and message.string and not message.fuzzy:
                t.messages[message.id] = message.string
    return t


def rules_in_words(portal: Texts, config: ProgramConfig) -> list[str]:
    """How to earn, when points can be used, when they expire, how to redeem: sentences (from
    the portal's own catalogue, portal.po: ``portal``, not ``t``, marks them)."""
    earn = [rule.name for rule in config.rules if rule.name]
    lines = (
        [
            portal(
                "You earn {points} like this: {rules}.",
                points=config.point_name,
                rules="; ".join(earn),
            )
        ]
        if earn
        else []
    )
    if config.pending_days:
        lines.append(portal("New points can be used after {days} days.", days=config.pending_days))
    if config.expiry.months:
        lines.append(
            portal(
                "Points expire {months} months after you earn them.", months=config.expiry.months
            )
        )
    else:
        lines.append(portal("Points do not expire."))
    lines.append(portal("Spend your points on rewards in the app, on the web or in the store."))
    return lines
