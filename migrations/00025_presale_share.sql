-- A presale window's share of the inventory and its own waiting room
-- (docs/presales.md).
--
-- presales.admit_per_minute is the admission rate of the window's own
-- waiting room (NULL: the event's).
--
-- presale_shares is the window's counter row: places is the cap (fixed
-- when the window is created; a percentage is turned into a count then),
-- used the places its holds have taken and not given back. A presale hold
-- takes its places with one conditional UPDATE of this row in the hold's
-- own transaction, so concurrent holds never take more than places; the
-- CHECK is the backstop.
--
-- presale_share_holds tags each hold that took places, so that a hold
-- that ends without a sale (released, expired, failed payment, cancelled
-- event, rejected order) gives exactly its places back, once: the row is
-- deleted as the places return. A converted hold keeps its row: its
-- places are sold.

-- +goose Up
ALTER TABLE presales ADD COLUMN admit_per_minute integer CHECK (admit_per_minute BETWEEN 1 AND 10000000);

CREATE TABLE presale_shares (
    presale_id bigint PRIMARY KEY REFERENCES presales ON DELETE CASCADE,
    places     integer NOT NULL CHECK (places > 0),
    used       integer NOT NULL DEFAULT 0,
    CHECK (used BETWEEN 0 AND places)
);

CREATE TABLE presale_share_holds (
    hold_id    uuid PRIMARY KEY REFERENCES holds ON DELETE CASCADE,
    presale_id bigint NOT NULL REFERENCES presale_shares ON DELETE CASCADE,
    places     integer NOT NULL CHECK (places > 0)
);
CREATE INDEX presale_share_holds_presale ON presale_share_holds (presale_id);

-- +goose Down
DROP TABLE presale_share_holds;
DROP TABLE presale_shares;
ALTER TABLE presales DROP COLUMN admit_per_minute;
