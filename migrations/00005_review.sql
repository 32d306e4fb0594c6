-- Orders under review (issue 5 item 7, issue 8's review queue): a purchase
-- that trips a velocity or fingerprint signal is written with its seats sold
-- and its tickets held back, its payment authorized but not captured, until
-- an admin approves it (capture, tickets valid, email) or rejects it (the
-- authorization cancelled, the seats back on sale, the tickets void). See
-- checkout/review.go.

-- +goose Up
-- payments: review = authorized, order written, capture withheld.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('pending', 'requires_payment_method', 'unknown', 'authorized', 'capturing', 'succeeded',
                      'declined', 'voiding', 'canceled', 'refunded', 'review'));

-- orders: review (waiting for an admin), rejected (an admin refused it; its
-- authorization is cancelled, nobody was charged).
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('paid', 'refunded', 'review', 'rejected'));
ALTER TABLE orders ADD COLUMN review_reasons text[] NOT NULL DEFAULT '{}';
ALTER TABLE orders ADD COLUMN reviewed_at timestamptz;
ALTER TABLE orders ADD COLUMN reviewed_by bigint REFERENCES accounts;
-- The admin's review queue: few rows, read oldest first.
CREATE INDEX orders_review_idx ON orders (created_at) WHERE status = 'review';

-- tickets: review = written but not usable (no code, no PDF, no transfer or
-- listing) until the order is approved.
ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_status_check
    CHECK (status IN ('valid', 'listed', 'transfer_pending', 'checked_in', 'void', 'review'));

-- +goose Down
ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_status_check
    CHECK (status IN ('valid', 'listed', 'transfer_pending', 'checked_in', 'void'));
DROP INDEX orders_review_idx;
ALTER TABLE orders DROP COLUMN reviewed_by;
ALTER TABLE orders DROP COLUMN reviewed_at;
ALTER TABLE orders DROP COLUMN review_reasons;
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('paid', 'refunded'));
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('pending', 'requires_payment_method', 'unknown', 'authorized', 'capturing', 'succeeded',
                      'declined', 'voiding', 'canceled', 'refunded'));
