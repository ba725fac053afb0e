package capture

import "bytes"

// headerEnd finds the empty line that ends the header section and returns
// its offset and length (4 for CRLFCRLF, 2 for a bare LFLF).
func headerEnd(b []byte) (int, int) {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	j := bytes.Index(b, []byte("\n\n"))
	switch {
	case i >= 0 && (j < 0 || i+1 <= j):
		return i, 4
	case j >= 0:
		return j, 2
	}
	return -1, 0
}

// trimKeepAlive drops the CRLF keep-alives of RFC 5626 section 3.5.1 that
// may precede a message on a connection.
func trimKeepAlive(b []byte) []byte {
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}
