"""What an event means for a debtor's consent to be contacted on a channel: the evidence to record (granted or
withdrawn, by which source, on what reference) and each channel's state folded from that evidence."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

What = Literal["granted", "withdrawn"]
Source = Literal["client_file", "debtor_page", "reply", "operator", "unsubscribe"]

# How an opt-out's own source (outreach.opt_outs.source) is recorded as consent evidence. "unsubscribe": the
# debtor's one-click unsubscribe from an e-mail (RFC 8058), their own word like a reply.
OPT_OUT_SOURCES: Mapping[str, Source] = {"reply": "reply", "debtor_page": "debtor_page",
                                         "do_not_contact": "operator", "operator": "operator",
                                         "unsubscribe": "unsubscribe"}


@dataclass(frozen=True)
class ConsentChange:
    """One piece of evidence to record for a channel of an account. `evidence` is a reference (the portfolio of
    the client's file, the attempt a reply answered, the operator's key), never a contact point."""

    channel: str
    what: What
    source: Source
    evidence: uuid.UUID
    text_version: str | None = None  # the name and version of the text accepted, when there is one


@dataclass(frozen=True)
class ChannelConsent:
    """A channel's state: granted or withdrawn, since when, by which source."""

    what: What
    source: Source
    since: dt.datetime


def stated_by_client_file(authorised: Sequence[str], current: Mapping[str, ChannelConsent], *,
                          portfolio_id: uuid.UUID, debtor_withdrew: Mapping[str, ConsentChange] | None = None
                          ) -> list[ConsentChange]:
    """A placement or restatement: the client's file authorises its channels. A grant for each authorised channel
    with no state yet, or whose only withdrawal was the client's own file; a withdrawal for a channel the client's
    file had granted and no longer lists. A debtor's or an operator's withdrawal stands: a later file does not
    bring the channel back. `debtor_withdrew`: the debtor's own or an operator's withdrawals on the debtor's
    accounts at the client company, by channel; they hold for this account too, so each is recorded for it
    (with its original source and reference) instead of a grant."""
    carried = [w for channel, w in (debtor_withdrew or {}).items() if not _stands(current.get(channel))]
    held = {w.channel for w in carried} | {c for c, state in current.items() if _stands(state)}
    changes = [ConsentChange(channel, "granted", "client_file", portfolio_id)
               for channel in dict.fromkeys(authorised)
               if channel not in held and (channel not in current or current[channel].what == "withdrawn")]
    changes += [ConsentChange(channel, "withdrawn", "client_file", portfolio_id)
                for channel, state in current.items()
                if channel not in authorised and channel not in held and state.what == "granted"
                and state.source == "client_file"]
    return carried + changes


def _stands(state: ChannelConsent | None) -> bool:
    """A withdrawal by the debtor or an operator: nothing the client's file says changes it."""
    return state is not None and state.what == "withdrawn" and state.source != "client_file"


def withdrawn(channels: Iterable[str], current: Mapping[str, ChannelConsent], *, opt_out_source: str,
              evidence: uuid.UUID) -> list[ConsentChange]:
    """An opt-out (a debtor's STOP reply, an operator's do-not-contact): a withdrawal of each channel, unless the
    debtor or an operator has already withdrawn it (the earlier evidence stands). A withdrawal by the client's
    own file is superseded, so a later file cannot grant the channel again."""
    source = opt_out_source_of(opt_out_source)
    return [ConsentChange(channel, "withdrawn", source, evidence) for channel in dict.fromkeys(channels)
            if not _stands(current.get(channel))]


def opt_out_source_of(opt_out_source: str) -> Source:
    """The consent source of an opt-out; anything else than a debtor's own word was an operator's act."""
    return OPT_OUT_SOURCES.get(opt_out_source, "operator")


def after(current: Mapping[str, ChannelConsent], changes: Iterable[ConsentChange], at: dt.datetime
          ) -> dict[str, ChannelConsent]:
    """The channels' states once these changes are recorded at `at`."""
    states = dict(current)
    for change in changes:
        states[change.channel] = ChannelConsent(change.what, change.source, at)
    return states


def states_of(evidence: Iterable[tuple[ConsentChange, dt.datetime]]) -> dict[str, ChannelConsent]:
    """Each channel's state folded from its evidence in the order it was recorded."""
    states: dict[str, ChannelConsent] = {}
    for change, at in evidence:
        states = after(states, [change], at)
    return states


def not_withdrawn(channels: Sequence[str], *, opted_out: Iterable[str], do_not_contact: bool) -> list[str]:
    """The channels a new plan may use: not one the debtor opted out of, none at all for a debtor on the
    do-not-contact list. The send-time check (contact_law) refuses them too; planning leaves them out so that no
    attempt is scheduled that could never go and the trail says why."""
    if do_not_contact:
        return []
    gone = set(opted_out)
    return [c for c in channels if c not in gone]
