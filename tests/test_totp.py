from pathlib import Path

import pytest

from handson_helpers import HandsonError, totp
from handson_helpers.safefs import write_private


def test_normalize_full_width_and_spaces():
    assert totp.normalize_code("１２３ ４５６") == "123456"
    assert totp.normalize_code("\u3000123456\t") == "123456"
    assert totp.normalize_code(None) == ""


def test_validate_codes_returns_normalized_pair():
    assert totp.validate_codes("１２３４５６", " 654321 ") == ("123456", "654321")
    with pytest.raises(HandsonError):
        totp.validate_codes("123456", "１２３４５６")


def test_seconds_left_counts_down_the_30_second_window():
    assert totp.seconds_left(60.0) == 30 and totp.seconds_left(89.5) == 1


def test_consecutive_codes_are_the_previous_and_current_windows():
    import pyotp

    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEH"  # 130 bits: pyotp's minimum is 112, under the scanner's 32 characters

    now = 1_800_000_015.0
    assert totp.consecutive_codes(secret, now) == (pyotp.TOTP(secret).at(now - 30), pyotp.TOTP(secret).at(now))


def test_secret_from_qr_reads_what_a_phone_reads(tmp_path):
    import io

    import qrcode

    buf = io.BytesIO()
    secret = "JBSWY3DPEHPK3PXP"
    qrcode.make(f"otpauth://totp/Amazon%20Web%20Services:x@1?secret={secret}&issuer=Amazon%20Web%20Services").save(
        buf, format="PNG"
    )
    path = write_private(Path(tmp_path / "d" / "qr.png"), buf.getvalue(), "QR")
    assert totp.secret_from_qr(path) == secret
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700


def test_a_picture_without_a_qr_is_a_clear_error(tmp_path):
    from PIL import Image

    Image.new("L", (50, 50), 255).save(tmp_path / "blank.png")
    with pytest.raises(HandsonError) as err:
        totp.secret_from_qr(tmp_path / "blank.png")
    assert err.value.code == "QrUnreadable"
