package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/waitingroom"
)

// HeaderAdmissionToken carries the waiting room's admission token on holds.
const HeaderAdmissionToken = "X-Admission-Token"

// admitted refuses a hold with 403 not_admitted while the event's waiting
// room is on, unless X-Admission-Token admits this account to this event.
// It costs no round trip (settings are cached per node, the token is a
// signed JWT), so seatmap never needs to know about the waiting room.
// Before the general sale, an account an open presale window let in holds
// within the window (its access kept for createHold, presales.go) and,
// while the room is on, with a token of the window's own room.
func (s *Server) admitted(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	access, err := s.presaleAccess(c, eventID, acct.ID)
	if err != nil {
		return err
	}
	if access != nil {
		c.Locals(localPresale, access)
		room := waitingroom.RoomKey{EventID: eventID, PresaleID: access.ID}
		if err := s.deps.Queue.CheckRoomAdmission(c.UserContext(), room, acct.ID, c.Get(HeaderAdmissionToken)); err != nil {
			return err
		}
		return c.Next()
	}
	if err := s.deps.Queue.CheckAdmission(c.UserContext(), eventID, acct.ID, c.Get(HeaderAdmissionToken)); err != nil {
		return err
	}
	return c.Next()
}

// requestFingerprint hashes the request's stable headers for the velocity
// and fingerprint signals (a weak signal: review, never refusal).
func requestFingerprint(c *fiber.Ctx) string {
	return waitingroom.Fingerprint(c.Get(fiber.HeaderUserAgent), c.Get(fiber.HeaderAcceptLanguage),
		c.Get(fiber.HeaderAcceptEncoding), c.Get("Sec-CH-UA"), c.Get("Sec-CH-UA-Platform"))
}

// recordHold feeds a successful hold to the review signals (holds per
// minute, accounts per fingerprint) off the request path and without a
// round trip of its own: the fingerprint is computed now (Fiber reuses the
// request's memory) and the hold queued; the waiting room writes its queue
// in pipelined batches, so a slow or absent Redis never delays a hold. The
// waiting room logs the holds a full queue (Redis stalled) turned away: the
// signals are only weaker.
func (s *Server) recordHold(c *fiber.Ctx, eventID, accountID int64) {
	s.deps.Queue.NoteHold(eventID, accountID, requestFingerprint(c))
}

// queueChallenge: GET /api/events/:event/queue/challenge.
func (s *Server) queueChallenge(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	ch, err := s.deps.Queue.Challenge(c.UserContext(), eventID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(ch)
}

// joinRequest is the body of POST /api/events/:event/queue.
type joinRequest struct {
	Challenge string `json:"challenge" validate:"required,max=128"`
	Signature string `json:"signature" validate:"required,max=64"`
	Solution  string `json:"solution" validate:"required,max=20"`
}

// joinQueue: POST /api/events/:event/queue → 201 with the fan's place
// (the same place when the account joined before).
func (s *Server) joinQueue(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req joinRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	room, err := s.queueRoom(c, eventID, acct.ID)
	if err != nil {
		return err
	}
	st, err := s.deps.Queue.JoinRoom(c.UserContext(), room, acct.ID,
		waitingroom.Solution{Challenge: req.Challenge, Signature: req.Signature, Solution: req.Solution})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(st)
}

// queueMe: GET /api/events/:event/queue/me; polling it is a heartbeat.
func (s *Server) queueMe(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	acct, _ := currentAccount(c)
	room, err := s.queueRoom(c, eventID, acct.ID)
	if err != nil {
		return err
	}
	st, err := s.deps.Queue.MeRoom(c.UserContext(), room, acct.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(st)
}

// queueFairness: GET /api/events/:event/queue/fairness.
func (s *Server) queueFairness(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	f, err := s.deps.Queue.Fairness(c.UserContext(), eventID)
	if err != nil {
		return err
	}
	return c.JSON(f)
}

// configureQueue: PUT /api/admin/events/:event/queue changes the room's
// settings that the body names and leaves the others as they are (admin
// only): a body with admit_per_minute alone must not switch the room off.
func (s *Server) configureQueue(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	if err := refuseNulls(c.Body()); err != nil {
		return err
	}
	var patch waitingroom.SettingsPatch
	if err := decodeJSON(c.Body(), &patch); err != nil {
		return err
	}
	stored, err := s.deps.Queue.Update(c.UserContext(), eventID, patch)
	if err != nil {
		return err
	}
	s.deps.Seats.ForgetEvent(eventID)
	return c.JSON(stored)
}

// queueProof: GET /api/events/:event/queue/proof, the public fairness proof
// (docs/fairness.md). Once drawn it never changes, so caches may keep it.
func (s *Server) queueProof(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	p, err := s.deps.Queue.Proof(c.UserContext(), eventID)
	if err != nil {
		return err
	}
	if p.Seed != "" {
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	} else {
		c.Set(fiber.HeaderCacheControl, "no-cache")
	}
	return c.JSON(p)
}

// beaconRequest is the body of PUT /api/admin/events/:event/queue/beacon.
type beaconRequest struct {
	Beacon *string `json:"beacon" validate:"required"`
}

// setQueueBeacon: PUT /api/admin/events/:event/queue/beacon fixes the
// public beacon the draw mixes in (admin only), until the first fan joins.
func (s *Server) setQueueBeacon(c *fiber.Ctx) error {
	eventID, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	var req beaconRequest
	if err := s.decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	p, err := s.deps.Queue.SetBeacon(c.UserContext(), eventID, *req.Beacon)
	if err != nil {
		return err
	}
	return c.JSON(p)
}
