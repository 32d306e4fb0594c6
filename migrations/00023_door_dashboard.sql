-- The door and the on-sale dashboard (issue 16).
--
-- tickets by (event_id, status): the admin's check-in counts per entrance
-- and the tickets that still admit read one event's tickets, not the table.
--
-- payments by (event_id, created_at): the dashboard's payment failures of
-- the last minutes read one event's recent payments once a second while an
-- admin watches the sale. A payment row is written once per checkout, so
-- the index costs the hold path nothing.

-- +goose Up
CREATE INDEX tickets_event_status_idx ON tickets (event_id, status);
CREATE INDEX payments_event_recent_idx ON payments (event_id, created_at);

-- +goose Down
DROP INDEX payments_event_recent_idx;
DROP INDEX tickets_event_status_idx;
