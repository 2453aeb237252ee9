"""Exports: a CSV of people or deliveries, written in the background to the stack's exports bucket.

``requests`` reads what to export, ``store`` keeps each export's record and progress, ``sources`` reads
the rows, ``files`` writes them to S3 (a multipart upload) and presigns the download, ``queue`` hands an
export to the worker and ``worker`` runs it, in steps that survive a new invocation.
"""
