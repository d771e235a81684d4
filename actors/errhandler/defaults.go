package errhandler

// WithDefaults returns c with every zero field of Backoff and Intensity and
// a zero HistoryLimit replaced by the defaults New applies (Clock and Rand
// stay as they are). Backoff.Base NoDelay becomes 0.
func (c Config) WithDefaults() Config {
	c.Backoff = c.Backoff.withDefaults()
	if c.Intensity.MaxRestarts == 0 {
		c.Intensity.MaxRestarts = defaultMaxRestarts
	}
	if c.Intensity.Window <= 0 {
		c.Intensity.Window = defaultIntensityWindow
	}
	if c.HistoryLimit <= 0 {
		c.HistoryLimit = defaultHistoryLimit
	}
	return c
}
