package message

import "bytes"

// lineBlock is the size of the blocks whose line breaks a lineCounter counts ahead.
const lineBlock = 4096

// lineCounter counts the line breaks of ranges of a message in time bounded by the block size, not the range:
// a message/rfc822 part holds the ones nested in it, and counting each of them byte by byte would cost the
// message's size once per level.
type lineCounter struct {
	raw    []byte
	before []int // before[i]: line breaks in raw[:i*lineBlock]; made on first use
}

// count returns the number of '\n' in raw[from:to].
func (c *lineCounter) count(from, to int) int {
	if to-from < 2*lineBlock {
		return bytes.Count(c.raw[from:to], nl)
	}
	if c.before == nil {
		c.before = make([]int, len(c.raw)/lineBlock+1)
		for i := 1; i < len(c.before); i++ {
			c.before[i] = c.before[i-1] + bytes.Count(c.raw[(i-1)*lineBlock:i*lineBlock], nl)
		}
	}
	first, last := (from+lineBlock-1)/lineBlock, to/lineBlock // whole blocks first..last-1
	return bytes.Count(c.raw[from:first*lineBlock], nl) + c.before[last] - c.before[first] +
		bytes.Count(c.raw[last*lineBlock:to], nl)
}
