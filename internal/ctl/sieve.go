package ctl

import (
	"encoding/json"

	"mailserver/internal/config"
)

// sievePutArgsLimit bounds sieve.put's request: the largest script a configuration may allow
// (sieve.max_script_size) and the JSON that names it. The server's own limit, usually smaller, is the admin
// layer's to enforce with its own message.
const sievePutArgsLimit = int64(16*config.MB) + 64<<10

// sievePutHeader is sieve.put's arguments on the wire: everything but the script, whose bytes follow raw. JSON
// would turn bytes that are not UTF-8 into U+FFFD without a word, and the script must be stored as it was written.
type sievePutHeader struct {
	Address  string `json:"address"`
	Name     string `json:"name"`
	Activate bool   `json:"activate,omitempty"`
}

func splitSievePut(a SievePutArgs) (any, [][]byte) {
	return sievePutHeader{Address: a.Address, Name: a.Name, Activate: a.Activate}, [][]byte{[]byte(a.Script)}
}

func joinSievePut(raw json.RawMessage, body []byte) (SievePutArgs, error) {
	h, err := decodeArgs[sievePutHeader](raw)
	if err != nil {
		return SievePutArgs{}, err
	}
	return SievePutArgs{Address: h.Address, Name: h.Name, Script: string(body), Activate: h.Activate}, nil
}
