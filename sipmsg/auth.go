package sipmsg

// Credentials is a decoded WWW-Authenticate, Proxy-Authenticate,
// Authorization or Proxy-Authorization value (RFC 3261 §20.7, §20.27,
// §20.28, §20.44; Digest parameters per RFC 3261 §25.1 and RFC 8760):
// the scheme and its comma-separated auth-params.
type Credentials struct {
	Scheme []byte // "Digest", or whatever the peer sent
	Params []byte // auth-params after the scheme, as written
}

// ParseCredentials splits a challenge or credentials value (RFC 3261
// §25.1 challenge / credentials) into scheme and parameters. It never fails: an empty value gives empty fields.
func ParseCredentials(v []byte) Credentials {
	v = trimLWS(v)
	i := indexWSP(v)
	if i < 0 {
		return Credentials{Scheme: v}
	}
	return Credentials{Scheme: v[:i], Params: trimLWS(v[i+1:])}
}

// IsDigest reports whether the scheme is Digest (case-insensitive, RFC
// 3261 §22.4).
func (c Credentials) IsDigest() bool { return equalFold(c.Scheme, "Digest") }

// Param returns the value of an auth-param (RFC 3261 §25.1) such as realm, nonce,
// algorithm, username, uri, response, qop, stale or opaque, with quotes
// removed; nil if absent. Names compare case-insensitively.
func (c Credentials) Param(name string) []byte {
	for elem := range SplitList(c.Params) {
		n, v, ok := splitParam(elem)
		if ok && equalFold(n, name) {
			return unquote(v)
		}
	}
	return nil
}

// Realm returns the realm auth-param (RFC 3261 §22.1).
func (c Credentials) Realm() []byte { return c.Param("realm") }

// Nonce returns the nonce auth-param (RFC 3261 §22.4, RFC 2617 §3.2.1).
func (c Credentials) Nonce() []byte { return c.Param("nonce") }
