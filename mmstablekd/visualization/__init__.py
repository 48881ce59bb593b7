"""Plots of training runs (matplotlib is imported only when a plot is made)."""
