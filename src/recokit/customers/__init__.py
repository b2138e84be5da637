"""Customers: features, RFM segments, behavioural clusters, lifecycle."""

from recokit.customers.features import features

__all__ = ["features"]
