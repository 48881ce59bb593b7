from .boundary_projected_classifier import BoundaryProjectedClassifier

__all__ = ['BoundaryProjectedClassifier']
