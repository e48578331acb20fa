"""Outreach's look-ups by a debtor's account or contact point on a real PostgreSQL holding many: a refused address or
number taken off every account that has it (in the send's transaction), an account's logged contacts, and a
person's erasure (their WhatsApp messages, contacts and replies). Each read its whole table (73 ms to take an
address off at 200,000 accounts; 122 ms a number)."""

import datetime as dt
import uuid

import pytest
import sqlalchemy

from outreach.contact_history import store as contact_history
from outreach.erasure.store import erase_person
from outreach.unsubscribe.store import mark_point_invalid
from recaudo_common.testing import plan_of, statements_run

from .conftest import Outreach

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 4, 1, 15, 0, tzinfo=dt.UTC)


async def many(outreach: Outreach) -> None:
    """30,000 accounts, each with a phone and an e-mail, a contact and an attempt with a reply; 30,000 messages."""
    statements = [
        "INSERT INTO outreach.accounts (client_slug, account_ref, debtor_id, phones, email, balance, currency, "
        "authorised_channels, updated_at) SELECT 'banco', 'P-' || i, 'D' || i, ARRAY['+57300' || lpad(i::text, 7, "
        "'0')], 'deudor' || i || '@correo.co', 1000, 'COP', ARRAY['sms', 'email'], now() "
        "FROM generate_series(1, 30000) i",
        "INSERT INTO outreach.contacts (id, client_slug, debtor_id, account_ref, channel, at, source) "
        "SELECT gen_random_uuid(), 'banco', 'D' || i, 'P-' || i, 'voice', now(), "
        "CASE WHEN i % 2 = 0 THEN 'logged' ELSE 'attempt' END FROM generate_series(1, 30000) i",
        "INSERT INTO outreach.attempts (id, client_slug, account_ref, channel, sequence, status, scheduled_at, "
        "created_at) SELECT md5('a' || i)::uuid, 'banco', 'P-' || i, 'sms', 1, 'sent', now(), now() "
        "FROM generate_series(1, 30000) i",
        "INSERT INTO outreach.replies (id, provider, provider_message_id, attempt_id, channel, body, opt_out, "
        "received_at) SELECT gen_random_uuid(), 'sandbox', 'r-' || i, md5('a' || i)::uuid, 'sms', 'ya pagué', "
        "false, now() FROM generate_series(1, 30000) i",
        "INSERT INTO outreach.whatsapp_inbound (id, client_slug, provider_message_id, sender, account_refs, kind, "
        "body, meaning, received_at) SELECT gen_random_uuid(), 'banco', 'w-' || i, '+57300' || lpad(i::text, 7, "
        "'0'), ARRAY['P-' || i], 'text', 'hola', 'agent', now() FROM generate_series(1, 30000) i",
    ]
    async with outreach.platform.db.transaction() as s:
        for statement in statements:
            await s.execute(sqlalchemy.text(statement))
        for table in ("accounts", "contacts", "attempts", "replies", "whatsapp_inbound"):
            await s.execute(sqlalchemy.text(f"ANALYZE outreach.{table}"))


async def test_a_refused_address_and_a_wrong_number_are_found_by_their_index(outreach: Outreach) -> None:
    await many(outreach)
    with statements_run(outreach.platform.db, "UPDATE outreach.accounts SET") as seen:
        async with outreach.platform.db.transaction() as s:
            by_mail = await mark_point_invalid(s, client="banco", account_ref="P-7", channel="email",
                                               point=" Deudor7@Correo.co", attempt_id=None, now=NOW)
            by_phone = await mark_point_invalid(s, client="banco", account_ref="P-8", channel="sms",
                                                point="+573000000008", attempt_id=None, now=NOW)
    assert (by_mail, by_phone) == ([("banco", "P-7")], [("banco", "P-8")])
    mail, phone = [await plan_of(outreach.platform.db, *statement) for statement in seen]
    assert '"Index Name": "accounts_email"' in mail and "Seq Scan" not in mail, mail
    assert '"Index Name": "accounts_phones"' in phone and "Seq Scan" not in phone, phone


async def test_an_accounts_logged_contacts_are_read_by_the_account(outreach: Outreach) -> None:
    await many(outreach)
    with statements_run(outreach.platform.db, "FROM outreach.contacts WHERE client_slug") as seen:
        async with outreach.platform.db.transaction() as s:
            logged = await contact_history.logged_contacts(s, "banco", "P-8")
    assert [c.channel for c in logged] == ["voice"]
    plan = await plan_of(outreach.platform.db, *seen[0])
    assert '"Index Name": "contacts_account"' in plan and "Seq Scan" not in plan, plan


async def test_a_persons_erasure_reads_only_what_is_theirs(outreach: Outreach) -> None:
    await many(outreach)
    with statements_run(outreach.platform.db, "UPDATE outreach.whatsapp_inbound") as messages, \
            statements_run(outreach.platform.db, "UPDATE outreach.contacts") as contacts, \
            statements_run(outreach.platform.db, "UPDATE outreach.replies") as replies:
        async with outreach.platform.db.transaction() as s:
            erased = await erase_person(s, "banco", uuid.uuid4(), ["P-9"], NOW)
    assert erased.account_refs == ["P-9"]
    assert await outreach.sql("SELECT sender, body FROM outreach.whatsapp_inbound WHERE 'P-9' = ANY(account_refs)"
                              ) == [("", "")]
    for seen, index in ((messages, "whatsapp_inbound"), (contacts, "contacts_account"), (replies, "replies_attempt")):
        plan = await plan_of(outreach.platform.db, *seen[0])
        assert f'"Index Name": "{index}' in plan and "Seq Scan" not in plan, plan
