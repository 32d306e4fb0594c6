-- Accessible seating that fans can book (seatmap/accessible.go).
--
-- Wheelchair spaces held back at event creation stay 'reserved' with
-- reserved_reason 'accessibility'; a best-available request that asks for
-- accessible seats may hold them, and the seat keeps its reason while held
-- or sold, so a hold that ends puts it back among the held-back seats, not
-- on general sale. Releasing the accessible hold-back clears the reason.
--
--   - holds.accessible: how many accessible seats the fan asked for
--     (self-declared; 0 for every other hold). It records that the hold
--     was an accessible request.
--   - events.accessible_release_at: when the unclaimed accessible seats go
--     (or went) on general sale; NULL while nothing is scheduled. A
--     scheduled release job runs only if this still names its time, so
--     rescheduling or releasing at once makes older jobs no-ops.

-- +goose Up
ALTER TABLE holds ADD COLUMN accessible smallint NOT NULL DEFAULT 0,
    ADD CONSTRAINT holds_accessible_check CHECK (accessible BETWEEN 0 AND cardinality(seat_ids));
ALTER TABLE events ADD COLUMN accessible_release_at timestamptz;

-- +goose Down
ALTER TABLE events DROP COLUMN accessible_release_at;
ALTER TABLE holds DROP COLUMN accessible;
