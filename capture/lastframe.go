package capture

import "time"

// LastFrameTime returns the capture time of the last frame read, whether it
// carried SIP or not: the end of the capture once Next has returned io.EOF.
// The analyzer needs it to tell "no answer within Timer B" from "the capture
// stopped first". For a raw HEP stream it is the time of the last HEP
// packet; it is zero for text logs, whose lines say nothing between messages.
func (r *Reader) LastFrameTime() time.Time { return r.lastTime }
