package imap

import (
	"cmp"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// THREAD (RFC 5256 section 3): ORDEREDSUBJECT and REFERENCES over the same sort records as SORT (sort.go), with
// its collation for base subjects.

// ThreadAlgorithms implements imapserver.SessionThread.
func (s *session) ThreadAlgorithms() []imap.ThreadAlgorithm {
	return []imap.ThreadAlgorithm{imap.ThreadOrderedSubject, imap.ThreadReferences}
}

// Thread implements imapserver.SessionThread.
func (s *session) Thread(kind imapserver.NumKind, alg imap.ThreadAlgorithm, search *imap.SearchCriteria) ([]imap.ThreadData, error) {
	msgs, err := s.sortMsgs(search)
	if err != nil {
		return nil, err
	}
	var roots []*threadNode
	if alg == imap.ThreadOrderedSubject {
		roots = threadOrderedSubject(msgs)
	} else {
		roots = threadReferences(msgs)
	}
	out := make([]imap.ThreadData, len(roots))
	for i, r := range roots {
		out[i] = r.data(kind)
	}
	return out, nil
}

// threadNode is a message in a thread tree, or a dummy (msg nil) standing for a message that is referred to but
// not in the set.
type threadNode struct {
	msg      *sortMsg
	parent   *threadNode
	children []*threadNode
}

// first is the message a node sorts and is named by: its own, or a dummy's first child's (RFC 5256 section 3).
func (n *threadNode) first() *sortMsg {
	for n.msg == nil {
		if len(n.children) == 0 {
			return nil
		}
		n = n.children[0]
	}
	return n.msg
}

// compareThreadNodes orders siblings by sent date, then by sequence number (RFC 5256 section 3).
func compareThreadNodes(a, b *threadNode) int {
	ma, mb := a.first(), b.first()
	if ma == nil || mb == nil {
		return cmp.Compare(boolRank(ma != nil), boolRank(mb != nil))
	}
	if r := ma.sent.Compare(mb.sent); r != 0 {
		return r
	}
	return cmp.Compare(ma.ref.seq, mb.ref.seq)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// data turns a tree into the THREAD response's form: the chain of only children, then the sub-threads.
func (n *threadNode) data(kind imapserver.NumKind) imap.ThreadData {
	var d imap.ThreadData
	if n.msg != nil {
		d.Chain = append(d.Chain, n.msg.num(kind))
		for len(n.children) == 1 {
			n = n.children[0]
			d.Chain = append(d.Chain, n.msg.num(kind))
		}
	}
	for _, c := range n.children {
		d.SubThreads = append(d.SubThreads, c.data(kind))
	}
	return d
}

// addChild links child under parent.
func (parent *threadNode) addChild(child *threadNode) {
	child.parent = parent
	parent.children = append(parent.children, child)
}

// unlink removes n from its parent's children.
func (n *threadNode) unlink() {
	if n.parent == nil {
		return
	}
	p := n.parent
	p.children = slices.DeleteFunc(p.children, func(c *threadNode) bool { return c == n })
	n.parent = nil
}

// isAncestorOf says whether n is d or one of d's ancestors. A node without children is at once (most nodes when
// they are linked: a long reply chain would otherwise cost its depth for every message).
func (n *threadNode) isAncestorOf(d *threadNode) bool {
	if len(n.children) == 0 {
		return n == d
	}
	for ; d != nil; d = d.parent {
		if d == n {
			return true
		}
	}
	return false
}

// sortTree sorts each set of siblings under nodes, the deepest first, so that a dummy sorts by its first child.
func sortTree(nodes []*threadNode) {
	for _, n := range nodes {
		sortTree(n.children)
	}
	slices.SortStableFunc(nodes, compareThreadNodes)
}

// threadOrderedSubject groups messages by base subject, each group under its earliest message, and orders the
// groups by their first message's sent date (RFC 5256 section 3, ORDEREDSUBJECT).
func threadOrderedSubject(msgs []*sortMsg) []*threadNode {
	sorted := slices.Clone(msgs)
	slices.SortFunc(sorted, func(a, b *sortMsg) int {
		if r := compareCollated(a.rec.Subject, b.rec.Subject); r != 0 {
			return r
		}
		if r := a.sent.Compare(b.sent); r != 0 {
			return r
		}
		return cmp.Compare(a.ref.seq, b.ref.seq)
	})
	var roots []*threadNode
	for i, m := range sorted {
		n := &threadNode{msg: m}
		if i > 0 && compareCollated(m.rec.Subject, sorted[i-1].rec.Subject) == 0 {
			roots[len(roots)-1].addChild(n)
			continue
		}
		roots = append(roots, n)
	}
	slices.SortStableFunc(roots, compareThreadNodes)
	return roots
}

// threadReferences is RFC 5256's REFERENCES algorithm (after Jamie Zawinski's): messages linked to their
// parents through Message-ID and References (or In-Reply-To), dummies for parents not in the set pruned, roots
// with the same base subject gathered, siblings ordered by sent date.
func threadReferences(msgs []*sortMsg) []*threadNode {
	roots := linkByReferences(msgs)
	roots = pruneDummies(roots, true)
	sortTree(roots)
	roots = gatherBySubject(roots)
	sortTree(roots)
	return roots
}

// linkByReferences is step 1 and 2: a node per message id, each message's References chained parent to child
// where that adds no loop, the message under its last reference; it returns the nodes without a parent.
func linkByReferences(msgs []*sortMsg) []*threadNode {
	byID := make(map[string]*threadNode, len(msgs))
	nodes := make([]*threadNode, 0, len(msgs)) // every node, in creation order
	slab := make([]threadNode, 0, len(msgs))   // about one node a message: one allocation, not one each
	newNode := func() *threadNode {
		if len(slab) == cap(slab) {
			return &threadNode{}
		}
		slab = slab[:len(slab)+1]
		return &slab[len(slab)-1]
	}
	nodeOf := func(id string) *threadNode {
		n := byID[id]
		if n == nil {
			n = newNode()
			byID[id] = n
			nodes = append(nodes, n)
		}
		return n
	}
	for _, m := range msgs {
		var own *threadNode
		// A Message-ID seen on an earlier message (by sequence number) counts as none (step 1.A).
		if id := m.rec.MessageID; id != "" && (byID[id] == nil || byID[id].msg == nil) {
			own = nodeOf(id)
		} else {
			own = newNode()
			nodes = append(nodes, own)
		}
		own.msg = m
		var prev *threadNode
		for _, id := range m.rec.References {
			n := nodeOf(id)
			if prev != nil && n.parent == nil && !n.isAncestorOf(prev) {
				prev.addChild(n)
			}
			prev = n
		}
		// The message's own References say who its parent is, over what others' References implied (step 1.B).
		own.unlink()
		if prev != nil && !own.isAncestorOf(prev) {
			prev.addChild(own)
		}
	}
	var roots []*threadNode
	for _, n := range nodes {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	return roots
}

// pruneDummies is step 4: a dummy without children goes; a dummy with children gives them its place, except at
// the root when there are more than one of them. A list without such dummies (most) is kept as it is.
func pruneDummies(nodes []*threadNode, atRoot bool) []*threadNode {
	var out []*threadNode // nil until the first dummy that goes
	for i, n := range nodes {
		n.children = pruneDummies(n.children, false)
		if n.msg != nil || (atRoot && len(n.children) > 1) {
			if out != nil {
				out = append(out, n)
			}
			continue
		}
		if out == nil {
			out = append(make([]*threadNode, 0, len(nodes)+len(n.children)), nodes[:i]...)
		}
		for _, c := range n.children {
			c.parent = n.parent
		}
		out = append(out, n.children...)
	}
	if out == nil {
		return nodes
	}
	return out
}

// gatherBySubject is step 5: roots whose (first) message has the same non-empty base subject join one thread.
func gatherBySubject(roots []*threadNode) []*threadNode {
	keys := make([]string, len(roots)) // by root; "" for none
	table := map[string]*threadNode{}
	for i, r := range roots {
		m := r.first()
		if m == nil || m.rec.Subject.Text == "" {
			continue
		}
		keys[i] = subjectKey(m)
		old := table[keys[i]]
		// Prefer a dummy, then a message that is not a reply (step 5.B).
		if old == nil || (r.msg == nil && old.msg != nil) || (old.msg != nil && old.msg.rec.IsReply && r.msg != nil && !m.rec.IsReply) {
			table[keys[i]] = r
		}
	}
	var out []*threadNode
	replaced := map[*threadNode]*threadNode{} // a table node turned into a child of a new dummy → that dummy
	for i, r := range roots {
		key := keys[i]
		if key == "" {
			out = append(out, r)
			continue
		}
		t := table[key]
		if t == r {
			out = append(out, r)
			continue
		}
		if d := mergeSameSubject(t, r); d != nil {
			replaced[t] = d
			table[key] = d
		}
	}
	for i, r := range out {
		if d, ok := replaced[r]; ok {
			out[i] = d
		}
	}
	return out
}

// subjectKey is what gatherBySubject compares base subjects by: equality under SORT's collation.
func subjectKey(m *sortMsg) string {
	return m.rec.Subject.Key + "\x00" + string(asciiUpper(m.rec.Subject.Text))
}

func asciiUpper(s string) []byte {
	b := []byte(s)
	for i := range b {
		b[i] = upperASCII(b[i])
	}
	return b
}

// mergeSameSubject joins root r into t, the table's root for the same subject (step 5.C), and returns the new
// dummy that takes t's place among the roots, if it made one.
func mergeSameSubject(t, r *threadNode) *threadNode {
	switch {
	case t.msg == nil && r.msg == nil:
		for _, c := range r.children {
			t.addChild(c)
		}
		r.children = nil
	case t.msg == nil:
		t.addChild(r)
	case r.msg == nil:
		r.addChild(t) // not reached: the table prefers dummies
		return r
	case !t.msg.rec.IsReply && r.msg.rec.IsReply:
		t.addChild(r)
	default:
		d := &threadNode{}
		d.addChild(t)
		d.addChild(r)
		return d
	}
	return nil
}
