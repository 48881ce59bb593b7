"""Which module outputs of a classifier are *cuts*, found from one traced forward pass.

A module output is a cut when the logits depend on everything before it only through it:
with the output replaced by a detached tensor (what StableKD does when it feeds the teacher's
feature forward, and what SSKD relies on when it trains one stage alone), no gradient from
the logits reaches the input. A module inside a residual or dense block is not a cut: the
skip path carries the block's input around it.

:func:`trace_forward` runs the classifier once (eval mode, grad enabled, a tiny input) with
hooks on every module and keeps the autograd graph; :class:`ForwardTrace` then answers, by
walking that graph with the module's output edges removed, whether a module output is a cut,
which enclosing module bypasses it if not, and which modules are cuts at all (in forward
order, with output shapes and parameter counts), without running the network again.
"""
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import torch
import torch.nn as nn

from .features import feature_shape, tensor_leaves

Edge = Tuple[int, int]  # (id of an autograd node, output number)


def classifier_forward(classifier: nn.Module, inputs: torch.Tensor) -> Any:
    """Logits of an mmpretrain classifier (``ImageClassifier``: backbone -> neck -> head; a
    head-less one such as ``TimmClassifier``: its ``'tensor'`` forward). May be a tuple when
    the head returns several logits."""
    if getattr(classifier, 'head', None) is None:
        return classifier(inputs, mode='tensor')
    return classifier.head(classifier.extract_feat(inputs))


@dataclass
class ModuleCall:
    """What the trace saw of one module.

    Attributes:
        path (str): Dotted module path in the traced network.
        module (nn.Module): The module.
        starts (list[int]): Event index of every call's start.
        ends (list[int]): Event index of every call's end.
        output: Output of the first call (tensors keep their autograd graph).
        edges (list): (autograd node, output number) of the first output's tensor leaves.
        inputs (list): Autograd nodes of the first call's tensor inputs.
        passthrough (bool): The first output returned one of its inputs unchanged.
    """

    path: str
    module: nn.Module
    starts: List[int] = field(default_factory=list)
    ends: List[int] = field(default_factory=list)
    output: Any = None
    edges: List[Tuple[Any, int]] = field(default_factory=list)
    inputs: List[Any] = field(default_factory=list)
    passthrough: bool = False

    @property
    def end(self) -> int:
        """End of the first call (the forward order of the module's output)."""
        return self.ends[0] if self.ends else -1

    @property
    def shape(self) -> Any:
        """Shape(s) of the first output, e.g. ``(2, 64, 8, 8)``."""
        return feature_shape(self.output)


class ForwardTrace:
    """One traced forward pass of a classifier; see the module docstring.

    Args:
        calls (dict[str, ModuleCall]): Every called module by path, in call-start order.
        roots (list): (node, output number) of the logits' tensors.
        input_node: Autograd node of the (N, C, H, W) input.
        input_shape (Sequence[int]): (C, H, W) of the traced input.
    """

    def __init__(self, calls: Dict[str, ModuleCall], roots: List[Tuple[Any, int]],
                 input_node: Any, input_shape: Sequence[int] = ()) -> None:
        self.calls = calls
        self.roots = roots
        self.input_node = input_node
        self.input_shape = tuple(input_shape)

    def call(self, path: str) -> Optional[ModuleCall]:
        """The record of ``path`` (None if the module never ran)."""
        return self.calls.get(path)

    def _walk(self, blocked: Set[Edge], stop: Optional[Any] = None) -> Set[int]:
        """Ids of the autograd nodes the logits reach without crossing ``blocked`` edges."""
        seen: Set[int] = set()
        stack = [node for node, nr in self.roots if (id(node), nr) not in blocked]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node is stop:
                break
            for nxt, nr in node.next_functions:
                if nxt is not None and (id(nxt), nr) not in blocked and id(nxt) not in seen:
                    stack.append(nxt)
        return seen

    def _blocked(self, path: str) -> Set[Edge]:
        return {(id(node), nr) for node, nr in self.calls[path].edges}

    def is_cut(self, path: str) -> bool:
        """Whether, with ``path``'s output detached, no gradient reaches the input."""
        call = self.calls.get(path)
        if call is None or not call.edges or call.passthrough or len(call.starts) != 1:
            return False
        return id(self.input_node) not in self._walk(self._blocked(path), self.input_node)

    def bypass(self, path: str) -> Optional[str]:
        """The innermost module around ``path`` whose input still receives gradient with
        ``path``'s output detached (e.g. the residual block of ``layer1.0.conv1``)."""
        reached = self._walk(self._blocked(path))
        parts = path.split('.')
        found = None
        for depth in range(len(parts) - 1, 0, -1):
            outer = self.calls.get('.'.join(parts[:depth]))
            if outer is None or not any(id(n) in reached for n in outer.inputs):
                if found is not None:
                    break
                continue
            # A plain container (Sequential) that receives the same input is not what adds
            # it back: report the block around it (MobileNetV2's InvertedResidual.conv).
            if found is None or isinstance(self.calls[found].module,
                                           (nn.Sequential, nn.ModuleList)):
                found = outer.path
            else:
                break
        return found

    def cuts(self, prefixes: Sequence[str] = ('backbone.', 'neck.')) -> List[str]:
        """Paths under ``prefixes`` whose outputs are cuts, in forward order; of modules that
        return the very same tensors (a ``ConvModule`` and its activation) only the
        outermost is kept."""
        best: Dict[frozenset, ModuleCall] = {}
        for call in self.calls.values():
            if not call.path.startswith(tuple(prefixes)) or not self.is_cut(call.path):
                continue
            key = frozenset(self._blocked(call.path))
            if key not in best or len(call.path) < len(best[key].path):
                best[key] = call
        return [c.path for c in sorted(best.values(), key=lambda c: c.end)]

    def block_params(self, paths: Sequence[str]) -> List[int]:
        """Parameters of the modules that run between consecutive ``paths`` (in forward order;
        the first entry counts everything from the input to ``paths[0]``)."""
        ends = [self.calls[p].end for p in paths]
        counts = [0] * len(paths)
        for call in self.calls.values():
            own = sum(p.numel() for p in call.module.parameters(recurse=False))
            if not own or not call.starts:
                continue
            for i, end in enumerate(ends):
                if call.starts[0] < end:
                    counts[i] += own
                    break
        return counts

    def phases(self, paths: Sequence[str], field_name: str) -> Dict[nn.Module, int]:
        """Phase of every module: how many of ``paths`` had produced output when it ran.

        Modules with their own parameters or buffers, and leaves, get the phase of their
        calls; a container gets the phase all its called descendants share, if they do.

        Raises:
            ValueError: if a module with weights runs in two phases (weights shared across
                stages cannot be trained in one stage alone).
        """
        ends = sorted(self.calls[p].end for p in paths)
        phase_of: Dict[nn.Module, int] = {}
        for call in self.calls.values():
            module = call.module
            if not (_owns_state(module) or not any(True for _ in module.children())):
                continue
            seen = {sum(e < s for e in ends) for s in call.starts}
            if len(seen) > 1 and any(True for _ in module.parameters(recurse=False)):
                first, second = sorted(seen)[:2]
                raise ValueError(
                    f'{field_name}: {call.path!r} runs in stages {first + 1} and {second + 1}; '
                    'SSKD cannot freeze weights shared across stages')
            phase_of[module] = min(seen)
        for call in self.calls.values():
            found = {phase_of[m] for m in call.module.modules() if m in phase_of}
            if call.module not in phase_of and len(found) == 1:
                phase_of[call.module] = found.pop()
        return phase_of


