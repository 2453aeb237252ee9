"""Billing: high-watermark metering, the plan catalog, periods, invoices and credits."""
