"""The 2.2 form: it only collects input; bad input, retries, double clicks and what it leaves behind."""

import asyncio
import json
from functools import partial

import ipywidgets as w
import pytest
from helpers import USER, make_user_and_device, outfile, phone_codes, shown
from test_bad_input import iam_state

import handson_helpers as hh
from handson_helpers import totp
from handson_helpers.settings import expand
from handson_helpers.widget import MfaEnableForm

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture
def form(ctx, tmp_path):
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    form = MfaEnableForm(USER, serial, expand(qr).read_bytes(), partial(hh.enable_mfa_device, ctx, USER, serial))
    form.reveal()  # as once the front end has answered (cell_wait)
    return form, qr


def all_state(widget):
    states = [widget.get_state()]
    for child in getattr(widget, "children", ()):
        states += all_state(child)
    return states


def test_wrong_codes_then_a_retry_with_full_width_digits(form, iam):
    form, qr = form
    before = iam_state(iam)
    form.code1.value, form.code2.value = "123456", "654321"
    form.submit()
    assert "認証コードが正しくありません" in form.status.value and not form.finished
    assert form.code1.value == form.code2.value == ""  # ready for fresh codes
    assert iam_state(iam) == before
    form.code1.value = "12345"
    form.submit()
    assert "6桁" in form.status.value and iam_state(iam) == before
    code1, code2 = phone_codes(qr)
    form.code1.value, form.code2.value = code1.translate(FULL_WIDTH), code2
    form.submit()
    assert form.result == "enabled" and "有効化しました" in form.status.value
    assert iam_state(iam) != before


def test_a_second_click_after_success_is_harmless_and_says_so(form, iam):
    form, qr = form
    form.code1.value, form.code2.value = phone_codes(qr)
    form.submit()
    after = iam_state(iam)
    form.submit()
    assert "既に有効化されています" in form.status.value and form.result == "enabled"
    assert iam_state(iam) == after


def test_after_success_nothing_secret_is_left_in_widget_state(form):
    form, qr = form
    code1, code2 = phone_codes(qr)
    form.code1.value, form.code2.value = code1, code2
    assert bytes(form.image.value).startswith(b"\x89PNG")
    form.submit()
    state = json.dumps(
        [{k: v for k, v in s.items() if not isinstance(v, (bytes, memoryview))} for s in all_state(form)],
        ensure_ascii=False,
    )
    assert code1 not in state and code2 not in state
    assert form.image.value == b"" and form.image not in form.children and form.image.comm is None
    assert totp.secret_from_qr(qr) not in state  # the seed never reaches widget state


def test_confirmation_panel_masks_the_codes(form):
    form, qr = form
    code1, _ = phone_codes(qr)
    form.code1.value = code1
    assert "6桁入力済み" in form.confirm.value and code1 not in form.confirm.value
    assert USER in form.confirm.value


def test_text_representation_never_carries_the_qr(form):
    form, _ = form
    bundle = form._repr_mimebundle_()
    assert bundle["text/plain"] == "仮想MFAデバイス有効化フォーム"
    assert "image/png" not in bundle


def test_cancel_clears_the_qr(form, iam):
    form, _ = form
    before = iam_state(iam)
    form.cancel()
    assert form.result == "cancelled" and form.image not in form.children and iam_state(iam) == before


def test_built_in_authenticator_goes_through_the_same_path(ctx, tmp_path, monkeypatch, iam):
    monkeypatch.setenv("HANDSON_AUTO_MFA", "1")
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    calls = []
    monkeypatch.setattr(
        MfaEnableForm, "submit", lambda self, *a, _orig=MfaEnableForm.submit: (calls.append(1), _orig(self))[1]
    )
    assert asyncio.run(hh.enable_with_form(ctx, USER, serial, qr)) == "enabled"
    assert calls == [1]
    assert asyncio.run(hh.enable_with_form(ctx, USER, serial, qr)) == "already"


def test_widgets_are_plain_ipywidgets():
    assert issubclass(MfaEnableForm, w.VBox)


