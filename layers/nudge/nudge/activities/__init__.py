"""A person's activities: recorded from the streams (``log``) and listed newest first (``listing``)."""
