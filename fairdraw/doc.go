// Package fairdraw owns the verifiable draw: turning a secret seed, a public
// beacon and a list of hashed ids (in the order they arrived) into an order
// that anyone can recompute once the seed is revealed (docs/fairness.md).
//
// The waiting room uses it to number its pre-queue at sale open, and a
// lottery among registered fans can use it the same way: commit to a seed
// (Commitment) before the entries are known, draw (Draw) once they are,
// then publish a Proof that Verify recomputes. It depends on the standard
// library only, so the verifier command and any outside tool can import it
// without the server's stores.
//
// Everything here is a pure function of its inputs and safe for concurrent
// use.
package fairdraw
