// Command go-consumer is a tokenbus consumer written from PROTOCOL.md alone:
// it keeps the newest token of one provider (from replies and from the
// updates subject; given the cluster's public key, only tokens it signed;
// given its bus keys, opening the tokens it sealed),
// calls the provider's protected resource with it for a
// number of rounds, and on a 401 reports the token's version and retries once
// with the token it gets back. It prints one JSON line per step, naming token
// versions and never token values, and exits 0 when every round ended in a
// 200, 1 otherwise.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

type options struct {
	servers        string
	verifyKey      string
	busKeys        BusKeys
	prefix         string
	provider       string
	resourceURL    string
	rounds         int
	interval       time.Duration
	requestTimeout time.Duration
	httpTimeout    time.Duration
}

var (
	prefixPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	providerPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
)

func parseOptions(args []string) (options, error) {
	o := options{busKeys: BusKeys{}}
	flags := flag.NewFlagSet("go-consumer", flag.ContinueOnError)
	flags.StringVar(&o.servers, "servers", nats.DefaultURL, "NATS server URLs, comma-separated")
	flags.StringVar(&o.prefix, "prefix", "tokenbus", "the deployment's subject prefix")
	flags.StringVar(&o.provider, "provider", "project44", "the provider id")
	flags.StringVar(&o.resourceURL, "resource-url", "", "the upstream URL to GET with the token (required)")
	flags.StringVar(&o.verifyKey, "verify-key", "", "the cluster's public key (a PEM file): use only tokens it signed")
	flags.Var(o.busKeys, "bus-key", "a bus key as <id>=<file> (the base64 of its 32 bytes), once per key: open sealed tokens")
	flags.IntVar(&o.rounds, "rounds", 1, "how many calls of the resource to make")
	flags.DurationVar(&o.interval, "interval", time.Second, "the pause between rounds")
	// PROTOCOL.md: the service's requestTimeoutMillis (default 5000 ms) plus 2 s.
	flags.DurationVar(&o.requestTimeout, "request-timeout", 7*time.Second, "how long to wait for each request attempt")
	flags.DurationVar(&o.httpTimeout, "http-timeout", 10*time.Second, "how long to wait for the resource")
	if err := flags.Parse(args); err != nil {
		return o, err
	}
	switch {
	case flags.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(flags.Args(), " "))
	case o.resourceURL == "":
		return o, errors.New("--resource-url is required")
	case o.rounds < 1:
		return o, errors.New("--rounds must be at least 1")
	case !prefixPattern.MatchString(o.prefix):
		return o, fmt.Errorf("--prefix %q is not 1-32 characters of A-Z a-z 0-9 _ -", o.prefix)
	case !providerPattern.MatchString(o.provider):
		return o, fmt.Errorf("--provider %q is not 1-64 characters of a-z 0-9 _ - starting with a letter or digit", o.provider)
	}
	return o, nil
}

// output writes the JSON lines; the updates subscription writes from its own goroutine.
type output struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (o *output) step(name string, fields map[string]any) {
	line := map[string]any{"step": name}
	for key, value := range fields {
		line[key] = value
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_ = o.enc.Encode(line)
}

type consumer struct {
	out         *output
	cache       *Cache
	requester   *Requester
	http        *http.Client
	resourceURL string
}

func main() {
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "go-consumer:", err)
		os.Exit(2)
	}
	out := &output{enc: json.NewEncoder(os.Stdout)}
	if err := run(o, out); err != nil {
		out.step("failed", map[string]any{"message": err.Error()})
		fmt.Fprintln(os.Stderr, "go-consumer:", err)
		os.Exit(1)
	}
}

func run(o options, out *output) error {
	c := &consumer{
		out:         out,
		cache:       NewCache(),
		http:        &http.Client{Timeout: o.httpTimeout},
		resourceURL: o.resourceURL,
	}
	conn, err := nats.Connect(o.servers,
		nats.Name("tokenbus-go-consumer"),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			out.step("disconnected", map[string]any{"error": fmt.Sprint(err)})
		}),
		// Updates published while disconnected are lost: ask again (PROTOCOL.md).
		nats.ReconnectHandler(func(_ *nats.Conn) { go c.refresh("reconnected") }),
	)
	if err != nil {
		return fmt.Errorf("cannot connect to NATS at %s, so tokenbus is unreachable: %w", o.servers, err)
	}
	defer func() {
		conn.SetDisconnectErrHandler(nil) // closing is not a disconnection worth a line
		conn.Close()
	}()
	subjects := Subjects{Prefix: o.prefix, Provider: o.provider}
	checker := Checker{Provider: o.provider, BusKeys: o.busKeys}
	if o.verifyKey != "" {
		if checker.Key, err = loadVerifyKey(o.verifyKey); err != nil {
			return fmt.Errorf("--verify-key %s: %w", o.verifyKey, err)
		}
	}
	c.requester = &Requester{Conn: conn, Subjects: subjects, Timeout: o.requestTimeout, Checker: checker}

	if _, err := conn.Subscribe(subjects.Updates(), c.onUpdate); err != nil {
		return fmt.Errorf("subscribe to %s: %w", subjects.Updates(), err)
	}
	// Once the server has the subscription, no update can fall between it and the first get.
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("subscribe to %s: %w", subjects.Updates(), err)
	}
	out.step("subscribed", map[string]any{"subject": subjects.Updates(), "verified": checker.Key != nil, "busKeys": len(o.busKeys)})

	for round := 1; round <= o.rounds; round++ {
		if round > 1 {
			time.Sleep(o.interval)
		}
		if err := c.round(round); err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
	}
	out.step("done", map[string]any{"rounds": o.rounds, "version": c.cache.Held().Version})
	return nil
}