def _owns_state(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False)) or \
        any(True for _ in module.buffers(recurse=False))


def _nodes(tensors: Iterable[torch.Tensor]) -> List[Tuple[Any, int]]:
    return [(t.grad_fn, t.output_nr) for t in tensors if t.grad_fn is not None]


def trace_forward(net: nn.Module, shape: Sequence[int], batch: int = 2,
                  forward: Callable[[nn.Module, torch.Tensor], Any] = classifier_forward
                  ) -> ForwardTrace:
    """Run ``net`` once on zeros of shape (batch, *shape) in eval mode with grad enabled and
    record every module call; the training mode is restored and every hook removed after.

    Args:
        net (nn.Module): An mmpretrain classifier.
        shape (Sequence[int]): (C, H, W) of the dummy input.
        batch (int): Batch size of the dummy input.
        forward (callable): ``forward(net, inputs)`` -> logits (tensor or tuple).

    Returns:
        ForwardTrace: the calls, with the autograd graph of the logits kept.
    """
    calls: Dict[str, ModuleCall] = {}
    events = count()
    handles = []

    entry: Dict[str, Dict[int, Tuple[Any, int]]] = {}  # first call: input id -> its edge

    def on_start(path, module, args, kwargs):
        call = calls.setdefault(path, ModuleCall(path, module))
        call.starts.append(next(events))
        if len(call.starts) == 1:
            tensors = tensor_leaves([args, list(kwargs.values())])
            call.inputs = [n for n, _ in _nodes(tensors)]
            entry[path] = {id(t): (t.grad_fn, t.output_nr) for t in tensors}

    def on_end(path, module, args, kwargs, output):
        call = calls[path]
        call.ends.append(next(events))
        if len(call.ends) == 1:
            call.output = output
            leaves = tensor_leaves(output)
            call.edges = _nodes(leaves)
            # An input returned as it came in (Identity, Dropout in eval); an in-place op
            # (ReLU(inplace=True)) returns the same tensor with a new node: a point of its own.
            came_in = entry.pop(path, {})
            call.passthrough = any(id(t) in came_in and came_in[id(t)][0] is t.grad_fn
                                   and came_in[id(t)][1] == t.output_nr for t in leaves)

    for path, module in net.named_modules():
        if not path:
            continue
        handles.append(module.register_forward_pre_hook(
            lambda m, a, k, p=path: on_start(p, m, a, k), with_kwargs=True))
        handles.append(module.register_forward_hook(
            lambda m, a, k, o, p=path: on_end(p, m, a, k, o), with_kwargs=True))
    was_training = net.training
    net.eval()
    image = torch.zeros(batch, *shape, requires_grad=True)
    inputs = image * 1.0  # a non-leaf: its node marks "the input" in the graph
    try:
        with torch.enable_grad():
            logits = forward(net, inputs)
    finally:
        net.train(was_training)
        for handle in handles:
            handle.remove()
    return ForwardTrace(calls, _nodes(tensor_leaves(logits)), inputs.grad_fn, shape)
