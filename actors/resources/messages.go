package resources

// Messages for actors that talk to the manager without blocking: send them
// with Request and handle the reply as a message. (Client wraps the same
// operations for goroutines that may block.)
type (
	// Register registers specs, all or nothing; the reply is *RegisterResult.
	Register struct{ Specs []Spec }
	// RegisterResult answers Register.
	RegisterResult struct{ Err error }
	// CloseOwner closes every resource of Owner; the reply is *CloseResult.
	CloseOwner struct{ Owner string }
	// CloseAll closes every resource; the reply is *CloseResult.
	CloseAll struct{}
	// CloseResult answers CloseOwner and CloseAll.
	CloseResult struct {
		Report CloseReport
		Err    error
	}
)
