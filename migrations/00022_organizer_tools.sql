-- Organizer tools (issue 16, orders and roles).
--
-- Roles: besides fan, admin and scanner, box_office (sells at the door) and
-- finance (reads the ledger and the exports). role_event_id scopes a
-- scanner to one event's door (null: any event).
--
-- Admin refunds: an admin may refund an order in part, several times, so a
-- payment may now have several refunds rows. Only the automatic refunds
-- (event_cancelled, hold_lost) stay one per payment, the row their retries
-- replay. reason_text is what the admin wrote; created_by who did it.
-- A ticket an admin refund covered points at it (refund_id), so a later
-- refund of the same payment does not give its price back twice, and a
-- cancellation keeping fees does not keep the fees already refunded.
--
-- returned_seats records a seat an admin refund put back on sale: the
-- converted hold that sold it no longer owns it, and the seat invariants
-- accept that for exactly these seats.
--
-- Counter sales: a payment taken at the box office, in cash or on a card
-- terminal, marked by the operator (method); provider is 'counter'. One
-- counter sale holds up to 100 seats (a fan's hold stays at most 8: the
-- event's cap, checked before any write).
--
-- order_notes are admins' notes on an order, oldest first.

-- +goose Up
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check
    CHECK (role IN ('fan', 'admin', 'scanner', 'box_office', 'finance'));
ALTER TABLE accounts ADD COLUMN role_event_id bigint;

ALTER TABLE refunds DROP CONSTRAINT refunds_payment_id_key;
CREATE UNIQUE INDEX refunds_payment_once_key ON refunds (payment_id) WHERE reason <> 'admin';
CREATE INDEX refunds_payment_idx ON refunds (payment_id);
ALTER TABLE refunds DROP CONSTRAINT refunds_reason_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_reason_check CHECK (reason IN ('event_cancelled', 'hold_lost', 'admin'));
ALTER TABLE refunds ADD COLUMN reason_text text;
ALTER TABLE refunds ADD COLUMN created_by bigint REFERENCES accounts;

ALTER TABLE tickets ADD COLUMN refund_id uuid REFERENCES refunds;
ALTER TABLE tickets ADD COLUMN voided_reason text;

CREATE TABLE returned_seats (
    hold_id     uuid NOT NULL REFERENCES holds,
    seat_id     bigint NOT NULL REFERENCES seats,
    returned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hold_id, seat_id)
);

ALTER TABLE payments ADD COLUMN method text CHECK (method IN ('cash', 'card_present'));
ALTER TABLE holds DROP CONSTRAINT holds_check;
ALTER TABLE holds ADD CONSTRAINT holds_check
    CHECK (cardinality(seat_ids) BETWEEN 1 AND 100 AND cardinality(seat_ids) = cardinality(seat_versions));

CREATE TABLE order_notes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   uuid NOT NULL REFERENCES orders,
    author_id  bigint NOT NULL REFERENCES accounts,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_notes_order_idx ON order_notes (order_id, id);

-- The admin's order search across events, newest first.
CREATE INDEX orders_created_idx ON orders (created_at DESC, id);

-- +goose Down
DROP INDEX orders_created_idx;
DROP TABLE order_notes;
ALTER TABLE holds DROP CONSTRAINT holds_check;
ALTER TABLE holds ADD CONSTRAINT holds_check
    CHECK (cardinality(seat_ids) BETWEEN 1 AND 8 AND cardinality(seat_ids) = cardinality(seat_versions)) NOT VALID;
ALTER TABLE payments DROP COLUMN method;
DROP TABLE returned_seats;
ALTER TABLE tickets DROP COLUMN voided_reason;
ALTER TABLE tickets DROP COLUMN refund_id;
ALTER TABLE refunds DROP COLUMN created_by;
ALTER TABLE refunds DROP COLUMN reason_text;
DELETE FROM refunds WHERE reason = 'admin';
ALTER TABLE refunds DROP CONSTRAINT refunds_reason_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_reason_check CHECK (reason IN ('event_cancelled', 'hold_lost'));
DROP INDEX refunds_payment_idx;
DROP INDEX refunds_payment_once_key;
ALTER TABLE refunds ADD CONSTRAINT refunds_payment_id_key UNIQUE (payment_id);
UPDATE accounts SET role = 'fan' WHERE role IN ('box_office', 'finance');
ALTER TABLE accounts DROP COLUMN role_event_id;
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check CHECK (role IN ('fan', 'admin', 'scanner'));
