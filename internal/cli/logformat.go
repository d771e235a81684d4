package cli

import (
	"time"

	"github.com/sirupsen/logrus"
)

// logTimeFormat is the timestamp of every log line, text and JSON: RFC 3339
// with milliseconds, fixed width (2026-11-30T18:11:50.123Z). Lines a
// second apart were indistinguishable at logrus's default (RFC 3339, whole
// seconds), and a runner's failure, its detection and the restart happen
// within milliseconds.
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// newLogFormatter returns the formatter of --log-format format ("text" or
// "json"), or nil for another value.
func newLogFormatter(format string) logrus.Formatter {
	switch format {
	case "json":
		return durationStrings{&logrus.JSONFormatter{TimestampFormat: logTimeFormat}}
	case "text":
		return &logrus.TextFormatter{FullTimestamp: true, TimestampFormat: logTimeFormat}
	}
	return nil
}

// durationStrings writes time.Duration fields as Go duration strings
// ("359.454697ms"), as the text format does, instead of the integer
// nanoseconds encoding/json gives them.
type durationStrings struct{ next logrus.Formatter }

// Format implements logrus.Formatter.
func (f durationStrings) Format(e *logrus.Entry) ([]byte, error) {
	var data logrus.Fields
	for k, v := range e.Data {
		d, ok := v.(time.Duration)
		if !ok {
			continue
		}
		if data == nil { // copy: an Entry's Data may be shared by several lines
			data = make(logrus.Fields, len(e.Data))
			for k2, v2 := range e.Data {
				data[k2] = v2
			}
		}
		data[k] = d.String()
	}
	if data == nil {
		return f.next.Format(e)
	}
	c := *e
	c.Data = data
	return f.next.Format(&c)
}
