"""Reading an experiment file: YAML 1.2 numbers, merge keys, no duplicate keys, no alias bombs.

PyYAML follows YAML 1.1, where ``1e3`` (no dot) is a string and ``learning_rate: 1e3`` fails
later with a type error; here every decimal number in exponent form is a float. A key given
twice in one mapping is an error (PyYAML silently keeps the last). Aliases (``*a``) are shared
references until something copies the values: a "billion laughs" file of a few hundred bytes
expands to billions of values when the config is dumped, so the expanded size and depth of the
node graph are counted (each node once, memoized) before any Python object is built, and a file
beyond :data:`MAX_NODES` or :data:`MAX_DEPTH` is refused at once. PyYAML's parser recurses once
per nesting level, so the depth is first measured on the token stream (the scanner does not
recurse): a file nested hundreds of levels deep is one error line, not a ``RecursionError``.
Merge keys (``<<: *defaults``) work as in YAML 1.1: the keys written beside them override the
merged ones, and only those written keys must be unique.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from forecastab.errors import ConfigError

MAX_NODES = 100_000
"""The most values an experiment file may expand to (aliases counted as copies)."""

MAX_DEPTH = 50
"""The deepest nesting of mappings and lists an experiment file may have."""

_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.VERBOSE,
)


class ExperimentLoader(yaml.SafeLoader):
    """A SafeLoader that reads ``1e3`` as a float, merges ``<<:`` keys, refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping, refusing a key written twice (a merged key may be overridden)."""
        seen: dict[Any, Any] = {}
        written = [(k, v) for k, v in node.value if k.tag != "tag:yaml.org,2002:merge"]
        for key_node, _ in written:
            key = self.construct_object(key_node, deep=deep)
            try:
                twice = key in seen
            except TypeError:  # an unhashable key: SafeLoader reports it below
                break
            if twice:
                mark = key_node.start_mark
                raise ConfigError(
                    f"line {mark.line + 1}: the key '{key}' appears twice in one mapping "
                    f"(first on line {seen[key] + 1}); keep one of them"
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)  # flattens the merge keys first


# YAML 1.2 floats: replace SafeLoader's 1.1 float rule (which needs a dot) on this loader only
ExperimentLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ExperimentLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


_OPENING = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
            yaml.FlowSequenceStartToken)
_CLOSING = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def _check_depth(text: str) -> None:
    """Refuse text nested deeper than :data:`MAX_DEPTH` before the (recursive) parser sees it.

    Raises:
        ConfigError: Naming the line where the nesting passes the limit.
        yaml.YAMLError: The text is not valid YAML (the scanner's own error).
    """
    depth = 0
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, _OPENING):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(
                    f"line {token.start_mark.line + 1}: the file nests deeper than {MAX_DEPTH} "
                    "levels; an experiment file is far flatter: remove the nesting"
                )
        elif isinstance(token, _CLOSING):
            depth -= 1


def _check_size(root: yaml.Node) -> None:
    """Refuse a node graph whose expansion exceeds :data:`MAX_NODES` or :data:`MAX_DEPTH`."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    # iterative post-order over the graph; shared (aliased) nodes are counted from the memo
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes and not done:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if not done:
            if key in on_path:
                raise ConfigError("the file refers to itself through an alias; remove the cycle")
            on_path.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children)
            continue
        on_path.discard(key)
        sizes[key] = 1 + sum(sizes[id(c)] for c in children)
        depths[key] = 1 + max((depths[id(c)] for c in children), default=0)
        if sizes[key] > MAX_NODES:
            raise ConfigError(
                f"the file expands to more than {MAX_NODES:,} values (through aliases such as "
                "*name); an experiment file is far smaller: remove the aliases"
            )
        if depths[key] > MAX_DEPTH:
            raise ConfigError(
                f"the file nests deeper than {MAX_DEPTH} levels; an experiment file is far "
                "flatter: remove the nesting"
            )


def load_yaml(text: str) -> Any:
    """Parse an experiment file's text.

    Args:
        text: The YAML text.

    Returns:
        The parsed value (usually a mapping).

    Raises:
        yaml.YAMLError: Invalid YAML (the caller names the file and line).
        ConfigError: A duplicate key, or a file too large or deep once aliases are expanded.

    >>> load_yaml("learning_rate: 1e3\\nratio: 1.0\\nname: 1e3x")
    {'learning_rate': 1000.0, 'ratio': 1.0, 'name': '1e3x'}
    >>> load_yaml("base: &b {type: rnn, hidden_size: 8}\\nmodel: {<<: *b, hidden_size: 4}")["model"]
    {'type': 'rnn', 'hidden_size': 4}
    """
    _check_depth(text)
    loader = ExperimentLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def expanded_size(value: Any, limit: int = MAX_NODES) -> int:
    """How many values ``value`` holds once shared references are copied (stops past ``limit``).

    For configs built in Python (not read from a file): a list holding the same list many times
    over is as large, once dumped, as the file it would come from.

    >>> a = [1, 2]
    >>> expanded_size([a, a, {"k": a}])
    12
    """
    memo: dict[int, int] = {}

    def size(item: Any, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise ConfigError(f"a value nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            return 1
        key = id(item)
        if key not in memo:
            total = 1
            for child in children:
                total += size(child, depth + 1)
                if total > limit:
                    break
            memo[key] = total
        return memo[key]

    return size(value, 0)
