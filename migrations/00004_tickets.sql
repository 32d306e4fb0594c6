-- After the purchase: ticket states for transfer, resale and check-in,
-- transfers, resale listings, the seller payout ledger, and the seat and hold
-- columns a resale hold needs. See docs/architecture.md, "Tickets after the sale",
-- and checkout/resale.go.
--
-- Like holds, the new tables have no foreign key to events (no KEY SHARE
-- lock on the event's row from a ticket move).

-- +goose Up
-- Ticket states: valid → listed / transfer_pending / checked_in / void;
-- checkout/ticketstate.go is the state machine every write follows.
ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_status_check
    CHECK (status IN ('valid', 'listed', 'transfer_pending', 'checked_in', 'void'));
ALTER TABLE tickets ADD COLUMN checked_in_at timestamptz;
ALTER TABLE tickets ADD COLUMN checked_in_by bigint REFERENCES accounts;

-- A sold seat whose ticket is listed is 'resale' (the availability letter
-- x): it counts as sold for conservation, and only a resale hold takes it.
-- listing_id names the listing the seat is offered under: the fence of a
-- resale hold (a withdrawn and relisted seat has a new listing id). Like the
-- other columns a transition changes, it has no index, so updates stay HOT.
ALTER TABLE seats DROP CONSTRAINT seats_status_check;
ALTER TABLE seats ADD CONSTRAINT seats_status_check
    CHECK (status IN ('available', 'held', 'sold', 'reserved', 'resale'));
ALTER TABLE seats ADD COLUMN listing_id uuid;
ALTER TABLE seats ADD CONSTRAINT seats_resale_listing_check CHECK (status <> 'resale' OR listing_id IS NOT NULL);

-- A resale hold (listing_id set) holds one resale seat; prior_hold_id and
-- prior_account_id are what the seat returns to (status resale, hold_id,
-- holder_account_id) if the hold ends without a sale. Null for every other hold.
ALTER TABLE holds ADD COLUMN listing_id uuid;
ALTER TABLE holds ADD COLUMN prior_hold_id uuid;
ALTER TABLE holds ADD COLUMN prior_account_id bigint;

-- Per event resale cap as a percentage of face value (100: face value).
ALTER TABLE events ADD COLUMN resale_cap_percent integer NOT NULL DEFAULT 100
    CHECK (resale_cap_percent BETWEEN 0 AND 1000);

-- A transfer offer from the owner to another account.
CREATE TABLE transfers (
    id            uuid PRIMARY KEY,
    ticket_id     uuid NOT NULL REFERENCES tickets,
    event_id      bigint NOT NULL,
    from_account  bigint NOT NULL REFERENCES accounts,
    to_account    bigint NOT NULL REFERENCES accounts,
    status        text NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    ended_at      timestamptz
);
-- At most one pending transfer per ticket.
CREATE UNIQUE INDEX transfers_pending_key ON transfers (ticket_id) WHERE status = 'pending';
CREATE INDEX transfers_to_idx ON transfers (to_account, created_at DESC);

-- A resale listing; the seat's listing_id points back at the active one.
CREATE TABLE listings (
    id                uuid PRIMARY KEY,
    ticket_id         uuid NOT NULL REFERENCES tickets,
    event_id          bigint NOT NULL,
    seat_id           bigint NOT NULL REFERENCES seats,
    seller_account_id bigint NOT NULL REFERENCES accounts,
    price_cents       bigint NOT NULL CHECK (price_cents > 0),
    currency          text NOT NULL,
    status            text NOT NULL CHECK (status IN ('active', 'sold', 'withdrawn')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    ended_at          timestamptz
);
CREATE UNIQUE INDEX listings_active_key ON listings (ticket_id) WHERE status = 'active';
CREATE INDEX listings_event_idx ON listings (event_id) WHERE status = 'active';

-- The seller payout ledger: one row per sold listing, written in the
-- conversion transaction of the buyer's payment. Paying out is outside
-- Boxoffice (status pending until an operator settles it).
CREATE TABLE payouts (
    id                uuid PRIMARY KEY,
    listing_id        uuid NOT NULL UNIQUE REFERENCES listings,
    event_id          bigint NOT NULL,
    seller_account_id bigint NOT NULL REFERENCES accounts,
    order_id          uuid NOT NULL REFERENCES orders,
    gross_cents       bigint NOT NULL CHECK (gross_cents >= 0),
    fee_cents         bigint NOT NULL CHECK (fee_cents >= 0),
    net_cents         bigint NOT NULL CHECK (net_cents >= 0 AND net_cents = gross_cents - fee_cents),
    currency          text NOT NULL,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid')),
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payouts_seller_idx ON payouts (seller_account_id);

-- +goose Down
DROP TABLE payouts;
DROP TABLE listings;
DROP TABLE transfers;
ALTER TABLE events DROP COLUMN resale_cap_percent;
ALTER TABLE holds DROP COLUMN prior_account_id;
ALTER TABLE holds DROP COLUMN prior_hold_id;
ALTER TABLE holds DROP COLUMN listing_id;
ALTER TABLE seats DROP CONSTRAINT seats_resale_listing_check;
ALTER TABLE seats DROP COLUMN listing_id;
ALTER TABLE seats DROP CONSTRAINT seats_status_check;
ALTER TABLE seats ADD CONSTRAINT seats_status_check
    CHECK (status IN ('available', 'held', 'sold', 'reserved'));
ALTER TABLE tickets DROP COLUMN checked_in_by;
ALTER TABLE tickets DROP COLUMN checked_in_at;
ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_status_check
    CHECK (status IN ('valid', 'checked_in', 'void'));
