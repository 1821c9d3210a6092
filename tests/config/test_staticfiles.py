"""The production static files' storage: each page links the hashed (cache-busting) name of
every file, as the manifest says, and a file the manifest lacks is an error, every time."""

import pytest
from django.core.management import call_command
from django.test import override_settings

from config.staticfiles import StaticFilesStorage


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """The static files collected once, as a deployment collects them."""
    root = tmp_path_factory.mktemp("static")
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "config.staticfiles.StaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=root, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield root


@pytest.fixture
def storage(collected):
    with override_settings(STATIC_ROOT=collected):
        yield StaticFilesStorage()


def test_a_file_is_linked_by_its_hashed_name(storage, collected):
    url = storage.url("css/qipp.css")
    assert url.startswith("/static/css/qipp.") and url.endswith(".css")
    assert url != "/static/css/qipp.css"
    assert (collected / url.removeprefix("/static/")).exists()
    assert storage.url("css/qipp.css") == url


def test_a_file_the_manifest_lacks_is_an_error_each_time(storage):
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("css/no-such-file.css")
