"""Customers: features, RFM segments, behavioural clusters, lifecycle."""

from recokit.customers.clusters import cluster
from recokit.customers.explain import CustomerExplanation, explain_customer
from recokit.customers.features import features
from recokit.customers.lifecycle import STAGES, lifecycle, practice_changes, transitions
from recokit.customers.rfm import DEFAULT_SEGMENTS, Segment, quintile_scores, rfm

__all__ = ["DEFAULT_SEGMENTS", "STAGES", "CustomerExplanation", "Segment", "cluster", "explain_customer", "features", "lifecycle", "practice_changes", "quintile_scores", "rfm", "transitions"]
