// Package logbridge forwards log/slog records into a logrus logger.
//
// protoactor-go logs through log/slog; everything else in exo-actors logs
// through one injected logrus logger. Handler makes the two one stream: level,
// message and attributes (groups flattened as "group.key") arrive in logrus as
// a level, a message and fields, so --log-level and --log-format govern the
// actor system's own lines too. The CLI also installs it with slog.SetDefault,
// because some protoactor code logs through slog.Default(). Lines that repeat
// identically (same level, message and fields) are throttled: see Options.
package logbridge
