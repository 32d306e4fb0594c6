package checkout

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Reminders are the mails a fan did not ask for by acting: the day before
// the show (to ticket holders) and a sale opening (to the fans waiting for
// it). Each is a timer job (a future run_at) that fans out one notice per
// recipient; each carries a link that turns reminders off for the account
// (reminder_optouts). Notices about the fan's own tickets (a cancellation,
// a new date, a refund) are not reminders and always go.

// Reminder job kinds.
const (
	// JobDayBefore mails the holders of an event 24 hours before it.
	JobDayBefore = "checkout.reminder_day_before"
	// JobSaleOpening mails the fans waiting for an event's sale.
	JobSaleOpening = "checkout.reminder_sale_opening"
)

// dayBeforeLead is how long before the show the reminder goes.
const dayBeforeLead = 24 * time.Hour

type reminderJob struct {
	EventID int64 `json:"event_id"`
	// At is the event date (day before) the job was set for: a job of a
	// date since moved does nothing, the new date has its own.
	At time.Time `json:"at"`
}

// scheduleDayBefore sets the reminder of the day before date, once per
// event and date. A show less than a day away gets none.
func scheduleDayBefore(ctx context.Context, q pg.Querier, eventID int64, date time.Time) error {
	at := date.Add(-dayBeforeLead)
	if !at.After(time.Now()) {
		return nil
	}
	_, err := jobs.Enqueue(ctx, q, jobs.Job{Kind: JobDayBefore, DedupeKey: fmt.Sprintf("reminder:day-before:%d:%d", eventID, date.Unix()),
		Payload: reminderJob{EventID: eventID, At: date.UTC()}, At: at})
	return err
}

// ScheduleReminders sets a new event's timers: the day before the show
// and, for a sale that opens later, its opening.
func (s *Service) ScheduleReminders(ctx context.Context, eventID int64) error {
	ev, err := readEventFacts(ctx, s.db, eventID, false)
	if err != nil {
		return err
	}
	if err := scheduleDayBefore(ctx, s.db, eventID, ev.date); err != nil {
		return err
	}
	if ev.saleOpens.After(time.Now()) {
		_, err = jobs.Enqueue(ctx, s.db, jobs.Job{Kind: JobSaleOpening, DedupeKey: fmt.Sprintf("reminder:sale-opening:%d:%d", eventID, ev.saleOpens.Unix()),
			Payload: reminderJob{EventID: eventID, At: ev.saleOpens.UTC()}, At: ev.saleOpens})
	}
	return err
}

// RemindSaleOpened mails the fans waiting for an event's sale now: an
// admin opened it. Each fan is mailed once per event, whether the sale
// opened at its time or by hand.
func (s *Service) RemindSaleOpened(ctx context.Context, eventID int64) error {
	_, err := jobs.Enqueue(ctx, s.db, jobs.Job{Kind: JobSaleOpening, DedupeKey: fmt.Sprintf("reminder:sale-opening:%d:opened", eventID),
		Payload: reminderJob{EventID: eventID}})
	return err
}

