package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// AccessControl requires credentials on the sidecar: a request passes with
// any one of BearerTokens (Authorization: Bearer <token>) or any user of
// BasicUsers with its password (Authorization: Basic, as browsers and
// Prometheus's basic_auth send it). Paths in Public pass without. Tokens
// and passwords are secrets: nothing here logs them.
type AccessControl struct {
	// BearerTokens are the accepted bearer tokens.
	BearerTokens []string
	// BasicUsers maps a user name to the bcrypt hash of its password.
	BasicUsers map[string]string
	// Public lists the exact paths served without credentials.
	Public []string
}

// authCacheSize bounds the remembered good basic-auth credentials. When it
// is full the cache starts over.
const authCacheSize = 256

// authHandler enforces an AccessControl in front of next.
type authHandler struct {
	next    http.Handler
	public  []string
	tokens  [][sha256.Size]byte // SHA-256 of each bearer token
	users   map[string][]byte   // bcrypt hashes
	refused func(reason string)
	// bcryptSlots bounds concurrent bcrypt comparisons (~50 ms of CPU each
	// at the usual cost), so a flood of wrong passwords cannot take every
	// core.
	bcryptSlots chan struct{}

	// mu protects the following fields.
	mu sync.Mutex
	// good remembers credentials that matched, by SHA-256 of user, password
	// and hash, so a dashboard polling every second costs one bcrypt, not
	// one per request.
	good map[[sha256.Size]byte]bool
}

func newAuthHandler(next http.Handler, ac AccessControl, refused func(string)) *authHandler {
	a := &authHandler{
		next:        next,
		public:      slices.Clone(ac.Public),
		users:       map[string][]byte{},
		refused:     refused,
		bcryptSlots: make(chan struct{}, 2),
		good:        map[[sha256.Size]byte]bool{},
	}
	for _, t := range ac.BearerTokens {
		a.tokens = append(a.tokens, sha256.Sum256([]byte(t)))
	}
	for u, h := range ac.BasicUsers {
		a.users[u] = []byte(h)
	}
	return a
}

func (a *authHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if slices.Contains(a.public, r.URL.Path) || a.allowed(r) {
		a.next.ServeHTTP(w, r)
		return
	}
	if a.refused != nil {
		a.refused(RefusedUnauthorized)
	}
	if len(a.users) > 0 {
		w.Header().Set("WWW-Authenticate", `Basic realm="meshmon", charset="UTF-8"`)
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="meshmon"`)
	}
	writeError(w, http.StatusUnauthorized, "credentials required: send a bearer token or a basic-auth user and password")
}

// allowed reports whether r carries valid credentials.
func (a *authHandler) allowed(r *http.Request) bool {
	authz := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(authz, " ")
	if strings.EqualFold(scheme, "Bearer") && len(a.tokens) > 0 {
		sum := sha256.Sum256([]byte(strings.TrimSpace(rest)))
		ok := 0
		for _, t := range a.tokens {
			ok |= subtle.ConstantTimeCompare(sum[:], t[:])
		}
		return ok == 1
	}
	user, pass, isBasic := r.BasicAuth()
	if !isBasic {
		return false
	}
	hash, known := a.users[user]
	if !known {
		return false
	}
	h := sha256.New()
	for _, b := range [][]byte{[]byte(user), {0}, []byte(pass), {0}, hash} {
		h.Write(b)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	a.mu.Lock()
	cached := a.good[key]
	a.mu.Unlock()
	if cached {
		return true
	}
	select {
	case a.bcryptSlots <- struct{}{}:
	case <-r.Context().Done():
		return false
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(pass))
	<-a.bcryptSlots
	if err != nil {
		return false
	}
	a.mu.Lock()
	if len(a.good) >= authCacheSize {
		clear(a.good)
	}
	a.good[key] = true
	a.mu.Unlock()
	return true
}
