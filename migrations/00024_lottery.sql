-- Registered-fan lotteries: fans register before a sale; at the draw time
-- a verifiable draw picks up to a target of them, and each winner gets a
-- single-use code of a presale window (docs/presales.md).

-- +goose Up
-- One lottery per event. seed is secret until drawn_at is set; only
-- commitment = SHA-256(seed) is published before. hash_key hides account
-- ids in the published registrant list and is never published.
CREATE TABLE lotteries (
    event_id     bigint PRIMARY KEY REFERENCES events ON DELETE CASCADE,
    presale_id   bigint NOT NULL REFERENCES presales ON DELETE CASCADE,
    target       integer NOT NULL CHECK (target > 0),
    closes_at    timestamptz NOT NULL,
    draws_at     timestamptz NOT NULL,
    seed         bytea NOT NULL,
    commitment   text NOT NULL,
    hash_key     bytea NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    drawn_at     timestamptz,
    CHECK (draws_at >= closes_at)
);

-- The fans registered for an event's lottery. code is the single-use code
-- a winner was issued and draw_rank its place in the draw (1 first); both
-- NULL before the draw and for those not drawn.
CREATE TABLE registrations (
    event_id   bigint NOT NULL REFERENCES events ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts,
    created_at timestamptz NOT NULL DEFAULT now(),
    code       text REFERENCES presale_codes,
    draw_rank  integer,
    PRIMARY KEY (event_id, account_id)
);
CREATE INDEX registrations_account ON registrations (account_id, created_at);

-- +goose Down
DROP TABLE registrations;
DROP TABLE lotteries;
