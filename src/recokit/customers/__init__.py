"""Customers: features, RFM segments, behavioural clusters, lifecycle."""

from recokit.customers.clusters import cluster
from recokit.customers.features import features
from recokit.customers.rfm import DEFAULT_SEGMENTS, Segment, quintile_scores, rfm

__all__ = ["DEFAULT_SEGMENTS", "Segment", "cluster", "features", "quintile_scores", "rfm"]