def test_a_base32_key_instead_of_a_qr_is_typed_into_the_app_and_enables(ctx, iam, tmp_path):
    """2.1 with MFA_BOOTSTRAP_METHOD='Base32StringSeed': 22 shows the key in the live form only."""
    import os
    import re

    key_file = tmp_path / "mfa" / "handson-cli-basic-user-mfa.png"
    hh.create_user(ctx, USER, "/handson-cli/")
    serial = hh.create_virtual_mfa_device(ctx, "handson-cli-basic-user-mfa", str(key_file), "Base32StringSeed")
    key = key_file.read_text().strip()
    assert re.fullmatch(r"[A-Z2-7]+=*", key) and os.stat(key_file).st_mode & 0o777 == 0o600
    form = MfaEnableForm(USER, serial, key_file.read_bytes(), partial(hh.enable_mfa_device, ctx, USER, serial))
    form.reveal()
    assert key[:4] in form.image.value and "キーを手動で入力" in form.children[0].value
    form.code1.value, form.code2.value = totp.consecutive_codes(key)
    form.submit()
    assert form.result == "enabled" and form.image.value == "" and key[:8] not in json.dumps(all_state(form))
    hh.verify_mfa_enabled(ctx, USER)
    plan = hh.plan_cleanup(ctx, USER, "/handson-cli/", "handson-cli-basic-user-mfa", str(key_file))
    hh.run_cleanup(ctx, plan)
    assert not key_file.exists() and "aws iam create-virtual-mfa-device" in shown(ctx) and key not in shown(ctx)


def test_23_resync_uses_the_same_form_without_the_qr(ctx, iam, tmp_path):
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    secret = totp.secret_from_qr(expand(qr))
    with pytest.raises(hh.HandsonError) as err:  # before 22: said before the form is shown
        asyncio.run(hh.resync_with_form(ctx, USER, serial, qr, wait=False))
    assert err.value.code == "NotAssigned" and "22_enable_virtual_mfa_device" in err.value.message
    assert hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr)) == "enabled"
    form = MfaEnableForm(USER, serial, b"", partial(hh.resync_mfa_device, ctx, USER, serial), resync=True)
    assert repr(form) == "仮想MFAデバイス再同期フォーム" and form.enable_button.description == "MFAデバイスを再同期"
    assert not any(isinstance(child, w.Image) for child in form.children)
    form.code1.value, form.code2.value = "123456", "654321"
    form.submit()
    assert (
        "認証コードが正しくありません" in form.status.value
        and form.code1.value == form.code2.value == ""
        and not form.finished
    )
    code1, code2 = totp.authenticator_codes(secret, 2)
    form.code1.value, form.code2.value = code1.translate(FULL_WIDTH), " " + code2
    form.submit()
    assert form.result == "resynced" and "再同期しました" in form.status.value
    assert not any(code1 in json.dumps(s) or code2 in json.dumps(s) for s in all_state(form))


def test_23_built_in_authenticator_resyncs_and_the_check_passes(ctx, iam, tmp_path, monkeypatch):
    monkeypatch.setenv("HANDSON_AUTO_MFA", "1")
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    assert hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr)) == "enabled"
    assert asyncio.run(hh.resync_with_form(ctx, USER, serial, qr)) == "resynced"
    key_file = str(tmp_path / "key.txt")
    asyncio.run(hh.verify_resynced(ctx, USER, serial, key_file, qr))  # no access key yet: 40 checks the code
    assert "40_mfa_protected_access" in shown(ctx)
    hh.create_access_key(ctx, USER, key_file)
    asyncio.run(hh.verify_resynced(ctx, USER, serial, key_file, qr))  # with 3.1's key: a session from a current code
    assert "✔ 完了確認: 認証アプリの今の認証コードをAWSが受け付ける" in shown(ctx)


