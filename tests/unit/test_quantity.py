import pytest

from labkit.errors import SpecError
from labkit.quantity import format_bytes, parse_cpus, parse_memory


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
])
def test_memory_in_docker_and_kubernetes_forms(text, style, expected):
    assert parse_memory(text, style=style) == expected


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
                                              ("1500m", 1.5)])
def test_cpus(value, cores):
    assert parse_cpus(value) == cores


@pytest.mark.parametrize("value", ["half", "0", "5000000m", True, "-1"])
def test_bad_cpus(value):
    with pytest.raises(SpecError, match="500m"):
        parse_cpus(value)


def test_format_bytes():
    assert format_bytes(512 * 2**20) == "512 MiB"
    assert format_bytes(None) == "unlimited"
    assert format_bytes(1536) == "1.5 KiB"
