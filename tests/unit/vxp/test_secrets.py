"""VXP secrets at rest: sealed with the hub's keys, opened by any of them, rotated."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from hub.errors import ConfigurationError, StorageError
from hub.settings import Settings, load_settings
from hub.vxp.secrets import SecretBox, new_key

SECRET = "ltv_a-secret-that-must-not-leak"


def test_a_sealed_secret_opens_to_itself_and_does_not_show_it() -> None:
    box = SecretBox([new_key()])

    sealed = box.seal(SECRET)

    assert SECRET not in sealed
    assert box.open(sealed) == SECRET


def test_without_a_key_no_box_is_made_and_the_setting_is_named() -> None:
    with pytest.raises(ConfigurationError, match="LIENTHONG_VXP_KEYS"):
        SecretBox([])


def test_a_secret_sealed_under_an_older_key_opens_and_reseals_under_the_first() -> None:
    old, new = new_key(), new_key()
    sealed = SecretBox([old]).seal(SECRET)

    resealed = SecretBox([new, old]).reseal(sealed)

    assert SecretBox([new]).open(resealed) == SECRET


def test_a_secret_under_a_removed_key_is_a_storage_error() -> None:
    sealed = SecretBox([new_key()]).seal(SECRET)

    with pytest.raises(StorageError) as caught:
        SecretBox([new_key()]).open(sealed)

    assert caught.value.code == "vxp.undecryptable"


def test_the_settings_take_comma_separated_keys_the_first_first() -> None:
    first, second = new_key(), new_key()

    settings = Settings(vxp_keys=f" {first} , {second} ")

    assert settings.vxp.key_list == [first, second]


def test_a_malformed_key_is_refused_without_being_repeated() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(vxp_keys="not-a-key-value")

    assert "LIENTHONG_VXP_KEYS" in str(caught.value)
    assert "not-a-key-value" not in str(caught.value)


def test_a_new_key_is_a_fernet_key() -> None:
    Fernet(new_key())
