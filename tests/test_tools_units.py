"""The unit address grammar: parse/format round trips and errors that say what exists."""
import pytest

from tools.models import tiny_model
from tools.units import Unit, UnitError, expand, list_units, parse_unit, validate


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama", n_layers=2, d_model=32, n_heads=4, d_mlp=64)


@pytest.mark.parametrize("address,expected", [
    ("layer.3.mlp.neuron.117", Unit(3, "mlp", (117,))),
    ("layer.5.attn.head.2", Unit(5, "attn", (2,))),
    ("layer.4.resid", Unit(4, "resid", None)),
    ("layer.3.mlp.neuron.0:5", Unit(3, "mlp", (0, 1, 2, 3, 4))),
    ("layer.0.resid.dim.1,7,9", Unit(0, "resid", (1, 7, 9))),
])
def test_parse_and_format_round_trip(address, expected):
    unit = parse_unit(address)
    assert unit == expected
    assert str(unit) == address
    assert parse_unit(str(unit)) == unit


@pytest.mark.parametrize("bad,needle", [
    ("layer.3.mlp.head.1", "indexed by 'neuron'"),
    ("layer.3.mlp.neuron.5:2", "A < B"),
    ("mlp.3", "cannot parse"),
    ("layer.x.resid", "cannot parse"),
])
def test_parse_errors_explain(bad, needle):
    with pytest.raises(UnitError, match=needle):
        parse_unit(bad)


def test_validate_names_what_exists(model):
    with pytest.raises(UnitError, match=r"layers 0\.\.1"):
        validate("layer.2.resid", model)
    with pytest.raises(UnitError, match=r"neurons 0\.\.63"):
        validate("layer.1.mlp.neuron.64", model)
    with pytest.raises(UnitError, match=r"heads 0\.\.3"):
        validate("layer.0.attn.head.0:5", model)
    assert validate("layer.1.attn.head.3", model) == Unit(1, "attn", (3,))


def test_list_units_is_compact_and_valid(model):
    units = list_units(model)
    assert units[:3] == ["layer.0.attn.head.0:4", "layer.0.mlp.neuron.0:64", "layer.0.resid.dim.0:32"]
    assert len(units) == 6
    for u in units:
        validate(u, model)


def test_expand_whole_site(model):
    assert [str(u) for u in expand("layer.0.attn", model)] == [f"layer.0.attn.head.{h}" for h in range(4)]


def test_list_units_by_short_name():
    units = list_units("minilm")
    assert units[0] == "layer.0.attn.head.0:12" and units[-1] == "layer.5.resid.dim.0:384"
