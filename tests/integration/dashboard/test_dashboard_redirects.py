"""Where the dashboard sends a browser after `?next=`: a path of this site, or the dashboard's
home, never another site however the address is disguised (issue #18, item 17)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

ORIGIN = "https://localhost"
HOME = "/dashboard/"


def as_a_browser_follows(location: str, base: str) -> tuple[str, str]:
    """The scheme and host a browser goes to for this Location header: the URL standard drops
    surrounding controls and spaces and every tab or newline, and reads `\\` as `/` in http(s)."""
    cleaned = location.strip("".join(map(chr, range(0x21))))
    cleaned = cleaned.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    resolved = urlsplit(urljoin(base, cleaned))
    return resolved.scheme, resolved.netloc


@pytest.fixture
def switch_language(dashboard_client: Callable[..., Any]) -> Callable[[str], str]:
    client = dashboard_client(None)

    def follow(next_value: str) -> str:
        response = client.get(f"/dashboard/language/ja?next={quote(next_value, safe='')}")
        assert response.status_code == 302
        location: str = response.headers["Location"]
        return location

    return follow


@pytest.mark.parametrize(
    "next_value",
    [
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        " //evil.example",
        "\x00//evil.example",
        "https://evil.example",
        "https:evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "evil.example",
        "/dashboard/\u3000/",
        "/\x85/evil.example",
        "",
    ],
)
def test_another_site_or_no_path_goes_home(
    switch_language: Callable[[str], str], next_value: str
) -> None:
    assert switch_language(next_value) == HOME


@pytest.mark.parametrize(
    "next_value",
    ["/dashboard/", "/dashboard/circulars/3", "/dashboard/?page=2", "/dashboard/audit#top"],
)
def test_a_path_of_this_site_is_followed(
    switch_language: Callable[[str], str], next_value: str
) -> None:
    assert switch_language(next_value) == next_value


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.text(alphabet=st.sampled_from("/\\\t\n\r :.%@?#aevilx09検\x85"), max_size=12))
@example("/\t/evil.example")
def test_no_next_leaves_the_site(switch_language: Callable[[str], str], next_value: str) -> None:
    location = switch_language(next_value)
    base = f"{ORIGIN}/dashboard/language/ja"
    assert as_a_browser_follows(location, base) == as_a_browser_follows("/", base)
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    # A header carries ASCII: anything else would fail in the server, not reach a page.
    assert location.isascii()
