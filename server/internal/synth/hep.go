package synth

import (
	"net/netip"
	"time"

	"github.com/sipcause/sipcause/capture"
)

// EncodeHEP3 is capture.EncodeHEP3, for the load generator and the tests.
func EncodeHEP3(dst []byte, src, to netip.AddrPort, t time.Time, proto uint8, captureID uint32, payload []byte) []byte {
	return capture.EncodeHEP3(dst, src, to, t, proto, captureID, payload)
}
