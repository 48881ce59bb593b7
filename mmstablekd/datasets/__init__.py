from .class_balanced_subset import ClassBalancedSubset, balanced_subset_indices
from .local_data import (LocalCIFAR10, LocalCIFAR100, LocalCustomDataset, LocalImageNet,
                         missing_data_message)

__all__ = ['ClassBalancedSubset', 'balanced_subset_indices', 'LocalCIFAR10', 'LocalCIFAR100',
           'LocalCustomDataset', 'LocalImageNet', 'missing_data_message']
