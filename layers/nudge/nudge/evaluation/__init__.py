"""Evaluation: what happens when stored data changes (the DynamoDB stream consumer's domain)."""
