"""The compiled payload walk and layout (``_scan_core.flatten``/``layout``) give exactly what their Python references
(``structured.leaves_py``, ``engine.layout_py``) give, on generated payloads of every shape the worker accepts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from detectors import engine, structured
from detectors.structured import MAX_PATH_DEPTH, leaves_py

KEYS = st.one_of(
    st.sampled_from(["姓名", "手机", "id", "a.b", "x[0]", "", "13812345678", "li@example.cn", "k" * 200]),
    st.text(max_size=12),
    st.integers(-5, 10**12),
)
LEAVES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["13812345678", "11010519491231002X", "张三", "", "\u00df", "\U0001f600", "ｘ１２"]),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
PAYLOADS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(KEYS, inner, max_size=5),
    ),
    max_leaves=40,
)


def test_the_compiled_walk_and_layout_are_built() -> None:
    assert structured._flatten is not None and engine._layout is not engine.layout_py


@settings(max_examples=400, deadline=None)
@given(PAYLOADS, st.sampled_from(["", "payload", "用户"]))
def test_compiled_walk_equals_the_reference(payload, path) -> None:
    assert structured.leaves(payload, path) == leaves_py(payload, path)


def _nested(depth: int, leaf):
    for i in range(depth):
        leaf = {"k": leaf, "n": [i, str(i)]} if i % 2 else [leaf, {"手机": "13812345678"}]
    return leaf


def test_compiled_walk_equals_the_reference_past_the_path_depth() -> None:
    for depth in (MAX_PATH_DEPTH - 1, MAX_PATH_DEPTH, MAX_PATH_DEPTH + 1, 3 * MAX_PATH_DEPTH):
        payload = _nested(depth, {"13812345678": "x", "身份证": "11010519491231002X"})
        assert structured.leaves(payload) == leaves_py(payload)


class Str(str):
    pass


def test_compiled_walk_treats_str_and_dict_subclasses_as_the_reference_does() -> None:
    from collections import OrderedDict

    payload = OrderedDict([(Str("手机"), Str("13812345678")), ("l", (1, 2.5, True)), (7, {Str("a"): [None]})])
    assert structured.leaves(payload) == leaves_py(payload)


@settings(max_examples=300, deadline=None)
@given(PAYLOADS)
def test_compiled_layout_equals_the_reference(payload) -> None:
    leaves = leaves_py(payload)
    assert engine._layout(leaves) == engine.layout_py(leaves)
    odd = [(None, "13812345678"), ("路径", "\U0001f600值"), ("", "")]
    assert engine._layout(odd) == engine.layout_py(odd)
