-- The hold statement (seatmap/hold.go, holdSQL) is the write every winner
-- of a sale makes; `make bench` measures it. Two foreign keys and an index
-- on its path cost about an eighth of its Postgres CPU and nothing uses
-- them:
--
--   - seats.holder_account_id and holds.account_id → accounts: each check
--     is a KEY SHARE lock on the fan's account row (a tuple lock written
--     to the WAL), three per 2-seat hold. The ids come from the signed-in
--     session and accounts are never deleted, the same reasoning as for
--     the missing foreign keys to events (00001_core.sql);
--   - holds_account_idx: no query reads holds by account without the
--     hold's id (the primary key), so every hold paid an index insert
--     for nothing.
--
-- Orders, tickets and payments keep their foreign keys to accounts: they
-- are written once per purchase, not on every hold.

-- +goose Up
ALTER TABLE seats DROP CONSTRAINT seats_holder_account_id_fkey;
ALTER TABLE holds DROP CONSTRAINT holds_account_id_fkey;
DROP INDEX holds_account_idx;

-- +goose Down
CREATE INDEX holds_account_idx ON holds (account_id, created_at DESC);
ALTER TABLE holds ADD CONSTRAINT holds_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts;
ALTER TABLE seats ADD CONSTRAINT seats_holder_account_id_fkey FOREIGN KEY (holder_account_id) REFERENCES accounts;
