"""Message delivery: templates, gates, channels, tracking links and feedback (one pipeline for every
message Nudge sends)."""
