"""The agent desk's queries: the due agent calls of a client company by expected net recovery, the decision
taken on each, and the contacts agents make or log."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.debtors import DebtorContext
from outreach.store import DEBTOR_JOINS, HELD_DEBTOR_COLUMNS
from recaudo_common.db import sql


@dataclass(frozen=True)
class AgentCall:
    """A due agent attempt and its debtor."""

    attempt_id: uuid.UUID
    debtor: DebtorContext


async def agent_candidates(s: AsyncSession, client: str, now: dt.datetime, limit: int) -> list[AgentCall]:
    """Due agent attempts of a client, highest expected net recovery first, locked for this agent."""
    result = await s.execute(sql(
        f"""WITH due AS (
                SELECT a.id FROM outreach.attempts a
                LEFT JOIN outreach.treatments t ON t.client_slug = a.client_slug AND t.account_ref = a.account_ref
                WHERE a.client_slug = :c AND a.status = 'scheduled' AND a.scheduled_at <= :at
                  AND a.channel = 'agent'
                ORDER BY t.expected_net_recovery DESC NULLS LAST, a.scheduled_at
                LIMIT :n FOR UPDATE OF a SKIP LOCKED)
            SELECT a.id, a.client_slug, a.account_ref, {HELD_DEBTOR_COLUMNS}, NULL AS history
            FROM due JOIN outreach.attempts a ON a.id = due.id
            JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
            {DEBTOR_JOINS}
            ORDER BY t.expected_net_recovery DESC NULLS LAST, a.scheduled_at"""),
        {"c": client, "at": now, "n": limit})
    return [AgentCall(row["id"], DebtorContext.of(row)) for row in result.mappings()]


async def record_decision(s: AsyncSession, *, attempt_id: uuid.UUID, now: dt.datetime, local_time: str,
                          allowed: bool, reasons: list[str], next_allowed_at: dt.datetime | None) -> None:
    await s.execute(sql(
        "INSERT INTO outreach.decisions (attempt_id, decided_at, local_time, allowed, reasons, next_allowed_at) "
        "VALUES (:a, :now, :lt, :ok, :rs, :nx)"),
        {"a": attempt_id, "now": now, "lt": local_time, "ok": allowed, "rs": reasons, "nx": next_allowed_at})


async def reschedule(s: AsyncSession, attempt_id: uuid.UUID, at: dt.datetime) -> None:
    await s.execute(sql("UPDATE outreach.attempts SET status = 'scheduled', scheduled_at = :at, "
                        "sending_since = NULL WHERE id = :id"), {"id": attempt_id, "at": at})


async def cancel_attempt(s: AsyncSession, attempt_id: uuid.UUID, reason: str) -> None:
    await s.execute(sql("UPDATE outreach.attempts SET status = 'cancelled', cancel_reason = :why WHERE id = :id"),
                    {"id": attempt_id, "why": reason})


async def mark_assigned(s: AsyncSession, attempt_id: uuid.UUID, now: dt.datetime, *, to_id: uuid.UUID,
                        to: str) -> None:
    """The call is handed to the one who asked for it (a person's user id and name, or a key's id), now."""
    await s.execute(sql("UPDATE outreach.attempts SET status = 'assigned', sent_at = :now, provider = 'agent', "
                        "tries = tries + 1, assigned_at = :now, assigned_to_id = :to_id, assigned_to = :to "
                        "WHERE id = :id"), {"id": attempt_id, "now": now, "to_id": to_id, "to": to})


async def add_contact(s: AsyncSession, *, client: str, debtor_id: str, account_ref: str, channel: str,
                      at: dt.datetime, source: str, attempt_id: uuid.UUID | None = None, outcome: str | None = None,
                      conversation: bool = False, rule_violations: list[str] | None = None,
                      logged_by: uuid.UUID | None = None, direction: str = "outbound") -> uuid.UUID:
    contact_id = uuid.uuid4()
    await s.execute(sql(
        """INSERT INTO outreach.contacts (id, client_slug, debtor_id, account_ref, channel, at, source, attempt_id,
               outcome, conversation, rule_violations, logged_by, direction)
           VALUES (:id, :c, :d, :r, :ch, :at, :src, :a, :o, :conv, :rv, :by, :dir)
           ON CONFLICT (attempt_id) DO NOTHING"""),
        {"id": contact_id, "c": client, "d": debtor_id, "r": account_ref, "ch": channel, "at": at, "src": source,
         "a": attempt_id, "o": outcome, "conv": conversation, "rv": rule_violations or [], "by": logged_by,
         "dir": direction})
    return contact_id


async def handed_out_at(s: AsyncSession, *, attempt_id: uuid.UUID, client: str, account_ref: str
                        ) -> dt.datetime | None:
    """When the call this platform handed to an agent was counted (its hand-out), while no outcome is attached to
    it; None for no such call waiting for its outcome."""
    found = await s.scalar(sql(
        "SELECT at FROM outreach.contacts WHERE attempt_id = :a AND client_slug = :c AND account_ref = :r "
        "AND channel = 'agent' AND outcome IS NULL"), {"a": attempt_id, "c": client, "r": account_ref})
    return found if isinstance(found, dt.datetime) else None


async def attach_outcome(s: AsyncSession, *, attempt_id: uuid.UUID, client: str, account_ref: str, outcome: str,
                         conversation: bool, logged_by: uuid.UUID, rule_violations: list[str],
                         made_at: dt.datetime) -> bool:
    """The outcome of a call this platform handed to an agent joins that call's contact (counted once), with who
    logged it and the rules the call broke when it was made. The contact is dated when the call was made (never
    before it was handed out): a call dialled the next day is that day's contact, and the seven days after its
    conversation run from it, not from the hand-out."""
    result = await s.execute(sql(
        "UPDATE outreach.contacts SET outcome = :o, conversation = :conv, logged_by = :by, rule_violations = :rv, "
        "at = greatest(at, :made_at) "
        "WHERE attempt_id = :a AND client_slug = :c AND account_ref = :r AND channel = 'agent' AND outcome IS NULL "
        "RETURNING 1"),
        {"a": attempt_id, "c": client, "r": account_ref, "o": outcome, "conv": conversation, "by": logged_by,
         "rv": rule_violations, "made_at": made_at})
    return result.first() is not None
