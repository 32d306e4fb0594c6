-- Checkout: payments (one per hold), orders and tickets written in the
-- conversion transaction, Stripe webhook events kept for de-duplication, and
-- a dead flag for outbox jobs that ran out of attempts. See docs/architecture.md,
-- "Money".
--
-- Like holds, these tables have no foreign key to events: the KEY SHARE lock
-- of an FK check would make every checkout and sale write the event's row,
-- the per-event hot spot the design avoids. Their event ids come from holds.

-- +goose Up
-- status: pending (row written, provider not yet answered), requires_payment_method
-- (intent created), unknown (a provider call's outcome was lost),
-- authorized (the provider holds the funds; conversion next), capturing (order
-- written, capture outstanding), succeeded (captured), declined, voiding
-- (hold gone: the authorization must be cancelled), canceled, refunded.
CREATE TABLE payments (
    id            uuid PRIMARY KEY,
    hold_id       uuid NOT NULL UNIQUE REFERENCES holds,
    event_id      bigint NOT NULL,
    account_id    bigint NOT NULL REFERENCES accounts,
    provider      text NOT NULL,
    intent_id     text UNIQUE,
    client_secret text,
    amount_cents  bigint NOT NULL CHECK (amount_cents >= 0),
    currency      text NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'requires_payment_method', 'unknown', 'authorized',
                      'capturing', 'succeeded', 'declined', 'voiding', 'canceled', 'refunded')),
    decline_code  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- The reconciler's index: payments that are not settled yet.
CREATE INDEX payments_open_idx ON payments (updated_at)
    WHERE status IN ('pending', 'requires_payment_method', 'unknown', 'authorized', 'capturing', 'voiding');
CREATE INDEX payments_account_idx ON payments (account_id);

-- One order per converted hold and per payment, by construction.
CREATE TABLE orders (
    id                   uuid PRIMARY KEY,
    account_id           bigint NOT NULL REFERENCES accounts,
    event_id             bigint NOT NULL,
    hold_id              uuid NOT NULL UNIQUE REFERENCES holds,
    payment_id           uuid NOT NULL UNIQUE REFERENCES payments,
    status               text NOT NULL DEFAULT 'paid' CHECK (status IN ('paid', 'refunded')),
    total_cents          bigint NOT NULL CHECK (total_cents >= 0),
    currency             text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    confirmation_sent_at timestamptz
);
CREATE INDEX orders_account_idx ON orders (account_id, created_at DESC);

-- version grows on transfer or resale so older barcodes stop working.
CREATE TABLE tickets (
    id          uuid PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES orders ON DELETE CASCADE,
    event_id    bigint NOT NULL,
    seat_id     bigint NOT NULL REFERENCES seats,
    account_id  bigint NOT NULL REFERENCES accounts,
    holder_name text NOT NULL,
    status      text NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'checked_in', 'void')),
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- At most one live ticket per seat: a second sale of a seat cannot commit.
CREATE UNIQUE INDEX tickets_live_seat_key ON tickets (seat_id) WHERE status <> 'void';
CREATE INDEX tickets_account_idx ON tickets (account_id, created_at DESC);
CREATE INDEX tickets_order_idx ON tickets (order_id);

-- Stripe events already applied, by id, written in the transaction of their
-- effect: a redelivered event finds its id and changes nothing.
CREATE TABLE webhook_events (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE jobs ADD COLUMN dead boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE jobs DROP COLUMN dead;
DROP TABLE webhook_events;
DROP TABLE tickets;
DROP TABLE orders;
DROP TABLE payments;
