"""labkit's string and quantity rules against the tables of Kubernetes' own tests.

Each table is copied from the upstream test named in its parametrize id (paths in
kubernetes/kubernetes, read on master after v1.37.0), so a difference from the API server
shows up as a failing row, not as a learner's surprise.
"""

import pytest

from labkit.manifest import (
    default_pull_policy,
    is_dns_label,
    is_dns_subdomain,
    is_env_name,
    is_port_name,
    is_qualified_name,
    parse_image_name,
)
from labkit.quantity import kubernetes_cpus, kubernetes_memory

CONTENT = "staging/src/k8s.io/apimachinery/pkg/api/validate/content"
UTIL = "staging/src/k8s.io/apimachinery/pkg/util/validation/validation_test.go"


def _rows(test: str, good: list[str], bad: list[str]) -> list:
    return ([pytest.param(v, True, id=f"{test} good {v[:20]!r}") for v in good]
            + [pytest.param(v, False, id=f"{test} bad {v[:20]!r}") for v in bad])


DNS_LABEL = _rows(
    f"TestIsDNS1123Label ({CONTENT}/dns_test.go)",
    ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
     "a" * 63],
    ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a",
     "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2", " ", "a ", " a",
     "a b", "1 ", " 1", "1 2", "a" * 64])


@pytest.mark.parametrize(("value", "valid"), DNS_LABEL)
def test_dns_label(value, valid):
    assert is_dns_label(value) is valid


DNS_SUBDOMAIN = _rows(
    f"TestIsDNS1123Subdomain ({CONTENT}/dns_test.go)",
    ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
     "a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a", "a.1", "ab.1", "abc.1", "a1.1",
     "a-1.1", "a--1--2--b.1", "0.a", "01.a", "012.a", "1a.a", "1-a.a", "0.1", "01.1", "012.1",
     "1a.1", "1-a.1", "1--a--b--2.1", "a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5",
     "11.22.33.44.55", "a" * 253],
    ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a",
     "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a..b", "1.", ".1", "1..2", " ", "a ", " a",
     "a b", "1 ", " 1", "1 2", "A.a", "aB.a", "ab.A", "A1.a", "a1.A", "A.1", "aB.1", "A1.1",
     "1A.1", "0.A", "01.A", "012.A", "1A.a", "1a.A", "A.B.C.D.E", "AA.BB.CC.DD.EE",
     "a.B.c.d.e", "aa.bB.cc.dd.ee", "a@b", "a,b", "a;b", "a:b", "a%b", "a?b", "a$b",
     "a" * 254])


@pytest.mark.parametrize(("value", "valid"), DNS_SUBDOMAIN)
def test_dns_subdomain(value, valid):
    """253 in all, and no limit of 63 per part (labkit's old rule had one)."""
    assert is_dns_subdomain(value) is valid


LABEL_KEY = _rows(
    f"TestIsLabelKey ({CONTENT}/kube_test.go)",
    ["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple",
     "now-with-dashes/simple", "now-with-dashes/now-with-dashes", "now.with.dots/simple",
     "now-with.dashes-and.dots/simple", "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678",
     "Uppercase_Is_OK_123", "example.com/Uppercase_Is_OK_123", "requests.storage-foo",
     "a" * 63, "a" * 253 + "/" + "b" * 63],
    ["nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash",
     "Example.com/abc", "example_com/abc", "example.com/", "/simple", "a" * 64,
     "a" * 254 + "/abc"])


@pytest.mark.parametrize(("value", "valid"), LABEL_KEY)
def test_qualified_name(value, valid):
    assert is_qualified_name(value) is valid


PORT_NAME = _rows(
    f"TestIsValidPortName ({UTIL})",
    ["telnet", "re-mail-ck", "pop3", "a", "a-1", "1-a", "a-1-b-2-c", "1-a-2-b-3"],
    ["longerthan15characters", "", "a" * 16, "12345", "1-2-3-4", "-begin", "end-",
     "two--hyphens", "whois++"])


