"""Customers: features, RFM segments, behavioural clusters, lifecycle."""

from recokit.customers.clusters import cluster
from recokit.customers.features import features
from recokit.customers.lifecycle import STAGES, lifecycle, practice_changes, transitions
from recokit.customers.rfm import DEFAULT_SEGMENTS, Segment, quintile_scores, rfm

__all__ = ["DEFAULT_SEGMENTS", "STAGES", "Segment", "cluster", "features", "lifecycle", "practice_changes", "quintile_scores", "rfm", "transitions"]
