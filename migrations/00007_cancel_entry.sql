-- Cancellation that balances, and entry rules per event (issue 13).
--
-- A cancelled event ends every listing (cancelled) and every payout not yet
-- made (void: never to be paid). Each refund is a row: the amount given
-- back and, for an order whose ticket was resold, the payouts already paid
-- that were withheld from it, so every fan ends even (what they paid minus
-- what they were paid out) and a ledger can sum the event to zero. See
-- checkout/cancel.go and docs/money.md.
--
-- print_at_home says which code admits at the door: on, the static code of
-- the PDF and email admits (once); off, only the rotating code of the app.

-- +goose Up
ALTER TABLE payouts DROP CONSTRAINT payouts_status_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_status_check CHECK (status IN ('pending', 'paid', 'void'));

ALTER TABLE listings DROP CONSTRAINT listings_status_check;
ALTER TABLE listings ADD CONSTRAINT listings_status_check
    CHECK (status IN ('active', 'sold', 'withdrawn', 'cancelled'));

-- One refund per payment, written (pending) before the provider is asked,
-- with the amount fixed then: a retry replays the same amount under the
-- same idempotency key. reason: event_cancelled (RefundOrder) or hold_lost
-- (a payment captured although its hold was lost).
CREATE TABLE refunds (
    id             uuid PRIMARY KEY,
    payment_id     uuid NOT NULL UNIQUE REFERENCES payments,
    order_id       uuid REFERENCES orders,
    event_id       bigint NOT NULL,
    account_id     bigint NOT NULL REFERENCES accounts,
    reason         text NOT NULL CHECK (reason IN ('event_cancelled', 'hold_lost')),
    amount_cents   bigint NOT NULL CHECK (amount_cents >= 0),
    withheld_cents bigint NOT NULL DEFAULT 0 CHECK (withheld_cents >= 0),
    currency       text NOT NULL,
    status         text NOT NULL CHECK (status IN ('pending', 'succeeded')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    refunded_at    timestamptz
);
CREATE INDEX refunds_event_idx ON refunds (event_id);

ALTER TABLE events ADD COLUMN print_at_home boolean NOT NULL DEFAULT false;
ALTER TABLE tickets ADD COLUMN checked_in_entrance text;

-- +goose Down
ALTER TABLE tickets DROP COLUMN checked_in_entrance;
ALTER TABLE events DROP COLUMN print_at_home;
DROP TABLE refunds;
ALTER TABLE listings DROP CONSTRAINT listings_status_check;
ALTER TABLE listings ADD CONSTRAINT listings_status_check CHECK (status IN ('active', 'sold', 'withdrawn'));
ALTER TABLE payouts DROP CONSTRAINT payouts_status_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_status_check CHECK (status IN ('pending', 'paid'));
