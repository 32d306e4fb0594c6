-- The rest of issue 13's money work.
--
-- Transfer offers to any address: an offer to an email with no account is
-- stored against the normalized email (to_account stays null) and claimed
-- by whoever signs up with it, so an offer answers the same whether or not
-- the address has an account. to_email is the address the offer was made
-- to, for every transfer (filled in from the account for older rows).

-- +goose Up
ALTER TABLE transfers ADD COLUMN to_email text;
UPDATE transfers x SET to_email = lower(a.email) FROM accounts a WHERE a.id = x.to_account;
ALTER TABLE transfers ALTER COLUMN to_email SET NOT NULL;
ALTER TABLE transfers ALTER COLUMN to_account DROP NOT NULL;
-- The offers waiting for an address to sign up.
CREATE INDEX transfers_to_email_idx ON transfers (to_email) WHERE status = 'pending' AND to_account IS NULL;

-- +goose Down
DROP INDEX transfers_to_email_idx;
UPDATE transfers SET status = 'cancelled', ended_at = now() WHERE to_account IS NULL AND status = 'pending';
UPDATE tickets t SET status = 'valid' WHERE t.status = 'transfer_pending'
    AND NOT EXISTS (SELECT 1 FROM transfers x WHERE x.ticket_id = t.id AND x.status = 'pending' AND x.to_account IS NOT NULL);
DELETE FROM transfers WHERE to_account IS NULL;
ALTER TABLE transfers ALTER COLUMN to_account SET NOT NULL;
ALTER TABLE transfers DROP COLUMN to_email;
