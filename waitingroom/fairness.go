package waitingroom

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/fairdraw"
	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// The pre-queue is numbered at sale open by fairdraw.Draw over the fans'
// proof hashes in join order, with the event's seed and beacon; the proof
// (GET /api/events/{event}/queue/proof) lets anyone recompute it
// (docs/fairness.md).

// Errors of the fairness proof.
var (
	ErrBeaconFixed = apperr.E(apperr.Conflict, "beacon_fixed",
		"the beacon is fixed once the first fan has joined the queue")
	ErrProofUnavailable = apperr.E(apperr.Conflict, "proof_unavailable",
		"this queue was opened before its entries were kept: only the seed can be checked")
)

// Fairness is the body of GET /api/events/{event}/queue/fairness, the short
// form of QueueProof.
type Fairness struct {
	// SeedCommitment is hex(SHA-256(seed || beacon)).
	SeedCommitment string `json:"seed_commitment"`
	// Seed is the hex seed, revealed once the pre-queue was drawn.
	Seed string `json:"seed,omitempty"`
	// OpenedAt is when the pre-queue was drawn; PrequeueSize how many
	// fans it held.
	OpenedAt     *time.Time `json:"opened_at,omitempty"`
	PrequeueSize *int       `json:"prequeue_size,omitempty"`
	// Algorithm names the draw (fairdraw.Algorithm).
	Algorithm string `json:"algorithm"`
}

// QueueProof is the body of GET /api/events/{event}/queue/proof.
type QueueProof struct {
	EventID string `json:"event_id"`
	fairdraw.Proof
}

// seedRow is an event's row of waiting_room_seeds.
type seedRow struct {
	seed               [32]byte
	beacon, commitment string
	committedAt        time.Time
	openedAt           *time.Time
	prequeueSize       *int
	entries, numbered  []byte
}

