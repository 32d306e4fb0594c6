-- The core schema: accounts, venues, events, per-event seats, holds, the
-- per-(account, event) seat counter and the outbox of durable jobs.
-- Postgres is the source of truth for every seat; see docs/architecture.md,
-- "The invariants".

-- +goose Up
CREATE TABLE accounts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL,
    name          text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'fan' CHECK (role IN ('fan', 'admin', 'scanner')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));

-- Sessions store only a SHA-256 of the random token: a stolen table does not
-- sign anyone in, and checking a token costs one hash, not a password hash.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_account_idx ON sessions (account_id);

CREATE TABLE venues (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    layout     jsonb NOT NULL,
    capacity   integer NOT NULL CHECK (capacity > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- status is the lifecycle an admin or a job moves; paused is orthogonal so a
-- pause can be lifted without remembering what it interrupted.
CREATE TABLE events (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue_id              bigint NOT NULL REFERENCES venues,
    name                  text NOT NULL,
    seed_key              text UNIQUE,
    event_date            timestamptz NOT NULL,
    sale_opens            timestamptz NOT NULL,
    status                text NOT NULL DEFAULT 'upcoming'
                          CHECK (status IN ('upcoming', 'on_sale', 'sold_out', 'cancelled')),
    paused                boolean NOT NULL DEFAULT false,
    currency              text NOT NULL DEFAULT 'usd',
    capacity              integer NOT NULL,
    max_seats_per_account integer NOT NULL DEFAULT 8 CHECK (max_seats_per_account BETWEEN 1 AND 8),
    reserve_share         numeric(4, 3) NOT NULL DEFAULT 0 CHECK (reserve_share BETWEEN 0 AND 1),
    waiting_room          jsonb NOT NULL DEFAULT '{}',
    created_at            timestamptz NOT NULL DEFAULT now()
);

-- Sections are copied from the venue layout per event, like seats, so an
-- event's map never changes under it.
CREATE TABLE event_sections (
    event_id bigint NOT NULL REFERENCES events ON DELETE CASCADE,
    id       text NOT NULL,
    name     text NOT NULL,
    tier     text NOT NULL,
    rank     integer NOT NULL,
    PRIMARY KEY (event_id, id)
);

-- One row a seat of an event. idx is the dense index (0..capacity-1) the
-- availability snapshot and diffs use. version grows on every transition and
-- fences late writers: a write names the hold id and the versions it saw.
CREATE TABLE seats (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id          bigint NOT NULL REFERENCES events ON DELETE CASCADE,
    idx               integer NOT NULL,
    section           text NOT NULL,
    row_label         text NOT NULL,
    number            integer NOT NULL,
    x                 real NOT NULL,
    y                 real NOT NULL,
    seat_type         text NOT NULL CHECK (seat_type IN ('standard', 'vip', 'accessible')),
    rank              integer NOT NULL,
    price_cents       bigint NOT NULL CHECK (price_cents >= 0),
    status            text NOT NULL DEFAULT 'available'
                      CHECK (status IN ('available', 'held', 'sold', 'reserved')),
    version           bigint NOT NULL DEFAULT 1,
    hold_id           uuid,
    holder_account_id bigint REFERENCES accounts,
    reserved_reason   text,
    UNIQUE (event_id, idx),
    UNIQUE (event_id, section, row_label, number),
    CHECK (status <> 'held' OR (hold_id IS NOT NULL AND holder_account_id IS NOT NULL)),
    CHECK (status <> 'reserved' OR reserved_reason IS NOT NULL)
) WITH (fillfactor = 85);
-- No index covers a column that a transition changes (status, version,
-- hold_id, holder_account_id), and fillfactor leaves room on each page, so
-- every hold, release and sale is a HOT update that writes no index entry:
-- the sale's write path stays as cheap as a bare conditional UPDATE. Seats are
-- found by id (from the request or the hold's seat_ids) or by event.

-- A hold is 1-8 seats of one event for one account. seat_ids and
-- seat_versions are the fence: the versions the seats got when held. The
-- sweeper's index is the partial one on live holds by expires_at below; the
-- seats themselves carry no expiry (that would be a second clock to keep).
--
-- holds and account_event_seats have no foreign key to events on purpose:
-- an FK check takes a KEY SHARE lock on the referenced row, so every hold
-- would write the one events row of the sale (a multixact hot spot) — the
-- per-event lock this design exists to avoid. Event ids come from the event
-- cache, which only knows events that exist, and events are never deleted.
CREATE TABLE holds (
    id               uuid PRIMARY KEY,
    event_id         bigint NOT NULL,
    account_id       bigint NOT NULL REFERENCES accounts,
    status           text NOT NULL
                     CHECK (status IN ('active', 'payment_pending', 'converted', 'released', 'expired')),
    seat_ids         bigint[] NOT NULL,
    seat_versions    bigint[] NOT NULL,
    total_cents      bigint NOT NULL,
    currency         text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    payment_deadline timestamptz,
    ended_at         timestamptz,
    CHECK (cardinality(seat_ids) BETWEEN 1 AND 8 AND cardinality(seat_ids) = cardinality(seat_versions))
);
-- The sweeper's index: only live holds, by the time they fall due.
CREATE INDEX holds_due_idx ON holds (expires_at) WHERE status = 'active';
CREATE INDEX holds_payment_due_idx ON holds (payment_deadline) WHERE status = 'payment_pending';
CREATE INDEX holds_account_idx ON holds (account_id, created_at DESC);

-- Seats held + sold per (account, event), kept by a conditional update in the
-- same transaction as the seats: the per-account cap without counting rows.
CREATE TABLE account_event_seats (
    account_id bigint NOT NULL REFERENCES accounts,
    event_id   bigint NOT NULL,
    seats      integer NOT NULL DEFAULT 0 CHECK (seats >= 0),
    PRIMARY KEY (account_id, event_id)
);

-- The outbox: durable side effects written in the same transaction as the
-- state change and worked by FOR UPDATE SKIP LOCKED workers. dedupe_key makes
-- enqueueing idempotent.
CREATE TABLE jobs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL,
    dedupe_key text UNIQUE,
    payload    jsonb NOT NULL DEFAULT '{}',
    run_at     timestamptz NOT NULL DEFAULT now(),
    attempts   integer NOT NULL DEFAULT 0,
    last_error text,
    done_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE done_at IS NULL;

-- +goose Down
DROP TABLE jobs;
DROP TABLE account_event_seats;
DROP TABLE holds;
DROP TABLE seats;
DROP TABLE event_sections;
DROP TABLE events;
DROP TABLE venues;
DROP TABLE sessions;
DROP TABLE accounts;
