"""Id numbers and phones written with dots (1.020.304.050, 12.345.678-K, 300.123.4567) masked in what outreach kept
as free text before recaudo_common.redaction.mask_text masked them: the trail's reasons (append-only: its guard is
lifted for this one statement and restored in the same transaction), the attempts' failure and cancel reasons, the
early receipts and the replies (a reply that matched no message is reached by no erasure)."""

from alembic import op

revision = "0031"
down_revision = "0030"

# recaudo_common.redaction's _DOTTED, in PostgreSQL's regular expressions.
DOTTED = r"(?<![[:alnum:]_.])[0-9]{1,4}(?:\.[0-9]{2,4}){2,}(?:-[0-9kK])?(?![[:alnum:]_.])"


def masked(column: str) -> str:
    return f"regexp_replace({column}, '{DOTTED}', '[redacted]', 'g')"


def holds(column: str) -> str:
    return f"{column} ~ '{DOTTED}'"


STATEMENTS = [
    "ALTER TABLE outreach.trail DISABLE TRIGGER trail_append_only",
    f"""UPDATE outreach.trail SET detail = jsonb_set(detail, '{{reason}}', to_jsonb({masked("detail ->> 'reason'")}))
        WHERE jsonb_typeof(detail -> 'reason') = 'string' AND {holds("detail ->> 'reason'")}""",
    "ALTER TABLE outreach.trail ENABLE TRIGGER trail_append_only",
    f"UPDATE outreach.attempts SET failure = {masked('failure')} WHERE {holds('failure')}",
    f"UPDATE outreach.attempts SET cancel_reason = {masked('cancel_reason')} WHERE {holds('cancel_reason')}",
    f"UPDATE outreach.early_receipts SET detail = {masked('detail')} WHERE {holds('detail')}",
    f"UPDATE outreach.replies SET body = {masked('body')} WHERE {holds('body')}",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
