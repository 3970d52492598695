package message

// MaxHops is how many Received fields a message may carry before it is taken for a mail loop. RFC 5321 section
// 6.3 calls counting Received fields against a large limit, such as 100, reasonable: a loop between two servers
// adds a line or two per round and is stopped within seconds, while real mail crosses far fewer servers.
const MaxHops = 100

// CountHops returns the number of Received fields in the top-level header of raw.
func CountHops(raw []byte) int { return len(FieldValues(raw, "Received")) }
