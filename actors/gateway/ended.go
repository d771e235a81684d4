package gateway

// endedKeep bounds the ended sessions whose reason a gateway keeps: a
// client that pings after its session ended is told why, and a gateway
// that served clients for weeks holds no more than these.
const endedKeep = 256

// endedSessions keeps why the last endedKeep sessions ended, by client
// key; the oldest is forgotten first. Owned by the gateway actor.
type endedSessions struct {
	whyOf map[string]string
	order []string // keys, oldest first; a key ended again moves to the end
}

func (e *endedSessions) add(key, why string) {
	if e.whyOf == nil {
		e.whyOf = map[string]string{}
	}
	if _, ok := e.whyOf[key]; ok {
		for i, k := range e.order {
			if k == key {
				e.order = append(e.order[:i], e.order[i+1:]...)
				break
			}
		}
	} else if len(e.order) >= endedKeep {
		delete(e.whyOf, e.order[0])
		e.order = e.order[1:]
	}
	e.whyOf[key] = why
	e.order = append(e.order, key)
}

// why says why the session of key ended, or that the node has no record
// of it (it ended long ago, or the node restarted since).
func (e *endedSessions) why(key string) string {
	if why, ok := e.whyOf[key]; ok {
		return why
	}
	return "the node has no session of this client: it ended long ago, or the node started again since"
}
