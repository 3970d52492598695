package main

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The unit tree of a generated province: a city (the root), departments under it, wards under each department.
const (
	provinceRoot   = "tinh"
	departments    = 20
	wardsPerDept   = 10
	bigAccountName = "big" // the account that gets the big mailbox, named as in bench-peers
)

// provinceUnit is a unit of the tree with its display name.
type provinceUnit struct{ path, name string }

// provinceUnits returns the tree, parents first.
func provinceUnits() []provinceUnit {
	units := []provinceUnit{{provinceRoot, "Ủy ban nhân dân tỉnh"}}
	for d := 1; d <= departments; d++ {
		dept := fmt.Sprintf("%s/so-%02d", provinceRoot, d)
		units = append(units, provinceUnit{dept, fmt.Sprintf("Sở số %d", d)})
		for w := 1; w <= wardsPerDept; w++ {
			units = append(units, provinceUnit{fmt.Sprintf("%s/phuong-%02d", dept, w), fmt.Sprintf("Phường %d thuộc sở %d", w, d)})
		}
	}
	return units
}

// provinceAccount is one planned account: where it sits and how many messages its INBOX gets.
type provinceAccount struct {
	local    string
	unit     string
	messages int
}

// planProvince places accounts in the tree's units in turn and spreads the messages over them: the big account
// gets big of them, the rest follow a Pareto distribution (shape 1.2), so that most mailboxes are small and a few
// are large, as in a real organisation. The plan depends on its arguments only, so a rerun continues it.
func planProvince(accounts, messages, big int, seed uint64) []provinceAccount {
	units := provinceUnits()
	plan := make([]provinceAccount, accounts)
	big = min(big, messages)
	plan[0] = provinceAccount{local: bigAccountName, unit: units[0].path, messages: big}
	for i := 1; i < accounts; i++ {
		plan[i] = provinceAccount{local: fmt.Sprintf("cb%06d", i), unit: units[i%len(units)].path}
	}
	spreadMessages(plan[1:], messages-big, seed)
	return plan
}

// spreadMessages gives the accounts total messages in proportion to Pareto-distributed weights.
func spreadMessages(plan []provinceAccount, total int, seed uint64) {
	if len(plan) == 0 || total <= 0 {
		return
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	weights := make([]float64, len(plan))
	var sum float64
	for i := range weights {
		weights[i] = math.Pow(1-r.Float64(), -1/1.2)
		sum += weights[i]
	}
	given := 0
	for i := range plan {
		plan[i].messages = int(float64(total) * weights[i] / sum)
		given += plan[i].messages
	}
	for i := 0; given < total; i = (i + 1) % len(plan) { // the rounding's remainder, one each
		plan[i].messages++
		given++
	}
}
