"""Tracking: the Track API's domain. People, events, devices, objects, relationships, manual segments."""
