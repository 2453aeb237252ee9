"""The App API: management of segments (and, as they land, campaigns, templates, billing)."""
