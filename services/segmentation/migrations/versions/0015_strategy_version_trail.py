"""Strategy versions say who made them and how (#22): `created_by` (the caller's key, never a secret), `origin`
(put, buckets, promote or restore; null for versions made before) and `origin_version` (the version a promote or
restore came from). A version, once kept, never changes: the database refuses to update or delete one."""

from alembic import op

revision = "0015"
down_revision = "0014"

STATEMENTS = [
    "ALTER TABLE segmentation.strategies ADD COLUMN created_by text",
    """ALTER TABLE segmentation.strategies ADD COLUMN origin text
        CHECK (origin IN ('put', 'buckets', 'promote', 'restore'))""",
    "ALTER TABLE segmentation.strategies ADD COLUMN origin_version integer",
    """CREATE FUNCTION segmentation.strategy_versions_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'strategy version % of % is immutable: make a new version instead',
                OLD.version, OLD.client_slug USING ERRCODE = 'restrict_violation';
        END $$""",
    """CREATE TRIGGER strategy_versions_are_immutable BEFORE UPDATE OR DELETE ON segmentation.strategies
        FOR EACH ROW EXECUTE FUNCTION segmentation.strategy_versions_are_immutable()""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
