package checkout

import "testing"

func TestSeatLine(t *testing.T) {
	tests := []struct {
		seat TicketSeat
		want string
	}{
		{TicketSeat{Section: "101", Row: "C", Number: 7}, "Section 101, row C, seat 7"},
		{TicketSeat{Section: "FLOOR", Number: 4312}, "Section FLOOR, general admission"},
	}
	for _, tt := range tests {
		if got := seatLine(tt.seat); got != tt.want {
			t.Errorf("seatLine(%+v) = %q, want %q", tt.seat, got, tt.want)
		}
	}
}
