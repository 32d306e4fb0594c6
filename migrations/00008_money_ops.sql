-- Money operations (issue 13): per-payment backoff in the reconciler, with
-- poison payments set aside where an admin sees them; and outbox jobs that
-- run outside any transaction (claimed with a lease), so a slow SMTP server
-- or payment provider never holds a database transaction open.

-- +goose Up
-- reconcile_failures counts the reconciler's failed passes over a payment
-- in a row; reconcile_at is when it may look again (null: as soon as the
-- payment is ReconcileAfter old); reconcile_error is the last failure;
-- stuck_at is set once the failures reach the poison threshold: the payment
-- is then retried rarely and shown to admins (ledger, metrics).
ALTER TABLE payments ADD COLUMN reconcile_failures integer NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN reconcile_at timestamptz;
ALTER TABLE payments ADD COLUMN reconcile_error text;
ALTER TABLE payments ADD COLUMN stuck_at timestamptz;

-- The admin's views of the outbox (dead jobs, jobs failing) and the
-- metrics that count them.
CREATE INDEX jobs_trouble_idx ON jobs (kind, id) WHERE done_at IS NULL AND (dead OR last_error IS NOT NULL);

-- +goose Down
DROP INDEX jobs_trouble_idx;
ALTER TABLE payments DROP COLUMN stuck_at;
ALTER TABLE payments DROP COLUMN reconcile_error;
ALTER TABLE payments DROP COLUMN reconcile_at;
ALTER TABLE payments DROP COLUMN reconcile_failures;
