import numpy as np

from xlexec.core.arrays import filled


def test_filled_holds_the_one_value_in_every_cell():
    a = filled(4, "USD")
    assert a.dtype == object and a.shape == (4,)
    assert a.tolist() == ["USD", "USD", "USD", "USD"]
    assert all(type(x) is str for x in a)
    assert a[0] is a[3]  # the one object, not a copy per cell


def test_filled_takes_a_shape_and_any_value():
    b = filled((2, 3), "")
    assert b.shape == (2, 3) and b.tolist() == [["", "", ""], ["", "", ""]]
    assert filled(0, "x").shape == (0,)
    assert filled(2, None).tolist() == [None, None]
    assert filled(3, 1.5).tolist() == [1.5, 1.5, 1.5]
    c = filled(3, "a")
    c[1] = "b"  # a new array each time, its own
    assert c.tolist() == ["a", "b", "a"] and filled(3, "a").tolist() == ["a", "a", "a"]
    assert np.array_equal(filled(5, "xlx-1"), np.full(5, "xlx-1", dtype=object))
