package main

// The one token a consumer of one provider holds: the newest by version,
// whichever way it arrived (a reply or an update), as PROTOCOL.md requires.

import (
	"sync"
	"time"
)

type Cache struct {
	mu   sync.Mutex
	held *Token
	// The service answered a get with the held token after it had expired:
	// it stays current until a newer one arrives (PROTOCOL.md, "An expired
	// token is not current").
	expiredButServed bool
	// Closed and replaced whenever a newer token is kept, to wake WaitNewer.
	changed chan struct{}
}

func NewCache() *Cache { return &Cache{changed: make(chan struct{})} }

// Offer keeps token if it is newer than the held one and reports whether it did.
// The same version offered again marks an expired token as served by tokenbus.
func (c *Cache) Offer(token *Token) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held != nil && token.Version <= c.held.Version {
		if token.Version == c.held.Version && c.held.Expired(time.Now()) {
			c.expiredButServed = true
		}
		return false
	}
	c.held = token
	c.expiredButServed = false
	close(c.changed)
	c.changed = make(chan struct{})
	return true
}

// Current is the held token when it may be used without asking tokenbus.
func (c *Cache) Current(now time.Time) *Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == nil || (c.held.Expired(now) && !c.expiredButServed) {
		return nil
	}
	return c.held
}

// Held is the newest token whatever its expiry.
func (c *Cache) Held() *Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held
}

// WaitNewer waits until a token newer than version is held, or deadline; nil if none came.
func (c *Cache) WaitNewer(version int64, deadline time.Time) *Token {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		c.mu.Lock()
		held, changed := c.held, c.changed
		c.mu.Unlock()
		if held != nil && held.Version > version {
			return held
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil
		}
	}
}
