"""Thin adapters: the only modules that import implicit, scikit-learn and matplotlib.

Every call to those libraries goes through here, by keyword and version-checked, so that a
release which changes an API fails in recokit's tests with a :class:`~recokit.DependencyError`,
not deep inside a shop's request. Import a submodule (``recokit.adapters.implicit``); this
package imports none of them itself, so ``import recokit`` stays light.
"""
