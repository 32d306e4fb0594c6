-- The rest of issue 13's money work.
--
-- Transfer offers to any address: an offer to an email with no account is
-- stored against the normalized email (to_account stays null) and claimed
-- by whoever signs up with it, so an offer answers the same whether or not
-- the address has an account. to_email is the address the offer was made
-- to, for every transfer (filled in from the account for older rows).
--
-- Refunds: owed_cents is what a fan was paid out beyond what their order
-- paid (a resale above face on a cancelled event): the refund cannot give
-- back less than nothing, so the difference is a debt, counted by the
-- ledger and left open for a person. withheld_cents is now at most the
-- payment's amount. refused counts the provider's definite refusals of the
-- refund: each retry after one uses a new idempotency key, since the
-- provider keeps its answer under the old one.
--
-- Stuck payments: an index for the admin's list of the payments the
-- reconciler fails on (GET /api/admin/payments).

-- +goose Up
ALTER TABLE transfers ADD COLUMN to_email text;
UPDATE transfers x SET to_email = lower(a.email) FROM accounts a WHERE a.id = x.to_account;
ALTER TABLE transfers ALTER COLUMN to_email SET NOT NULL;
ALTER TABLE transfers ALTER COLUMN to_account DROP NOT NULL;
-- The offers waiting for an address to sign up.
CREATE INDEX transfers_to_email_idx ON transfers (to_email) WHERE status = 'pending' AND to_account IS NULL;

ALTER TABLE refunds ADD COLUMN owed_cents bigint NOT NULL DEFAULT 0 CHECK (owed_cents >= 0);
ALTER TABLE refunds ADD COLUMN refused integer NOT NULL DEFAULT 0;
UPDATE refunds r SET owed_cents = r.withheld_cents - p.amount_cents, withheld_cents = p.amount_cents
FROM payments p WHERE p.id = r.payment_id AND r.withheld_cents > p.amount_cents;


-- The admin's list of payments the reconciler fails on (stuck, failing).
CREATE INDEX payments_trouble_idx ON payments (created_at, id) WHERE stuck_at IS NOT NULL OR reconcile_failures > 0;

-- +goose Down
DROP INDEX payments_trouble_idx;
UPDATE refunds SET withheld_cents = withheld_cents + owed_cents;
ALTER TABLE refunds DROP COLUMN refused;
ALTER TABLE refunds DROP COLUMN owed_cents;
DROP INDEX transfers_to_email_idx;
UPDATE transfers SET status = 'cancelled', ended_at = now() WHERE to_account IS NULL AND status = 'pending';
UPDATE tickets t SET status = 'valid' WHERE t.status = 'transfer_pending'
    AND NOT EXISTS (SELECT 1 FROM transfers x WHERE x.ticket_id = t.id AND x.status = 'pending' AND x.to_account IS NOT NULL);
DELETE FROM transfers WHERE to_account IS NULL;
ALTER TABLE transfers ALTER COLUMN to_account SET NOT NULL;
ALTER TABLE transfers DROP COLUMN to_email;
