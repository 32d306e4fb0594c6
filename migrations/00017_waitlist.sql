-- Waiting lists (issue 15): a fan joins an event's list, optionally for one
-- section and up to a price, with the number of places they want. When
-- seats come back they are offered to the list in order as a hold of the
-- fan's (hold_id), instead of going back on the public map.
--
-- An entry is 'waiting' (in line), 'offered' (its offer was made: what
-- became of it is the status of its hold) or 'left' (the fan left the
-- line). seq orders the line. One entry per fan and event is waiting at a
-- time.

-- +goose Up
CREATE TABLE waitlist_entries (
    id              uuid PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    event_id        bigint NOT NULL,
    account_id      bigint NOT NULL,
    section         text NOT NULL DEFAULT '',
    max_price_cents bigint NOT NULL DEFAULT 0 CHECK (max_price_cents >= 0),
    quantity        smallint NOT NULL CHECK (quantity BETWEEN 1 AND 8),
    status          text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'offered', 'left')),
    hold_id         uuid,
    offered         smallint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz,
    CHECK ((status = 'offered') = (hold_id IS NOT NULL))
);
-- The line of an event, as the freeing step reads it.
CREATE INDEX waitlist_line_idx ON waitlist_entries (event_id, seq) WHERE status = 'waiting';
CREATE UNIQUE INDEX waitlist_one_waiting_idx ON waitlist_entries (event_id, account_id) WHERE status = 'waiting';
CREATE INDEX waitlist_account_idx ON waitlist_entries (account_id, event_id, created_at DESC);

-- +goose Down
DROP TABLE waitlist_entries;
