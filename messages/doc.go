// Package messages is the root of exo-actors' protobuf messages; each protocol
// version lives below it (messages/exo/v1). Every message that crosses a
// process or machine boundary is a protobuf type defined here.
package messages
