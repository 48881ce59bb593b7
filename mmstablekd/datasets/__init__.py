from .class_balanced_subset import ClassBalancedSubset, balanced_subset_indices

__all__ = ['ClassBalancedSubset', 'balanced_subset_indices']
