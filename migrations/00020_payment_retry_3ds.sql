-- Declined cards and 3-D Secure (issue 17).
--
-- A decline no longer ends a payment at once: the hold stays for a short
-- retry window so the fan can try the card again or another one. declines
-- counts the declined attempts of the payment (each retry confirms under a
-- new idempotency key derived from it), retry_until is when the window of
-- the last decline ends (never past the hold's expiry). A third decline, the
-- fan giving up, or the window ending releases the seats and cancels the
-- intent.
--
-- requires_action: the card asked for authentication (3-D Secure); the hold
-- stays while the fan completes it in the browser, up to the payment
-- deadline.

-- +goose Up
ALTER TABLE payments ADD COLUMN declines integer NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN retry_until timestamptz;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('pending', 'requires_payment_method', 'requires_action', 'unknown', 'authorized', 'capturing',
                      'succeeded', 'declined', 'voiding', 'canceled', 'refunded', 'review'));
DROP INDEX payments_open_idx;
CREATE INDEX payments_open_idx ON payments (updated_at)
    WHERE status IN ('pending', 'requires_payment_method', 'requires_action', 'unknown', 'authorized', 'capturing', 'voiding');
-- The reconciler's look-up of retry windows that ended.
CREATE INDEX payments_retry_due_idx ON payments (retry_until)
    WHERE status = 'requires_payment_method' AND retry_until IS NOT NULL;

-- +goose Down
DROP INDEX payments_retry_due_idx;
DROP INDEX payments_open_idx;
CREATE INDEX payments_open_idx ON payments (updated_at)
    WHERE status IN ('pending', 'requires_payment_method', 'unknown', 'authorized', 'capturing', 'voiding');
UPDATE payments SET status = 'requires_payment_method' WHERE status = 'requires_action';
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('pending', 'requires_payment_method', 'unknown', 'authorized', 'capturing', 'succeeded',
                      'declined', 'voiding', 'canceled', 'refunded', 'review'));
ALTER TABLE payments DROP COLUMN retry_until;
ALTER TABLE payments DROP COLUMN declines;
