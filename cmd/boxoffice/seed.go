package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// seedDemo creates the demo stadium with its two events, and the demo arena
// with a standing floor and its event, once; later runs find them by name
// and seed key and change nothing.
func seedDemo(ctx context.Context, a *App, opensIn time.Duration, out io.Writer) error {
	london := seatmap.Place{City: "London", TimeZone: "Europe/London"}
	stadium, err := seedVenue(ctx, a, "Demo Stadium", "stadium", london, out)
	if err != nil {
		return err
	}
	arena, err := seedVenue(ctx, a, "Demo Arena", "arena-ga", london, out)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	events := []seatmap.EventSpec{{
		SeedKey: "demo-on-sale",
		Name:    "The Midnight Echoes — Stadium Tour",
		Info: seatmap.EventInfo{Artist: "The Midnight Echoes", Genre: "Synth-pop",
			Description: "The Midnight Echoes bring their stadium tour home for one night.\n\nDoors open two hours before the show. Support acts to be announced."},
		EventDate:   now.AddDate(0, 1, 0),
		SaleOpens:   now.Add(-time.Hour),
		WaitingRoom: json.RawMessage(`{"enabled": false}`),
	}, {
		SeedKey: "demo-waiting-room",
		Name:    "Aurora Lights — One Night Only",
		Info: seatmap.EventInfo{Artist: "Aurora Lights", Genre: "Indie",
			Description: "One night only, and a waiting room keeps the sale fair: arrive early or late, your place is drawn at random."},
		EventDate:   now.AddDate(0, 2, 0),
		SaleOpens:   now.Add(opensIn),
		WaitingRoom: json.RawMessage(`{"enabled": true, "admit_per_minute": 600, "active_limit": 2000}`),
	}, {
		SeedKey:     "demo-standing-floor",
		Name:        "Neon Harbor — Live on the Floor",
		EventDate:   now.AddDate(0, 1, 14),
		SaleOpens:   now.Add(-time.Hour),
		WaitingRoom: json.RawMessage(`{"enabled": false}`),
		VenueID:     arena,
		Prices:      seatmap.DefaultPrices("arena-ga"),
	}}
	for _, spec := range events {
		if spec.VenueID == 0 {
			spec.VenueID = stadium
			spec.Prices = seatmap.DefaultPrices("stadium")
		}
		spec.ReserveShare = 0.1
		id, err := a.Seats.CreateEvent(ctx, spec)
		if err != nil {
			return fmt.Errorf("seed: %s: %w", spec.Name, err)
		}
		// The waiting room's seed is committed (its hash published) at
		// once, before the sale opens.
		if _, err := a.Queue.Fairness(ctx, id); err != nil && !errors.Is(err, waitingroom.ErrRoomOff) {
			return fmt.Errorf("seed: %s: %w", spec.Name, err)
		}
		fmt.Fprintf(out, "event %d: %s\n", id, spec.Name)
	}
	return nil
}

// seedVenue returns the id of the venue called name, creating it from a
// preset in place the first time.
func seedVenue(ctx context.Context, a *App, name, preset string, place seatmap.Place, out io.Writer) (int64, error) {
	var id int64
	err := a.DB.QueryRow(ctx, `SELECT id FROM venues WHERE name = $1 ORDER BY id LIMIT 1`, name).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("seed: find venue %s: %w", name, err)
	}
	layout, err := seatmap.Generate(preset)
	if err != nil {
		return 0, err
	}
	v, err := a.Seats.CreateVenueAt(ctx, name, place, layout)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(out, "venue: %s, %d places\n", name, v.Capacity)
	return v.ID, nil
}

// seedFans creates n fans in chunks, showing progress, and writes their
// tokens for the load driver.
func seedFans(ctx context.Context, a *App, n int, password, path string, out io.Writer) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("seed fans: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	prefix := strconv.FormatInt(time.Now().Unix(), 36)
	const chunk = 10_000
	for done := 0; done < n; {
		k := min(chunk, n-done)
		fans, err := a.Accounts.SeedFans(ctx, prefix+"-"+strconv.Itoa(done), k, password)
		if err != nil {
			return err
		}
		for _, fan := range fans {
			fmt.Fprintf(w, "%s %s\n", fan.Email, fan.Token)
		}
		done += k
		fmt.Fprintf(out, "\rfans: %d/%d (%d%%)", done, n, done*100/n)
	}
	fmt.Fprintf(out, "\nfans: tokens written to %s\n", path)
	if err := w.Flush(); err != nil {
		return fmt.Errorf("seed fans: %w", err)
	}
	return f.Close()
}
