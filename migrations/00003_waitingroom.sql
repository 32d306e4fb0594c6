-- The waiting room's fairness seed per event. The settings (enabled, admit
-- rate, active limit, ...) live in events.waiting_room, which is public; the
-- seed is secret until the sale opens, so it has its own table. commitment is
-- hex(SHA-256(seed)), published from the moment the room is enabled;
-- opened_at is set once the pre-queue was shuffled, after which the seed is
-- revealed. See docs/architecture.md, "The waiting room".

-- +goose Up
CREATE TABLE waiting_room_seeds (
    event_id      bigint PRIMARY KEY REFERENCES events ON DELETE CASCADE,
    seed          bytea NOT NULL CHECK (length(seed) = 32),
    commitment    text NOT NULL,
    committed_at  timestamptz NOT NULL DEFAULT now(),
    opened_at     timestamptz,
    prequeue_size integer
);

-- +goose Down
DROP TABLE waiting_room_seeds;
