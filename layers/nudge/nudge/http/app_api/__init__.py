"""The App API: one module per resource, gathered into one route table by ``routes``."""