// commitment makes sure the event has a seed (creating one on first use)
// and returns its row.
func (s *Service) commitment(ctx context.Context, eventID int64) (seedRow, error) {
	seed, err := newSeed()
	if err != nil {
		return seedRow{}, err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO waiting_room_seeds (event_id, seed, commitment) VALUES ($1, $2, $3)
		ON CONFLICT (event_id) DO NOTHING`, eventID, seed[:], fairdraw.Commitment(seed, ""))
	if err != nil {
		return seedRow{}, fmt.Errorf("waitingroom: commit seed of event %d: %w", eventID, err)
	}
	return s.readSeed(ctx, s.db, eventID, false)
}

func newSeed() ([32]byte, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return seed, fmt.Errorf("waitingroom: seed: %w", err)
	}
	return seed, nil
}

// readSeed reads an event's seed row; withProof reads the entries too.
func (s *Service) readSeed(ctx context.Context, q pg.Querier, eventID int64, withProof bool) (seedRow, error) {
	var r seedRow
	var raw []byte
	proof := "NULL, NULL"
	if withProof {
		proof = "entries, numbered"
	}
	err := q.QueryRow(ctx, `SELECT seed, beacon, commitment, committed_at, opened_at, prequeue_size, `+proof+`
		FROM waiting_room_seeds WHERE event_id = $1`, eventID).
		Scan(&raw, &r.beacon, &r.commitment, &r.committedAt, &r.openedAt, &r.prequeueSize, &r.entries, &r.numbered)
	if err != nil {
		return seedRow{}, fmt.Errorf("waitingroom: read seed of event %d: %w", eventID, err)
	}
	copy(r.seed[:], raw)
	return r, nil
}

// Fairness returns the seed commitment of an event whose room is on, and the
// seed once the pre-queue was drawn.
func (s *Service) Fairness(ctx context.Context, eventID int64) (Fairness, error) {
	r, err := s.room(ctx, eventID)
	if err != nil {
		return Fairness{}, err
	}
	if !r.Enabled {
		return Fairness{}, ErrRoomOff
	}
	row, err := s.commitment(ctx, eventID)
	if err != nil {
		return Fairness{}, err
	}
	f := Fairness{SeedCommitment: row.commitment, OpenedAt: row.openedAt, PrequeueSize: row.prequeueSize,
		Algorithm: fairdraw.Algorithm}
	if row.openedAt != nil {
		f.Seed = hex.EncodeToString(row.seed[:])
	}
	return f, nil
}

// ProofHash is the account's entry in the event's proof: its id hidden
// behind an HMAC keyed from SECRET_KEY, so the published entries leak no
// account id; the fan's own queue status shows it.
func (s *Service) ProofHash(eventID, accountID int64) fairdraw.Entry {
	return fairdraw.HashID(s.proofKey, "event:"+strconv.FormatInt(eventID, 10), accountID)
}

// Proof returns what anyone needs to recompute the pre-queue's order:
// before the sale opens the commitment and the beacon, after it also the
// seed, the entries in join order and the entries in number order. A room
// that was switched off after it opened keeps its proof.
func (s *Service) Proof(ctx context.Context, eventID int64) (QueueProof, error) {
	r, err := s.room(ctx, eventID)
	if err != nil {
		return QueueProof{}, err
	}
	row, err := s.readSeed(ctx, s.db, eventID, true)
	if errors.Is(err, pgx.ErrNoRows) {
		if !r.Enabled {
			return QueueProof{}, ErrRoomOff
		}
		if _, err = s.commitment(ctx, eventID); err == nil {
			row, err = s.readSeed(ctx, s.db, eventID, true)
		}
	}
	if err != nil {
		return QueueProof{}, err
	}
	p := QueueProof{EventID: strconv.FormatInt(eventID, 10), Proof: fairdraw.Proof{
		Algorithm: fairdraw.Algorithm, SeedCommitment: row.commitment, Beacon: row.beacon,
		CommittedAt: row.committedAt.UTC(), DrawnAt: row.openedAt,
	}}
	if row.openedAt == nil {
		return p, nil
	}
	if row.entries == nil {
		return QueueProof{}, ErrProofUnavailable
	}
	p.Seed = hex.EncodeToString(row.seed[:])
	p.Entries, p.Order = hexEntries(row.entries), hexEntries(row.numbered)
	return p, nil
}

// hexEntries splits concatenated 32-byte entries into hex strings (an
// empty pre-queue gives an empty, non-nil list).
func hexEntries(b []byte) []string {
	out := make([]string, 0, len(b)/32)
	for i := 0; i+32 <= len(b); i += 32 {
		out = append(out, hex.EncodeToString(b[i:i+32]))
	}
	return out
}

// SetBeacon fixes the event's public beacon (for example a future lottery
// draw or a public randomness round announced in advance) and commits to a
// fresh seed covering it. It is refused with ErrBeaconFixed once a fan has
// joined: from then on the commitment must never change.
func (s *Service) SetBeacon(ctx context.Context, eventID int64, beacon string) (QueueProof, error) {
	if err := validBeacon(beacon); err != nil {
		return QueueProof{}, err
	}
	if _, err := s.room(ctx, eventID); err != nil {
		return QueueProof{}, err
	}
	if _, err := s.commitment(ctx, eventID); err != nil {
		return QueueProof{}, err
	}
	seed, err := newSeed()
	if err != nil {
		return QueueProof{}, err
	}
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var sealed bool
		err := tx.QueryRow(ctx, `SELECT sealed_at IS NOT NULL OR opened_at IS NOT NULL
			FROM waiting_room_seeds WHERE event_id = $1 FOR UPDATE`, eventID).Scan(&sealed)
		if err != nil {
			return fmt.Errorf("waitingroom: lock seed of event %d: %w", eventID, err)
		}
		if sealed {
			return ErrBeaconFixed
		}
		_, err = tx.Exec(ctx, `UPDATE waiting_room_seeds SET seed = $2, beacon = $3, commitment = $4, committed_at = now()
			WHERE event_id = $1`, eventID, seed[:], beacon, fairdraw.Commitment(seed, beacon))
		if err != nil {
			return fmt.Errorf("waitingroom: store beacon of event %d: %w", eventID, err)
		}
		return nil
	})
	if err != nil {
		return QueueProof{}, err
	}
	return s.Proof(ctx, eventID)
}

// validBeacon refuses a beacon that is too long or not printable text.
func validBeacon(b string) error {
	bad := ""
	switch {
	case len(b) > fairdraw.MaxBeaconLen:
		bad = fmt.Sprintf("at most %d bytes", fairdraw.MaxBeaconLen)
	case !utf8.ValidString(b):
		bad = "must be UTF-8 text"
	default:
		for _, r := range b {
			if !unicode.IsPrint(r) {
				bad = "must be printable text (no control characters or line breaks)"
				break
			}
		}
	}
	if bad != "" {
		return apperr.E(apperr.Invalid, "validation_failed", "some fields are invalid").
			With("fields", map[string]string{"beacon": bad})
	}
	return nil
}

// seal fixes the event's commitment before a fan's first join: SetBeacon
// refuses from then on. Each node remembers the events it sealed, so a
// join costs the two statements once per event and node.
func (s *Service) seal(ctx context.Context, eventID int64) error {
	s.mu.Lock()
	done := s.sealed[eventID]
	s.mu.Unlock()
	if done {
		return nil
	}
	// The first burst of joins on a node seals once, not once per join.
	_, err, _ := s.flight.Do("seal:"+strconv.FormatInt(eventID, 10), func() (any, error) {
		if _, err := s.commitment(ctx, eventID); err != nil {
			return nil, err
		}
		_, err := s.db.Exec(ctx, `UPDATE waiting_room_seeds SET sealed_at = now() WHERE event_id = $1 AND sealed_at IS NULL`, eventID)
		if err != nil {
			return nil, fmt.Errorf("waitingroom: seal the commitment of event %d: %w", eventID, err)
		}
		s.mu.Lock()
		s.sealed[eventID] = true
		s.mu.Unlock()
		return nil, nil
	})
	return err
}
