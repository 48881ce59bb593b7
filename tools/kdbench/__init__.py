"""The quickstart and benchmark harness of mmstablekd (not part of the installed library).

It lives next to the tools that run it (``tools/quickstart.py``, ``tools/benchmark.py``), as
OpenMMLab repositories keep their analysis code under ``tools/``, and ships with them: a wheel
carries it as ``mmstablekd/.mim/tools/kdbench`` (see ``setup.py``), so the README's wheel
commands run it too. Each tool puts its own folder on ``sys.path`` (Python does that for a
script), so ``import kdbench`` works from a checkout and from an installed wheel.

* :mod:`kdbench.methods` -- the one table of methods (name, config, minimum epochs, colour).
* :mod:`kdbench.targets` -- the pass/fail targets the benchmark report checks, as data.
* :mod:`kdbench.quickstart` -- train the teacher once, then every method x seed.
* :mod:`kdbench.benchmark` -- convergence over epoch budgets and the cost of a training step.
* :mod:`kdbench.plots` -- the PNGs of the quickstart.
"""
