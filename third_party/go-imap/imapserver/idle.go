package imapserver

import (
	"fmt"
	"io"
	"runtime/debug"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func (c *Conn) handleIdle(tag string, dec *imapwire.Decoder) error {
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}

	if err := c.writeContReq("idling"); err != nil {
		return err
	}

	if session, ok := c.session.(SessionIdleWake); ok {
		c.startIdle(tag, session)
		return nil
	}

	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				c.server.logger().Printf("panic idling: %v\n%s", v, debug.Stack())
				done <- fmt.Errorf("imapserver: panic idling")
			}
		}()
		w := &UpdateWriter{conn: c, allowExpunge: true}
		done <- c.session.Idle(w, stop)
	}()

	c.setReadTimeout(idleReadTimeout)
	c.waitForInput()
	err := c.readDone()
	close(stop)
	if err != nil {
		return err
	}
	return <-done
}

// idleCommand is IDLE under way with a SessionIdleWake: the connection waits for DONE like for a command, with
// no goroutine but the one waiting (serveCommands) and no read buffer, and answers IDLE after it (endIdle).
type idleCommand struct {
	tag        string
	poller     *idlePoller
	stopWaking func()
}

func (c *Conn) startIdle(tag string, session SessionIdleWake) {
	p := &idlePoller{conn: c}
	c.idling = &idleCommand{tag: tag, poller: p, stopWaking: session.IdleWake(p.wake)}
	p.wake() // what was due before IdleWake
}

// stop ends the wake-ups and waits for a poll under way; it returns the first poll's failure.
func (idle *idleCommand) stop() error {
	idle.stopWaking()
	return idle.poller.stop()
}

// endIdle reads the client's DONE and answers IDLE. An error ends the connection.
func (c *Conn) endIdle() error {
	idle := c.idling
	c.idling = nil
	err := c.readDone()
	if pollErr := idle.stop(); err == nil {
		err = pollErr
	}
	return c.reply(idle.tag, "IDLE", err, true)
}

// readDone reads the client's DONE, which ends IDLE. A connection closed by the client ends IDLE without error:
// the end of the connection is seen at the next command.
func (c *Conn) readDone() error {
	line, isPrefix, err := c.br.ReadLine()
	if err == io.EOF {
		return nil
	} else if err != nil {
		return err
	} else if isPrefix || string(line) != "DONE" {
		return newClientBugError("Syntax error: expected DONE to end IDLE command")
	}
	return nil
}

// idlePoller polls a session in IDLE each time it is woken, on a goroutine
// that ends when no wake-up is left: one poll at a time, and a wake-up that
// comes during a poll is followed by another poll. After a poll fails,
// nothing more is polled.
type idlePoller struct {
	conn *Conn
	wg   sync.WaitGroup

	mu      sync.Mutex
	running bool  // a goroutine is polling
	again   bool  // woken while polling
	stopped bool  // by stop, or by a failed poll
	err     error // the first poll's failure
}

func (p *idlePoller) wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.stopped:
	case p.running:
		p.again = true
	default:
		p.running = true
		p.wg.Add(1)
		go p.run()
	}
}

func (p *idlePoller) run() {
	defer p.wg.Done()
	for {
		err := p.poll()
		p.mu.Lock()
		if err != nil && p.err == nil {
			p.err, p.stopped = err, true
		}
		if !p.again || p.stopped {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.again = false
		p.mu.Unlock()
	}
}

func (p *idlePoller) poll() (err error) {
	defer func() {
		if v := recover(); v != nil {
			p.conn.server.logger().Printf("panic idling: %v\n%s", v, debug.Stack())
			err = fmt.Errorf("imapserver: panic idling")
		}
	}()
	return p.conn.session.Poll(&UpdateWriter{conn: p.conn, allowExpunge: true}, true)
}

// stop ends the polling, waits for a poll under way and returns the first
// failure.
func (p *idlePoller) stop() error {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.wg.Wait()
	return p.err
}
