package seatmap_test

import "strconv"

func strconvI(id int64) string { return strconv.FormatInt(id, 10) }
