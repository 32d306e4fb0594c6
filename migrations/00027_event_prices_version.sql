-- The event wizard: prices can change until the sale opens (issue 16).
--
-- events.prices_version counts the reprices of an event. A node keeps an
-- event's seat map (with its prices) in memory; while the prices can still
-- change it asks for this number every few seconds, one row read, and
-- reloads the map only when it moved.

-- +goose Up
ALTER TABLE events ADD COLUMN prices_version integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE events DROP COLUMN prices_version;