@pytest.mark.parametrize("left", ["deleted", "inactive"])
def test_23_with_a_key_file_left_from_an_earlier_run_says_so_and_asks_no_code(ctx, iam, tmp_path, monkeypatch, left):
    """A key file whose key is not the user's active key cannot check a code: the step says so instead
    of asking for codes that every try refuses (a learner at stdin was asked for ever)."""
    monkeypatch.setenv("HANDSON_AUTO_MFA", "1")
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    assert hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr)) == "enabled"
    key_file = str(tmp_path / "key.txt")
    key_id = hh.create_access_key(ctx, USER, key_file)
    if left == "deleted":
        iam.delete_access_key(UserName=USER, AccessKeyId=key_id)
    else:
        iam.update_access_key(UserName=USER, AccessKeyId=key_id, Status="Inactive")
    asyncio.run(hh.verify_resynced(ctx, USER, serial, key_file, qr))
    text = shown(ctx)
    assert "有効なアクセスキーではありません" in text and "31_create_access_key" in text, text
    assert "一時的な認証情報を取得できませんでした" not in text and "取得しました" not in text, text


def test_22_form_ends_after_a_refusal_that_other_codes_cannot_mend(ctx, iam, tmp_path):
    """The device deleted meanwhile (another tab's 90): the form ends, its QR gone, instead of asking again."""
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    form = MfaEnableForm(USER, serial, expand(qr).read_bytes(), partial(hh.enable_mfa_device, ctx, USER, serial))
    form.reveal()
    form.type_in(lambda prompt: "123456")  # the same code twice: typed again
    assert not form.finished
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    asked = []
    codes = iter(phone_codes(qr) * 3)
    while not form.finished and len(asked) < 6:  # as cell_wait's typed fallback asks
        form.type_in(lambda prompt: asked.append(prompt) or next(codes))
    assert len(asked) == 2 and form.result == "failed" and form.bootstrap == b"", asked
    assert not any(isinstance(child, w.Image) for child in form.children)


def test_40_form_ends_after_a_refusal_that_another_code_cannot_mend(ctx, iam, tmp_path):
    """InvalidClientTokenId (a key deleted meanwhile): the form ends instead of asking again."""
    from handson_helpers import mfa_session
    from handson_helpers.access_key import read_key_file
    from handson_helpers.session_form import MfaCodeForm

    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    assert hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr)) == "enabled"
    key_file = str(tmp_path / "key.txt")
    key_id = hh.create_access_key(ctx, USER, key_file)
    keys = read_key_file(expand(key_file))
    form = MfaCodeForm(partial(mfa_session.get_session_token, ctx, keys, serial))
    form.type_in(lambda prompt: "12345")  # a wrong length: typed again
    assert not form.finished
    iam.delete_access_key(UserName=USER, AccessKeyId=key_id)
    secret, asked = totp.secret_from_qr(expand(qr)), []
    while not form.finished and len(asked) < 3:  # as cell_wait's typed fallback asks
        form.type_in(lambda prompt: asked.append(prompt) or totp.authenticator_codes(secret, 1)[0])
    assert len(asked) == 1 and form.result == "failed" and form.session is None, asked
    assert "認証情報が無効です" in form.status.value, form.status.value


@pytest.mark.parametrize("end", ["enabled", "cancelled"])
def test_the_help_row_stays_when_the_form_finishes(ctx, tmp_path, monkeypatch, end):
    """A participant who called and then got through still has 解決した to end the call."""
    from handson_helpers import help_button
    from handson_helpers.session_form import MfaCodeForm

    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    hub = {"JUPYTERHUB_USER": "alice", "JUPYTERHUB_API_TOKEN": "t" * 32}
    room = {"HANDSON_ROOM_URL": "http://127.0.0.1:1010", "HANDSON_HELP": "same-origin"}
    for name, value in {**hub, **room}.items():
        monkeypatch.setenv(name, value)
    # the room's word that alice is a participant (asked of a real room in test_sandbox_help_desk.py)
    monkeypatch.setattr(help_button, "offered", lambda settings: True)
    forms = [
        MfaEnableForm(USER, serial, expand(qr).read_bytes(), partial(hh.enable_mfa_device, ctx, USER, serial)),
        MfaCodeForm(lambda code: {}),
    ]
    for form in forms:
        assert [c for c in form.children if isinstance(c, help_button.HelpButton)] == form.help != []
    forms[0].reveal()
    if end == "enabled":
        forms[0].code1.value, forms[0].code2.value = phone_codes(qr)
        forms[0].submit()
        forms[1]._finish("done")
    else:
        for form in forms:
            form.cancel()
    for form in forms:
        assert form.help[0] in form.children, end
