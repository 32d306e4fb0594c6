-- General-admission areas. A section of kind 'ga' has no numbered seats: its
-- places are seat rows like any other (an empty row label, a number that is
-- only an ordinal), so the gate, the hold check, the sweeper, tickets,
-- transfer and resale treat them exactly as seats. The kind is what tells
-- clients to draw the section as one area with a count left and what the
-- GA hold path checks.

-- +goose Up
-- capacity is the area's declared size, so the invariants can check that
-- its places add up to it (held + sold + free = capacity).
ALTER TABLE event_sections
    ADD COLUMN kind text NOT NULL DEFAULT 'seated' CHECK (kind IN ('seated', 'ga')),
    ADD COLUMN capacity integer CHECK (capacity > 0),
    ADD CONSTRAINT event_sections_ga_capacity CHECK ((kind = 'ga') = (capacity IS NOT NULL));

-- +goose Down
ALTER TABLE event_sections DROP COLUMN capacity, DROP COLUMN kind;
