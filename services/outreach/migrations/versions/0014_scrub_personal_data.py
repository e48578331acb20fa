"""Personal data out of what outreach keeps as evidence or free text (#19): the audit trail from now on names an
attempt, a channel and a pseudonym, never a recipient or a person; this step scrubs what earlier versions or
outside text put there. In the trail (append-only: its guard is lifted for this one statement and restored in the
same transaction), the attempts' failure and cancel reasons, the early receipts and the replies: e-mail addresses
and long digit runs (phones, id numbers) in free text are masked as recaudo_common.redaction.mask_text masks them,
and a detail key that could only hold a person's data is removed."""

from alembic import op

revision = "0014"
down_revision = "0013"

# recaudo_common.redaction's patterns, in PostgreSQL's regular expressions.
EMAIL = r"[[:alnum:]_.+-]+@[[:alnum:]_-]+\.[[:alnum:]_.-]+"
DIGITS = r"\+?[0-9][0-9[:space:]-]{5,}[0-9]"
PERSONAL_KEYS = ("recipient", "phone", "phones", "email", "full_name", "name", "debtor_id", "id_number", "address",
                 "body", "subject", "reply_from")


def masked(column: str) -> str:
    return f"regexp_replace(regexp_replace({column}, '{EMAIL}', '[email]', 'g'), '{DIGITS}', '[redacted]', 'g')"


def holds_personal_data(column: str) -> str:
    return f"({column} ~ '{EMAIL}' OR {column} ~ '{DIGITS}')"


KEYS = "ARRAY[" + ", ".join(f"'{k}'" for k in PERSONAL_KEYS) + "]"
STATEMENTS = [
    "ALTER TABLE outreach.trail DISABLE TRIGGER trail_append_only",
    f"""UPDATE outreach.trail SET detail = (detail - {KEYS}::text[]) || CASE
            WHEN jsonb_typeof(detail -> 'reason') = 'string'
            THEN jsonb_build_object('reason', {masked("detail ->> 'reason'")}) ELSE '{{}}'::jsonb END
        WHERE detail ?| {KEYS} OR (jsonb_typeof(detail -> 'reason') = 'string'
                                   AND {holds_personal_data("detail ->> 'reason'")})""",
    "ALTER TABLE outreach.trail ENABLE TRIGGER trail_append_only",
    f"UPDATE outreach.attempts SET failure = {masked('failure')} WHERE {holds_personal_data('failure')}",
    f"UPDATE outreach.attempts SET cancel_reason = {masked('cancel_reason')} "
    f"WHERE {holds_personal_data('cancel_reason')}",
    f"UPDATE outreach.early_receipts SET detail = {masked('detail')} WHERE {holds_personal_data('detail')}",
    f"UPDATE outreach.replies SET body = {masked('body')} WHERE {holds_personal_data('body')}",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
