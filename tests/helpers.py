"""Shared bits of the tests: the learner's phone, and a user+device made through the kit."""

import time

import pyotp

import handson_helpers as hh
from handson_helpers import totp

USER = "handson-cli-basic-user"
PATH = "/handson-cli/"
DEVICE = "handson-cli-basic-user-mfa"


def outfile(home):
    return str(home / "environment" / "tmp-handson-cli-iam-user-basic" / f"{DEVICE}.png")


def phone_codes(png_path, offset_windows=0):
    """Two consecutive codes read from the QR image, shifted by whole 30-second windows."""
    secret = totp.secret_from_qr(png_path)
    return totp.consecutive_codes(secret, time.time() + offset_windows * 30)


def make_user_and_device(ctx, qr_file):
    hh.create_user(ctx, USER, PATH)
    return hh.create_virtual_mfa_device(ctx, DEVICE, qr_file)


def totp_at(secret, when):
    return pyotp.TOTP(secret).at(when)
