// metrics.js: the scenarios' custom metrics. k6 accepts a metric only
// while the script's modules evaluate (the init context), so they are all
// declared here, at module scope, and only added to from VU code.
import { Counter } from 'k6/metrics';

// orders: fans whose payment made an order.
export const orders = new Counter('orders');
// declines: fans paying with the declining test card (a 200 "declined").
export const declines = new Counter('declines');
// holdConflicts: 409s on a hold (another fan was faster); the fan retries.
export const holdConflicts = new Counter('hold_conflicts');
// holdsLost: fans who got no seat after every attempt (normal near the sell-out).
export const holdsLost = new Counter('holds_lost');
// fanErrors: a step failed in a way a fan should not see; tags step, status.
export const fanErrors = new Counter('fan_errors');
// seatFrames: seat-map frames (diffs, resyncs) a watcher received.
export const seatFrames = new Counter('seat_frames');
