"""The local runtime's pieces (a dev/test tool: not shipped in the Lambda layer)."""