// saleOpeningRecipients collects the accounts told that an event's sale
// opens: the fans on its waiting list and the registrants of its lottery
// (drawn or not: the rest may try the public sale).
func saleOpeningRecipients(ctx context.Context, q pg.Querier, eventID int64) ([]int64, error) {
	rows, err := q.Query(ctx, `
		SELECT account_id FROM waitlist_entries WHERE event_id = $1 AND status <> 'left'
		UNION
		SELECT account_id FROM registrations WHERE event_id = $1
		ORDER BY account_id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("checkout: sale opening recipients of %d: %w", eventID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("checkout: sale opening recipients of %d: %w", eventID, err)
	}
	return ids, nil
}

// dayBeforeRecipients are the accounts holding a live ticket of the event.
func dayBeforeRecipients(ctx context.Context, q pg.Querier, eventID int64) ([]int64, error) {
	holders, err := eventHolders(ctx, q, eventID)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(holders))
	for id := range holders {
		out = append(out, id)
	}
	return out, nil
}

// sendReminders fans a reminder out to its recipients, minus those who
// turned reminders off, in one transaction; nothing goes for a cancelled
// event, or for a date that moved since the job was set.
func (s *Service) sendReminders(ctx context.Context, kind string, j reminderJob) error {
	return pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		ev, err := readEventFacts(ctx, tx, j.EventID, false)
		if err != nil {
			return err
		}
		if ev.status == seatmap.StatusCancelled {
			return nil
		}
		var recipients []int64
		var subject, body, key string
		switch kind {
		case JobDayBefore:
			if j.At.Unix() != ev.date.Unix() {
				return nil
			}
			recipients, err = dayBeforeRecipients(ctx, tx, j.EventID)
			subject = "Tomorrow: " + oneLine(ev.name)
			body = fmt.Sprintf("A reminder: %s is tomorrow, %s.\n\nYour tickets are in My tickets%s.\n",
				oneLine(ev.name), venueTime(ev.date, ev.timeZone), s.link("/tickets"))
			key = fmt.Sprintf("reminder:day-before:%d:%d", j.EventID, ev.date.Unix())
		default:
			if !j.At.IsZero() && j.At.Unix() != ev.saleOpens.Unix() {
				return nil
			}
			recipients, err = saleOpeningRecipients(ctx, tx, j.EventID)
			subject = "On sale now: " + oneLine(ev.name)
			body = fmt.Sprintf("The sale of %s (%s) is open%s.\n", oneLine(ev.name), venueTime(ev.date, ev.timeZone),
				s.link(fmt.Sprintf("/events/%d", j.EventID)))
			key = fmt.Sprintf("reminder:sale-opening:%d", j.EventID)
		}
		if err != nil {
			return err
		}
		off, err := optedOut(ctx, tx, recipients)
		if err != nil {
			return err
		}
		for _, id := range recipients {
			if off[id] {
				continue
			}
			text := body + "\n--\nYou get this because you hold tickets or asked to hear about this event. No more reminders:\n" +
				s.tokenLink("/unsubscribe", s.noticeToken(purposeUnsubscribe, time.Time{}, id)) + "\n"
			if err := enqueueNotice(ctx, tx, id, fmt.Sprintf("%s:%d", key, id), subject, text); err != nil {
				return err
			}
		}
		return nil
	})
}

func optedOut(ctx context.Context, q pg.Querier, ids []int64) (map[int64]bool, error) {
	rows, err := q.Query(ctx, `SELECT account_id FROM reminder_optouts WHERE account_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("checkout: reminder opt-outs: %w", err)
	}
	off := map[int64]bool{}
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { off[id] = true; return nil }); err != nil {
		return nil, fmt.Errorf("checkout: reminder opt-outs: %w", err)
	}
	return off, nil
}

func (s *Service) registerReminders(r *jobs.Runner) {
	for _, kind := range []string{JobDayBefore, JobSaleOpening} {
		r.Register(kind, func(ctx context.Context, raw json.RawMessage) error {
			var j reminderJob
			if err := json.Unmarshal(raw, &j); err != nil {
				return err
			}
			return s.sendReminders(ctx, kind, j)
		})
	}
}

const purposeUnsubscribe = "unsubscribe"

// Unsubscribe turns reminders off for the account a mailed unsubscribe
// link names. It is idempotent; a link not ours is ErrBadUnsubscribe.
func (s *Service) Unsubscribe(ctx context.Context, token string) error {
	ids, _, ok := s.openNoticeToken(purposeUnsubscribe, token, 1)
	if !ok {
		return ErrBadUnsubscribe
	}
	return s.SetReminders(ctx, ids[0], false)
}

// SetReminders turns an account's reminders on or off.
func (s *Service) SetReminders(ctx context.Context, accountID int64, on bool) error {
	sql := `INSERT INTO reminder_optouts (account_id) SELECT id FROM accounts WHERE id = $1 ON CONFLICT DO NOTHING`
	if on {
		sql = `DELETE FROM reminder_optouts WHERE account_id = $1`
	}
	if _, err := s.db.Exec(ctx, sql, accountID); err != nil {
		return fmt.Errorf("checkout: reminders of %d: %w", accountID, err)
	}
	return nil
}

// RemindersOn reports whether an account gets reminders.
func (s *Service) RemindersOn(ctx context.Context, accountID int64) (bool, error) {
	var off bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reminder_optouts WHERE account_id = $1)`, accountID).Scan(&off); err != nil {
		return false, fmt.Errorf("checkout: reminders of %d: %w", accountID, err)
	}
	return !off, nil
}
