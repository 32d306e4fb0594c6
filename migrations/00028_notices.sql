-- Notices to fans (issue 16): postponing or moving an event, the refund a
-- ticket holder may choose after it, and the reminders a fan can turn off.
--
-- event_reschedules records every change of an event's time or place: what
-- it was, what it is now, why, and until when a holder may ask for a refund
-- instead of keeping the tickets. The event row keeps only the current
-- date; the latest row here is the current place note.
--
-- reschedule_refunds is the refund choice of one holder after one
-- reschedule, written once all of their tickets were refunded: the mailed
-- link is single-use because a second use finds this row.
--
-- reminder_optouts lists the accounts that asked for no reminders (the day
-- before the show, a sale opening). Notices about their tickets (a
-- cancellation, a reschedule, a refund) still go to them.

-- +goose Up
CREATE TABLE event_reschedules (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     bigint NOT NULL REFERENCES events,
    old_date     timestamptz NOT NULL,
    new_date     timestamptz NOT NULL,
    place        text NOT NULL DEFAULT '',
    reason       text NOT NULL DEFAULT '',
    refund_until timestamptz NOT NULL,
    created_by   bigint REFERENCES accounts,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_reschedules_event_idx ON event_reschedules (event_id, id);

CREATE TABLE reschedule_refunds (
    reschedule_id bigint NOT NULL REFERENCES event_reschedules,
    account_id    bigint NOT NULL REFERENCES accounts,
    tickets       integer NOT NULL,
    amount_cents  bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reschedule_id, account_id)
);

CREATE TABLE reminder_optouts (
    account_id bigint PRIMARY KEY REFERENCES accounts ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE reminder_optouts;
DROP TABLE reschedule_refunds;
DROP TABLE event_reschedules;