func (c *consumer) onUpdate(msg *nats.Msg) {
	decoded := decodeUpdate(msg.Data)
	if decoded == nil {
		c.out.step("update-ignored", map[string]any{"subject": msg.Subject})
		return
	}
	token := decoded.Token
	// Whoever may publish on the subject can send anything: keep only what the cluster issued.
	if err := c.requester.Checker.Check(token, decoded.Signature, time.Now()); err != nil {
		c.out.step("update-refused", map[string]any{"version": token.Version, "reason": err.Error()})
		return
	}
	kept := c.cache.Offer(token)
	c.out.step("update", map[string]any{"version": token.Version, "reason": token.Reason, "kept": kept})
}

// refresh asks for the current token and offers it to the cache.
func (c *consumer) refresh(step string) (*Reply, error) {
	reply, err := c.requester.Get()
	if err != nil {
		c.out.step(step, map[string]any{"error": err.Error()})
		return nil, err
	}
	kept := c.cache.Offer(reply.Token)
	c.out.step(step, withRenewal(reply, map[string]any{
		"version": reply.Token.Version, "reason": reply.Token.Reason, "kept": kept, "attempts": reply.Attempts,
	}))
	return reply, nil
}

// token is the held token, or the service's when none is held or the held one expired.
func (c *consumer) token() (*Token, error) {
	if held := c.cache.Current(time.Now()); held != nil {
		return held, nil
	}
	if _, err := c.refresh("get"); err != nil {
		return nil, fmt.Errorf("no usable token and tokenbus gave none: %w", err)
	}
	return c.cache.Held(), nil
}

func (c *consumer) round(round int) error {
	token, err := c.token()
	if err != nil {
		return err
	}
	status, err := c.call(token)
	if err != nil {
		return err
	}
	c.out.step("call", map[string]any{"round": round, "version": token.Version, "status": status})
	if status == http.StatusOK {
		return nil
	}
	if status != http.StatusUnauthorized {
		return fmt.Errorf("the resource answered %d", status)
	}
	fresh, err := c.reportUnauthorized(round, token.Version)
	if err != nil {
		return err
	}
	status, err = c.call(fresh)
	if err != nil {
		return err
	}
	c.out.step("retry", map[string]any{"round": round, "version": fresh.Version, "status": status})
	if status != http.StatusOK {
		// PROTOCOL.md: retry once; if it fails again, do not loop.
		return fmt.Errorf("the resource answered %d to the token tokenbus sent after the 401 too", status)
	}
	return nil
}

// reportUnauthorized reports the failed version and returns the token to retry with.
func (c *consumer) reportUnauthorized(round int, failed int64) (*Token, error) {
	reply, err := c.requester.Unauthorized(failed)
	if err != nil {
		return nil, fmt.Errorf("reporting the 401 of version %d: %w", failed, err)
	}
	kept := c.cache.Offer(reply.Token)
	c.out.step("unauthorized", withRenewal(reply, map[string]any{
		"round": round, "reported": failed, "version": reply.Token.Version, "reason": reply.Token.Reason,
		"kept": kept, "attempts": reply.Attempts,
	}))
	// An update may have brought a newer token than the reply's meanwhile.
	if held := c.cache.Held(); held.Version > failed {
		return held, nil
	}
	// The rate budget delays the new token: the reply carried the failed one,
	// and the new one comes on the updates subject when expected.
	if reply.RenewalExpectedAt == nil {
		return nil, fmt.Errorf("tokenbus answered the 401 of version %d with no newer token", failed)
	}
	expected := time.UnixMilli(int64(*reply.RenewalExpectedAt))
	if newer := c.cache.WaitNewer(failed, expected.Add(c.requester.Timeout)); newer != nil {
		return newer, nil
	}
	return nil, fmt.Errorf("no token newer than version %d arrived by its expected renewal", failed)
}

// call GETs the resource with the token; the status is all that is kept.
func (c *consumer) call(token *Token) (int, error) {
	request, err := http.NewRequest(http.MethodGet, c.resourceURL, nil)
	if err != nil {
		return 0, fmt.Errorf("resource request: %w", err)
	}
	// PROTOCOL.md: "Bearer" whatever tokenType says.
	request.Header.Set("Authorization", "Bearer "+token.AccessToken)
	response, err := c.http.Do(request)
	if err != nil {
		return 0, fmt.Errorf("calling the resource: %w", err)
	}
	defer response.Body.Close()
	_, _ = io.Copy(io.Discard, response.Body)
	return response.StatusCode, nil
}

func withRenewal(reply *Reply, fields map[string]any) map[string]any {
	if reply.RenewalExpectedAt != nil {
		fields["renewalExpectedAt"] = int64(*reply.RenewalExpectedAt)
	}
	return fields
}
