from fractions import Fraction

import pytest

from labkit.errors import SpecError
from labkit.quantity import format_bytes, parse_cpus, parse_memory, parse_quantity


@pytest.mark.parametrize(("text", "style", "expected"), [
    ("512MB", "docker", 512 * 2**20),
    ("512m", "docker", 512 * 2**20),
    ("1g", "docker", 2**30),
    ("256Mi", "docker", 256 * 2**20),
    ("256Mi", "kubernetes", 256 * 2**20),
    ("128M", "kubernetes", 128 * 10**6),
    ("1Gi", "kubernetes", 2**30),
    ("129e6", "kubernetes", 129 * 10**6),
    ("134217728", "kubernetes", 134217728),
    (67108864, "docker", 67108864),
    ("123Mi", "kubernetes", 128974848),
    ("129M", "kubernetes", 129 * 10**6),
    ("1E8", "kubernetes", 10**8),  # an exponent, not exa
    ("1.", "kubernetes", 1),  # "1." is a valid number in the grammar (then too small)
    ("+64Mi", "kubernetes", 64 * 2**20),
    ("4096.5", "kubernetes", 4097),  # a fraction of a byte rounds up, as Value() does
])
def test_memory_in_docker_and_kubernetes_forms(text, style, expected):
    if expected < 4096:
        with pytest.raises(SpecError, match="too small"):
            parse_memory(text, style=style)
    else:
        assert parse_memory(text, style=style) == expected


@pytest.mark.parametrize(("text", "value"), [
    ("100m", Fraction(1, 10)), ("0.5", Fraction(1, 2)), ("1e3", Fraction(1000)),
    ("1E-3", Fraction(1, 1000)), ("5u", Fraction(5, 10**6)), ("3n", Fraction(3, 10**9)),
    ("2k", Fraction(2000)), ("1Ei", Fraction(2**60)), ("-1.5Gi", Fraction(-3 * 2**29)),
    (".5", Fraction(1, 2)), (7, Fraction(7)),
])
def test_kubernetes_quantity_grammar(text, value):
    assert parse_quantity(text)[0] == value


@pytest.mark.parametrize("text", ["", "Mi", "1 Mi", "1mi", "1e", "1.2.3", "0x10", "1KiB",
                                  "--1", "1e1000", True, "inf"])
def test_not_kubernetes_quantities(text):
    assert parse_quantity(text) is None


@pytest.mark.parametrize(("text", "said"), [
    ("-64Mi", "is negative"), ("100m", "counts fractions of a byte"),
    ("1e999", "larger than any"), ("64MB", "not a Kubernetes quantity"),
])
def test_kubernetes_memory_refusals_are_one_sentence(text, said):
    with pytest.raises(SpecError) as caught:
        parse_memory(text, style="kubernetes")
    message = str(caught.value)
    assert said in message and message.endswith(".") and ": " in message


@pytest.mark.parametrize("text", ["12 parsecs", "-5", "512q", "", "Mi", "1.2.3g"])
def test_malformed_memory_is_one_sentence_naming_the_fix(text):
    with pytest.raises(SpecError) as caught:
        parse_memory(text)
    message = str(caught.value)
    assert repr(text) in message and "512MB" in message and message.count(".") >= 1
    assert "\n" not in message


def test_memory_too_small_says_so():
    with pytest.raises(SpecError, match="too small"):
        parse_memory("1k")


@pytest.mark.parametrize(("value", "cores"), [("500m", 0.5), ("0.5", 0.5), (0.5, 0.5), (2, 2.0),
                                              ("1500m", 1.5), ("1e-1", 0.1), ("0.0005", 0.001),
                                              ("100u", 0.001), ("1.0001", 1.001),
                                              (0.1 + 0.2, 0.3), ("1024", 1024.0)])
def test_cpus(value, cores):
    assert parse_cpus(value) == cores


@pytest.mark.parametrize("value", ["half", "0", "5000000m", True, "-1", "1025", "1 core"])
def test_bad_cpus(value):
    with pytest.raises(SpecError, match="500m"):
        parse_cpus(value)


def test_format_bytes():
    assert format_bytes(512 * 2**20) == "512 MiB"
    assert format_bytes(None) == "unlimited"
    assert format_bytes(1536) == "1.5 KiB"
