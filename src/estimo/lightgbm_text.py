"""A structural check of LightGBM's text model format, run before LightGBM parses it.

LightGBM parses the trees of a text model in parallel threads where its own format errors
cannot be raised to Python: a damaged tree (an array one value short, a number that does not
parse, a ``tree_sizes`` entry that no longer matches its tree) aborts the whole process with
pages of ``[LightGBM] [Fatal] Model format error``. :func:`lightgbm_text_problem` finds such
damage first and says what it is, so the model folder is refused with one clear error.

What is checked: the header's ``max_feature_idx``, ``feature_names`` and ``feature_infos``;
``tree_sizes`` against the trees; each ``Tree=`` block's required keys, the length of every
array against ``num_leaves`` (and ``num_cat``), that every number parses, split features
below ``max_feature_idx + 1``, child indices inside the tree, categorical thresholds inside
``cat_boundaries``; and the ``pandas_categorical`` line's JSON.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

__all__ = ["lightgbm_text_problem"]

_INTERNAL = ("split_feature", "threshold", "decision_type", "left_child", "right_child")
"""Keys a tree with more than one leaf must have, one value per internal node."""
_INTERNAL_OPTIONAL = ("split_gain", "internal_value", "internal_weight", "internal_count")
_LEAF_OPTIONAL = ("leaf_weight", "leaf_count")
_FLOATS = frozenset(
    ("threshold", "split_gain", "internal_value", "internal_weight", "leaf_value", "leaf_weight")
)
_FLOAT_CHARS = str.maketrans("", "", "0123456789.-+eEinfa ")
_INT_CHARS = str.maketrans("", "", "0123456789- ")
_PLAIN_FLOAT_CHARS = str.maketrans("", "", "0123456789.-+eE ")


class _DamagedError(Exception):
    """One problem of the text, said in words."""


def lightgbm_text_problem(text: str) -> str | None:
    """What is structurally wrong with a LightGBM text model, or None.

    Parameters
    ----------
    text : str
        The whole model as LightGBM's ``model_to_string`` wrote it.

    Returns
    -------
    str or None
        A problem such as ``"tree 3: split_feature has 999999, expected a feature index
        below 30 (max_feature_idx=29)"``.

    Examples
    --------
    >>> good = ("tree\\nversion=v4\\nmax_feature_idx=0\\nfeature_names=x\\nfeature_infos=none"
    ...         "\\n\\nTree=0\\nnum_leaves=1\\nnum_cat=0\\nleaf_value=0.5\\nshrinkage=1\\n\\n\\n"
    ...         "end of trees\\n")
    >>> lightgbm_text_problem(good) is None
    True
    >>> lightgbm_text_problem(good.replace("leaf_value=0.5", "leaf_value=0.5.1"))
    "tree 0: leaf_value has a value that is not a number ('0.5.1')"
    """
    try:
        _check(text)
    except _DamagedError as exc:
        return str(exc)
    return None


def _check(text: str) -> None:
    first = text.find("\nTree=")
    end = text.find("\nend of trees")
    if end < 0:
        raise _DamagedError('has no "end of trees"')
    header = _key_values(text[: end if first < 0 else first].split("\n"))
    n_features = _header_features(header)
    blocks = text[first:end].split("\nTree=")[1:] if first >= 0 else []
    _check_tree_sizes(header.get("tree_sizes"), blocks, text[first:end] if first >= 0 else "")
    try:
        sound = _all_trees_sound(blocks, n_features)
    except Exception:  # any surprise: the tree by tree check decides
        sound = False
    if not sound:  # the tree by tree check says what is wrong
        for i, block in enumerate(blocks):
            _check_tree(i, block, n_features)
    _check_parameters(text[end:])
    _check_pandas_categorical(text[end:])


_BULK_FLOATS = ("leaf_value", "threshold")
_BULK_INTS = ("split_feature", "left_child", "right_child", "decision_type")


def _all_trees_sound(blocks: list[str], n_features: int) -> bool:
    """Whether every tree passes the checks of :func:`_check_tree`, all trees at once: keys
    and array lengths tree by tree, then the numbers of all trees parsed together by numpy
    by Arrow's CSV reader (several times faster than tree by tree); False sends the text to
    the tree by tree check, which names the damage (and has the last word).
    """
    floats: list[str] = []
    other: list[str] = []
    ints: dict[str, list[str]] = {k: [] for k in (*_BULK_INTS, "cat_boundaries")}
    inner: list[int] = []  # internal nodes of each tree with splits
    leaves: list[int] = []
    cats: list[int] = []
    thresholds: list[str] = []
    for i, block in enumerate(blocks):
        lines = block.split("\n")
        tree = _key_values(lines[1:])
        try:
            n_leaves, n_cat = int(tree["num_leaves"]), int(tree["num_cat"])
            if lines[0] != str(i) or n_leaves < 1 or n_cat < 0:
                return False
            if tree.get("is_linear", "0") != "0" or not _has(tree, "leaf_value", n_leaves):
                return False
            if not all(_has(tree, k, n_leaves) for k in _LEAF_OPTIONAL if k in tree):
                return False
            floats.append(tree["leaf_value"])
            other.extend(tree[k] for k in (*_LEAF_OPTIONAL, "shrinkage") if k in tree)
            if n_leaves == 1:
                continue
            n_inner = n_leaves - 1
            if not all(_has(tree, k, n_inner) for k in _INTERNAL):
                return False
            if not all(_has(tree, k, n_inner) for k in _INTERNAL_OPTIONAL if k in tree):
                return False
            if n_cat and not _has(tree, "cat_boundaries", n_cat + 1):
                return False
            if n_cat and not _has(
                tree, "cat_threshold", int(tree["cat_boundaries"][-9:].split()[-1])
            ):
                return False
        except (KeyError, ValueError):
            return False
        thresholds.append(tree["threshold"])
        other.extend(tree[k] for k in _INTERNAL_OPTIONAL if k in tree)
        for key in _BULK_INTS:
            ints[key].append(tree[key])
        if n_cat:
            ints["cat_boundaries"].append(tree["cat_boundaries"])
            other.append(tree["cat_threshold"])
        inner.append(n_inner)
        leaves.append(n_leaves)
        cats.append(n_cat)
    return _numbers_sound(floats, thresholds, other, ints, inner, leaves, cats, n_features)


def _has(tree: dict[str, str], key: str, n: int) -> bool:
    text = tree[key]
    return bool(text) and text.count(" ") + 1 == n


def _parsed(parts: list[str], kind: str, chars: dict) -> np.ndarray | None:
    """The numbers of ``parts`` (arrays of space-separated numbers) in one array, or None
    when one of them does not parse or holds characters numbers are not written with
    (Arrow's CSV reader parses them: about four times faster than numpy or Python)."""
    joined = " ".join(parts)
    if not joined:
        return np.zeros(0, dtype=kind)
    if joined.translate(chars):
        return None
    options = pa_csv.ConvertOptions(column_types={"v": kind})
    lines = joined.replace(" ", "\n").encode("ascii")
    try:
        table = pa_csv.read_csv(
            io.BytesIO(lines),
            read_options=pa_csv.ReadOptions(column_names=["v"]),
            convert_options=options,
        )
    except (pa.ArrowInvalid, UnicodeEncodeError):
        return None
    return table.column(0).to_numpy()


def _numbers_sound(
    floats: list[str],
    thresholds: list[str],
    other: list[str],
    ints: dict[str, list[str]],
    inner: list[int],
    leaves: list[int],
    cats: list[int],
    n_features: int,
) -> bool:
    total_inner = sum(inner)
    rest = " ".join(other).replace("inf", "").replace("nan", "")  # arrays prediction skips
    if rest.translate(_PLAIN_FLOAT_CHARS):
        return False
    found = []
    for parts, n in ((floats, None), (thresholds, total_inner)):
        values = _parsed(parts, "float64", _FLOAT_CHARS)
        if values is None or (n is not None and len(values) != n):
            return False
        found.append(values)
    node_inner = np.repeat(np.asarray(inner, dtype=np.int64), inner)
    node_leaves = np.repeat(np.asarray(leaves, dtype=np.int64), inner)
    parsed = {k: _parsed(v, "int64", _INT_CHARS) for k, v in ints.items()}
    if any(v is None for v in parsed.values()):
        return False
    if any(len(parsed[k]) != total_inner for k in _BULK_INTS):
        return False
    features = parsed["split_feature"]
    if len(features) and (features.min() < 0 or features.max() >= n_features):
        return False
    for key in ("left_child", "right_child"):
        children = parsed[key]
        if ((children >= node_inner) | (children < -node_leaves)).any():
            return False
    categorical = (parsed["decision_type"] & 1).astype(bool)
    if not categorical.any():
        return True
    node_cats = np.repeat(np.asarray(cats, dtype=np.int64), inner)
    split_at = found[1][categorical]
    cat_of = node_cats[categorical]
    if ((split_at < 0) | (split_at >= cat_of) | (split_at != np.floor(split_at))).any():
        return False
    return _boundaries_sound(parsed["cat_boundaries"], [c for c in cats if c])


def _boundaries_sound(bounds: np.ndarray, cats: list[int]) -> bool:
    """Each tree's ``cat_boundaries`` start at 0 and do not decrease (their last value, the
    length of ``cat_threshold``, is checked tree by tree when it differs)."""
    if len(bounds) != sum(c + 1 for c in cats):
        return False
    starts = np.cumsum([0, *(c + 1 for c in cats[:-1])]) if cats else np.zeros(0, np.int64)
    if len(starts) and (bounds[starts] != 0).any():
        return False
    steps = np.diff(bounds)
    inside = np.ones(len(steps), dtype=bool)
    inside[starts[1:] - 1] = False  # the step from one tree's last value to the next tree's 0
    return not (steps[inside] < 0).any()


def _key_values(lines: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value
    return values


def _header_features(header: dict[str, str]) -> int:
    raw = header.get("max_feature_idx")
    if raw is None:
        raise _DamagedError("the header has no max_feature_idx")
    n = _int(raw, "the header's max_feature_idx") + 1
    if n < 1:
        raise _DamagedError(f"the header's max_feature_idx is {raw!r}, expected >= 0")
    for key in ("feature_names", "feature_infos"):
        value = header.get(key)
        if value is None:
            raise _DamagedError(f"the header has no {key}")
        if value.count(" ") + 1 != n:
            raise _DamagedError(
                f"the header's {key} has {value.count(' ') + 1} entries, expected {n} "
                f"(max_feature_idx={n - 1})"
            )
    return n


def _check_tree_sizes(sizes: str | None, blocks: list[str], section: str) -> None:
    """``tree_sizes`` (bytes of each tree, used to find them) must match the trees."""
    if sizes is None:
        return
    recorded = [_int(s, "the header's tree_sizes") for s in sizes.split(" ")] if sizes else []
    if len(recorded) != len(blocks):
        raise _DamagedError(
            f"the header's tree_sizes lists {len(recorded)} trees, found {len(blocks)}"
        )
    if not section.isascii():
        raise _DamagedError("a tree holds characters that are not part of the format")
    # each tree is "Tree=" and its block up to the next one, with the newline before it
    actual = [len(block) + 6 for block in blocks]
    for i, (want, got) in enumerate(zip(recorded, actual, strict=True)):
        if want != got:
            raise _DamagedError(
                f"tree {i} is {got} bytes where tree_sizes says {want} (cut or altered)"
            )


def _check_tree(i: int, block: str, n_features: int) -> None:
    lines = block.split("\n")
    where = f"tree {i}"
    if lines[0] != str(i):
        raise _DamagedError(f"{where}: starts with 'Tree={lines[0][:20]}', expected 'Tree={i}'")
    tree = _key_values(lines[1:])
    for key in ("num_leaves", "num_cat", "leaf_value"):
        if key not in tree:
            raise _DamagedError(f"{where}: has no {key}")
    n_leaves = _int(tree["num_leaves"], f"{where}: num_leaves")
    n_cat = _int(tree["num_cat"], f"{where}: num_cat")
    if n_leaves < 1 or n_cat < 0:
        raise _DamagedError(f"{where}: num_leaves={n_leaves}, num_cat={n_cat}; expected >= 1, >= 0")
    if tree.get("is_linear", "0") != "0":
        raise _DamagedError(f"{where}: is_linear={tree['is_linear'][:10]!r}, expected 0")
    _numbers(tree, "leaf_value", n_leaves, where)
    if "shrinkage" in tree:
        _floats(tree["shrinkage"], f"{where}: shrinkage")
    for key in _LEAF_OPTIONAL:
        if key in tree:
            _counted(tree, key, n_leaves, where)
    if n_leaves == 1:
        return
    n_inner = n_leaves - 1
    for key in _INTERNAL:
        if key not in tree:
            raise _DamagedError(f"{where}: has no {key} (a tree of {n_leaves} leaves needs it)")
    for key in _INTERNAL_OPTIONAL:
        if key in tree:
            _counted(tree, key, n_inner, where)
    features = _numbers(tree, "split_feature", n_inner, where)
    if min(features) < 0 or max(features) >= n_features:
        bad = next(f for f in features if not 0 <= f < n_features)
        raise _DamagedError(
            f"{where}: split_feature has {bad}, expected a feature index below {n_features} "
            f"(max_feature_idx={n_features - 1})"
        )
    for key in ("left_child", "right_child"):
        children = _numbers(tree, key, n_inner, where)  # a node 0.., a leaf -1 .. -n_leaves
        if max(children) >= n_inner or min(children) < -n_leaves:
            child = next(c for c in children if not -n_leaves <= c < n_inner)
            raise _DamagedError(
                f"{where}: {key} has {child}, expected a node below {n_inner} or a leaf "
                f"-1 .. -{n_leaves}"
            )
    kinds = _numbers(tree, "decision_type", n_inner, where)
    thresholds = _numbers(tree, "threshold", n_inner, where)
    if n_cat or any(k & 1 for k in kinds):
        _check_categories(tree, n_cat, kinds, thresholds, where)


def _check_categories(
    tree: dict[str, str], n_cat: int, kinds: list, thresholds: list, where: str
) -> None:
    categorical = [t for k, t in zip(kinds, thresholds, strict=True) if k & 1]
    if not n_cat:
        if categorical:
            raise _DamagedError(f"{where}: has categorical splits but num_cat=0")
        return
    for key in ("cat_boundaries", "cat_threshold"):
        if key not in tree:
            raise _DamagedError(f"{where}: has no {key} (num_cat={n_cat})")
    bounds = _numbers(tree, "cat_boundaries", n_cat + 1, where)
    if bounds[0] != 0 or any(b > a for a, b in zip(bounds[1:], bounds, strict=False)):
        raise _DamagedError(f"{where}: cat_boundaries are not increasing from 0")
    _numbers(tree, "cat_threshold", bounds[-1], where)
    if any(not (0 <= t < n_cat and t == int(t)) for t in categorical):
        raise _DamagedError(f"{where}: a categorical split points outside its {n_cat} categories")


def _numbers(tree: dict[str, str], key: str, n: int, where: str) -> list:
    """The values of an array ``key``, which must hold ``n`` of them."""
    text = tree[key]
    count = text.count(" ") + 1 if text else 0
    if count != n:
        raise _DamagedError(f"{where}: {key} has {count} values, expected {n}")
    return _floats(text, f"{where}: {key}") if key in _FLOATS else _ints(text, f"{where}: {key}")


def _counted(tree: dict[str, str], key: str, n: int, where: str) -> None:
    """An array LightGBM reads but prediction does not use: ``n`` values written with the
    characters of numbers (parsing each would double the time of the check)."""
    text = tree[key]
    count = text.count(" ") + 1 if text else 0
    if count != n:
        raise _DamagedError(f"{where}: {key} has {count} values, expected {n}")
    if text.translate(_FLOAT_CHARS) or "  " in text or text.startswith(" "):
        bad = next((t for t in text.split(" ") if not _is_float(t)), text[:20])
        raise _DamagedError(f"{where}: {key} has a value that is not a number ({bad[:20]!r})")


def _floats(text: str, what: str) -> list[float]:
    if not text.translate(_FLOAT_CHARS) and "  " not in text and "_" not in text:
        try:
            return list(map(float, text.split(" ")))
        except ValueError:
            pass
    bad = next((t for t in text.split(" ") if not _is_float(t)), text[:20])
    raise _DamagedError(f"{what} has a value that is not a number ({bad[:20]!r})")


def _is_float(token: str) -> bool:
    if not token or token.translate(_FLOAT_CHARS):
        return False
    try:
        float(token)
    except ValueError:
        return False
    return True


def _ints(text: str, what: str) -> list[int]:
    if not text.translate(_INT_CHARS) and "  " not in text:
        try:
            return list(map(int, text.split(" ")))
        except ValueError:
            pass
    bad = next((t for t in text.split(" ") if not t.lstrip("-").isdigit()), text[:20])
    raise _DamagedError(f"{what} has a value that is not a whole number ({bad[:20]!r})")


def _int(text: str, what: str) -> int:
    if not text.lstrip("-").isdigit() or not text.isascii():
        raise _DamagedError(f"{what} is {text[:20]!r}, expected a whole number")
    return int(text)


def _check_parameters(tail: str) -> None:
    """The saved parameters, one ``[name: value]`` a line up to ``end of parameters``:
    LightGBM reads a line without its colon out of bounds when the booster is made (the
    process dies with a segmentation fault)."""
    start = tail.find("\nparameters:\n")
    if start < 0:
        return
    end = tail.find("\nend of parameters", start)
    if end < 0:
        raise _DamagedError('its parameters have no "end of parameters"')
    lines = tail[start + len("\nparameters:\n") : end].split("\n")
    for line in lines:
        if line and not (line.startswith("[") and line.endswith("]") and ": " in line):
            raise _DamagedError(f"its parameters hold {line[:30]!r}, expected '[name: value]'")


def _check_pandas_categorical(tail: str) -> None:
    start = tail.rfind("\npandas_categorical:")
    if start < 0:
        return
    line = tail[start + len("\npandas_categorical:") :].split("\n", 1)[0]
    try:
        levels = json.loads(line)
    except ValueError:
        raise _DamagedError(f"its pandas_categorical line is not JSON ({line[:20]!r})") from None
    if levels is None:
        return
    if not isinstance(levels, list) or not all(isinstance(c, list) for c in levels):
        raise _DamagedError("its pandas_categorical line is not a list of lists of categories")
    for column in levels:  # each feature's categories, each once (codes are positions)
        keys = [json.dumps(c, sort_keys=True) for c in column]
        if len(set(keys)) < len(keys):
            raise _DamagedError("its pandas_categorical line names a category twice")