@pytest.mark.parametrize(("value", "valid"), PORT_NAME)
def test_port_name(value, valid):
    assert is_port_name(value) is valid


ENV_NAME = _rows(
    f"TestIsRelaxedEnvVarName ({UTIL})",
    ["-", ":", "_", "+a", ">a", "<a", "a.", "a..", "*a", "%a", "?a", "a:a", "a_a", "aAz", "~a",
     "|a", "a0a", "a9", "/a", "a ", "#a", "0a", "0 a", "'a", "(a", "@a",
     "1ST", "MY VAR", "."],  # the last three: the audit's rows, refused before 1.34
    ["", "=", "a=", "1=a", "a=b", "#%=&&", chr(1) + "abc", chr(130) + "abc", "Ç ç", "Ä ä",
     "Ñ ñ", "Ø ø", "\t", "é"])


@pytest.mark.parametrize(("value", "valid"), ENV_NAME)
def test_env_name_is_the_relaxed_rule(value, valid):
    assert is_env_name(value) is valid


DIGEST = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize(("image", "tag", "digest"), [
    pytest.param(image, tag, digest, id=f"TestParseImageName (pkg/util/parsers) {image[:24]}")
    for image, tag, digest in [
        ("root", "latest", ""), ("root:tag", "tag", ""), (f"root@{DIGEST}", "", DIGEST),
        ("user/repo", "latest", ""), ("user/repo:tag", "tag", ""),
        (f"user/repo@{DIGEST}", "", DIGEST), ("url:5000/repo", "latest", ""),
        ("url:5000/repo:tag", "tag", ""), (f"url:5000/repo@{DIGEST}", "", DIGEST),
        (f"nginx:latest@{DIGEST}", "latest", DIGEST)]])
def test_image_names(image, tag, digest):
    assert parse_image_name(image) == (tag, digest)


@pytest.mark.parametrize(("image", "policy"), [
    pytest.param(image, policy, id=f"SetDefaults_Container (pkg/apis/core/v1) {image[:30]}")
    for image, policy in [
        ("busybox", "Always"), ("busybox:latest", "Always"), ("busybox:1.36", "IfNotPresent"),
        ("localhost:5000/app", "Always"), ("localhost:5000/app:v1", "IfNotPresent"),
        (f"busybox@{DIGEST}", "IfNotPresent"),
        (f"nginx:latest@{DIGEST}", "Always"),  # the tag decides, though a digest is given
        (f"nginx:1.27@{DIGEST}", "IfNotPresent"),
        ("Nginx", "IfNotPresent"), ("nodejs::", "IfNotPresent"),  # no reference: no tag
    ]])
def test_default_pull_policy(image, policy):
    assert default_pull_policy(image) == policy


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(value, expected, id=f"Quantity.Value and String {value!r}")
    for value, expected in [
        ("64Mi", (64 * 2**20, None)), (0, (0, None)), ("0", (0, None)),
        ("100m", (1, "100m")), ("0.5", (1, "500m")), ("1.5", (2, "1500m")),
        ("0.0001", (1, "100u")), ("1e-1", (1, "100e-3")), ("0.3Ki", (308, "307200m")),
        ("1000000.5", (1000001, "1000000500m")), ("0.5Ki", (512, None))]])
def test_memory_as_the_api_server_takes_it(value, expected):
    """Bytes rounded up (``Quantity.Value()``), and the canonical form the API server's
    warning quotes for a fraction of a byte (``Quantity.String()``)."""
    assert kubernetes_memory(value) == expected


@pytest.mark.parametrize(("value", "cores"), [
    ("0", 0.0), (0, 0.0), ("250m", 0.25), ("1025", 1025.0), (2000, 2000.0), ("100u", 0.001)])
def test_cpu_as_the_api_server_takes_it(value, cores):
    """0 and more than 1024 cores are accepted, as ``ValidateResourceQuantityValue`` does."""
    assert kubernetes_cpus(value) == cores
