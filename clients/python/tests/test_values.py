"""The value and key encodings (docs/python.md, "Values" and "Keys"):
what goes in comes out equal and of the same type, scalars are stored as
the store's own scalars (what C programs and the CLI read), the rest as
tagged bytes that cannot be mistaken for a user's bytes."""
import decimal
import fractions
import pickle

import pytest

import mpstore
from mpstore import _codec, _core

SAMPLES = [
    None, True, False, 0, -1, 2 ** 63 - 1, -2 ** 63, 2 ** 63, -2 ** 100, 1.5, float("inf"),
    -0.0, "", "text", "ünïcødé ✓", "with\x00nul", "\udc80 lone surrogate", b"", b"bytes",
    b"\x00MPS", b"\x00MPSp not a pickle", b"\x00MPSb", bytearray(b"ba"), (), (1, "a"),
    [1, [2, [3]]], {"a": 1, 2: [3]}, {1, 2}, frozenset({"x"}), 1 + 2j,
    decimal.Decimal("1.10"), fractions.Fraction(1, 3), range(3), ("nested", {"d": (b"x",)}),
]


def raw_value(m, proxy):
    """What the store holds for a Value, as another language sees it."""
    c = _core.Client(m.address)
    res, _, _ = c.run([(_core.OP_VALUE_GET, proxy.name)], raw=True)
    c.close()
    return res[0][2]


@pytest.mark.parametrize("value", SAMPLES, ids=repr)
def test_roundtrip_everywhere(manager, value):
    lst = manager.list([value])
    assert lst[0] == value and type(lst[0]) is type(value)
    d = manager.dict()
    d["k"] = value
    assert d["k"] == value and type(d["k"]) is type(value)
    v = manager.Value("x", value)
    assert v.value == value and type(v.value) is type(value)
    q = manager.Queue()
    q.put(value)
    got = q.get()
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("value", [None, True, 7, -2 ** 63, 2.5, "s", "ünï", b"b\x00y"], ids=repr)
def test_scalars_are_stored_natively(manager, value):
    assert raw_value(manager, manager.Value("x", value)) == value
    assert type(raw_value(manager, manager.Value("x", value))) is type(value)


@pytest.mark.parametrize("value", [2 ** 64, (1,), [1], {"a": 1}, "a\x00b", bytearray(b"x"),
                                   b"\x00MPS...", 1j], ids=repr)
def test_others_are_tagged_bytes(manager, value):
    raw = raw_value(manager, manager.Value("x", value))
    assert type(raw) is bytes and raw[:4] == b"\x00MPS" and raw[4:5] in (b"p", b"b")
    assert _codec.decode(raw, None) == value


def test_users_bytes_that_look_encoded_are_escaped(manager):
    evil = b"\x00MPSp" + pickle.dumps([1, 2])
    v = manager.Value("x", evil)
    assert v.value == evil  # not [1, 2]
    assert raw_value(manager, v) == b"\x00MPSb" + evil


KEYS = ["plain", "", "\x1fesc", "nul\x00inside", 0, -5, 2 ** 70, 1.5, (1, "t"), b"bk", None,
        frozenset({1})]


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_keys_roundtrip(manager, key):
    d = manager.dict()
    d[key] = "v"
    assert d[key] == "v" and key in d
    assert list(d.keys()) == [key] and type(list(d)[0]) is type(key)
    assert d.copy() == {key: "v"}
    del d[key]
    assert key not in d and len(d) == 0


def test_keys_equal_in_python_are_one_key(manager):
    d = manager.dict()
    d[1] = "int"
    d[True] = "bool"
    d[1.0] = "float"
    assert len(d) == 1 and d[1] == "float"  # as in a dict: 1 == True == 1.0


def test_plain_str_keys_are_stored_as_they_are(manager):
    d = manager.dict()
    d["k"] = 1
    d[5] = 2
    c = _core.Client(manager.address)
    res, _, _ = c.run([(_core.OP_DICT_KEYS, d.name)], raw=True)
    c.close()
    assert res[0][4] == ["k", "\x1fi5"]


def test_unhashable_key_is_a_type_error(manager):
    d = manager.dict()
    with pytest.raises(TypeError):
        d[[1]] = 1


def test_array_typecodes_check_ranges(manager):
    a = manager.Array("b", [1, -2])
    with pytest.raises(OverflowError):
        a[0] = 200
    with pytest.raises(TypeError):
        a[0] = 1.5
    d = manager.Array("d", 3)
    d[1] = 2  # an int in a float array becomes a float, as in array.array
    assert d[:].tolist() == [0.0, 2.0, 0.0] and type(d[1]) is float
    with pytest.raises(ValueError):
        manager.Array("u", "abc")


def test_value_keeps_any_type_like_managers(manager):
    v = manager.Value("i", 1)
    v.value = "now a string"  # Manager's Value does not enforce the typecode either
    assert v.value == "now a string" and str(v) == "Value('i', 'now a string')"


def test_value_add_is_numeric(manager):
    v = manager.Value("i", 5)
    assert v.add(3) == 8 and v.add(-10) == -2 and v.add(0.5) == -1.5
    s = manager.Value("u", "text")
    with pytest.raises(TypeError):
        s.add(1)


def test_objects_of_user_classes_travel_by_pickle(manager):
    lst = manager.list()
    lst.append(mpstore.Error(3, "a picklable exception"))
    got = lst[0]
    assert isinstance(got, mpstore.Error) and got.code == 3
