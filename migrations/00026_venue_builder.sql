-- The venue builder (issue 16).
--
-- venues.design is the builder's description of a venue (sections as rows ×
-- seats with a curve and a row label scheme, seat type ranges, ga areas, the
-- stage) from which its layout was generated; NULL for a venue made from a
-- preset or an uploaded layout. The layout stays what events copy.
--
-- Seats may now be companion seats (beside a wheelchair space) or have a
-- restricted view.

-- +goose Up
ALTER TABLE venues ADD COLUMN design jsonb;
ALTER TABLE seats DROP CONSTRAINT seats_seat_type_check,
    ADD CONSTRAINT seats_seat_type_check
        CHECK (seat_type IN ('standard', 'vip', 'accessible', 'companion', 'restricted_view'));

-- +goose Down
ALTER TABLE seats DROP CONSTRAINT seats_seat_type_check,
    ADD CONSTRAINT seats_seat_type_check CHECK (seat_type IN ('standard', 'vip', 'accessible'));
ALTER TABLE venues DROP COLUMN design;
