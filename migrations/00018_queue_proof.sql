-- The waiting room's public fairness proof (docs/fairness.md).
--
-- beacon is a public value the admin fixes before the first fan joins; the
-- commitment covers it (commitment = hex(SHA-256(seed || beacon))), so with
-- the default '' older commitments stay valid. sealed_at is set when the
-- first fan joins: from then on the beacon, the seed and the commitment
-- never change. entries are the pre-queue's hashed account ids (32 bytes
-- each, concatenated) in join order, and numbered the same hashes in the
-- order they got numbers 1..n; both are written when the pre-queue is
-- drawn at sale open and published with the seed.

-- +goose Up
ALTER TABLE waiting_room_seeds
    ADD COLUMN beacon text NOT NULL DEFAULT '',
    ADD COLUMN sealed_at timestamptz,
    ADD COLUMN entries bytea CHECK (length(entries) % 32 = 0),
    ADD COLUMN numbered bytea CHECK (length(numbered) = length(entries));

-- +goose Down
ALTER TABLE waiting_room_seeds
    DROP COLUMN numbered,
    DROP COLUMN entries,
    DROP COLUMN sealed_at,
    DROP COLUMN beacon;
