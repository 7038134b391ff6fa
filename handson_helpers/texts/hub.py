"""The hub's login page (hub_classes.py), in Japanese and English: plain format strings."""

TOO_MANY_LOGINS = (
    "ログインの失敗が続いたため、{wait} 秒後にもう一度試してください。 (Too many failed logins: try again in {wait} s.)"
)
PASSWORD_TOO_LONG = "パスワードは{password}バイト以内にしてください。 (Use a password of at most {password} bytes.)"
BAD_LOGIN_FORM = "ユーザー名とパスワードを両方入力してください。 (Enter both a user name and a password.)"
NAME_TOO_LONG = "ユーザー名は{name}文字以内にしてください。 (Use a user name of at most {name} characters.)"
RESET_TOO_SOON = (
    "パスワードを変更したばかりです。{wait} 秒後にもう一度試してください。 (Changed just now: try again in {wait} s.)"
)
