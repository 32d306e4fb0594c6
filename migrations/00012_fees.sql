-- All-in prices and price types (docs/money.md):
--
--   - events carry their fee settings (seatmap.Fees: service fee percent
--     and fixed, facility fee, tax rate included or added) and the price
--     types they offer (adult, child, ...), both as JSON the seatmap
--     package validates;
--   - a hold being paid fixes its price lines (seat, price type, the
--     breakdown) when the payment starts, so what is charged and what the
--     order stores are the same numbers;
--   - each ticket stores its breakdown and price type. Tickets sold before
--     this migration are backfilled: face = what was paid for them (the
--     seat's price, or the listing's on a resale), no fees, no tax;
--   - a cancelled event says whether its refunds return the fees, and each
--     refund row records the fees it kept back.

-- +goose Up
ALTER TABLE events
    ADD COLUMN fees        jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN price_types jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN refund_fees boolean NOT NULL DEFAULT true;

ALTER TABLE holds ADD COLUMN price_lines jsonb;

ALTER TABLE tickets
    ADD COLUMN price_type         text NOT NULL DEFAULT 'standard',
    ADD COLUMN face_cents         bigint NOT NULL DEFAULT 0 CHECK (face_cents >= 0),
    ADD COLUMN service_fee_cents  bigint NOT NULL DEFAULT 0 CHECK (service_fee_cents >= 0),
    ADD COLUMN facility_fee_cents bigint NOT NULL DEFAULT 0 CHECK (facility_fee_cents >= 0),
    ADD COLUMN tax_cents          bigint NOT NULL DEFAULT 0 CHECK (tax_cents >= 0),
    ADD COLUMN tax_included       boolean NOT NULL DEFAULT false,
    ADD COLUMN total_cents        bigint NOT NULL DEFAULT 0 CHECK (total_cents >= 0);

UPDATE tickets t SET face_cents = coalesce(l.price_cents, s.price_cents), total_cents = coalesce(l.price_cents, s.price_cents)
FROM orders o JOIN holds h ON h.id = o.hold_id LEFT JOIN listings l ON l.id = h.listing_id, seats s
WHERE o.id = t.order_id AND s.id = t.seat_id;

ALTER TABLE refunds ADD COLUMN kept_fee_cents bigint NOT NULL DEFAULT 0 CHECK (kept_fee_cents >= 0);

-- +goose Down
ALTER TABLE refunds DROP COLUMN kept_fee_cents;
ALTER TABLE tickets
    DROP COLUMN price_type, DROP COLUMN face_cents, DROP COLUMN service_fee_cents, DROP COLUMN facility_fee_cents,
    DROP COLUMN tax_cents, DROP COLUMN tax_included, DROP COLUMN total_cents;
ALTER TABLE holds DROP COLUMN price_lines;
ALTER TABLE events DROP COLUMN fees, DROP COLUMN price_types, DROP COLUMN refund_fees;
