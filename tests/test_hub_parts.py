"""hub.py's parts that need no hub: the login throttle and the ports it hands out (the real hub: test_hub.py)."""

import asyncio
import json
import socket
import threading
import time
from types import SimpleNamespace

import pytest

from handson_helpers import hub, hub_accounts
from handson_helpers.texts import hub as hub_texts


def test_a_name_gets_a_few_free_tries_then_waits_longer_each_time():
    throttle = hub_accounts.LoginThrottle()
    for n in range(hub_accounts.LoginThrottle.FREE):
        assert throttle.attempt("taro", 100.0 + n) == 0
        throttle.failed("taro", 100.0 + n)
    last = 100.0 + hub_accounts.LoginThrottle.FREE - 1
    assert throttle.attempt("taro", last) == 2 and throttle.attempt("taro", last + 2.5) == 0
    throttle.failed("taro", last + 2.5)
    assert throttle.attempt("taro", last + 2.5) == 4  # doubled
    for _ in range(60):
        throttle.failures["taro"] = (throttle.failures["taro"][0] + 1, last + 3)
    assert throttle.attempt("taro", last + 3) == hub_accounts.LoginThrottle.LONGEST  # capped
    assert throttle.attempt("hanako", last + 3) == 0  # others are not locked out
    throttle.succeeded("taro")
    assert throttle.attempt("taro", last + 3) == 0


def test_an_attempt_that_tried_no_accounts_password_is_taken_back():
    throttle = hub_accounts.LoginThrottle()
    for n in range(3 * hub_accounts.LoginThrottle.FREE):
        assert throttle.attempt("new", 100.0 + n) == 0
        throttle.released("new")
    assert throttle.failures == {}


@pytest.mark.parametrize("logins", [hub_accounts.LoginThrottle.FREE + 1, 20, 64])
def test_wrong_logins_sent_at_once_get_only_the_free_tries(logins):
    """Real threads against the real throttle, each holding its attempt open as bcrypt does: a check
    that counts only once the answer came let every one of them through."""
    throttle = hub_accounts.LoginThrottle()
    ready, passed = threading.Barrier(logins), []
    checked = threading.Barrier(logins)

    def log_in():
        ready.wait()
        wait = throttle.attempt("taro", 100.0)
        if not wait:
            passed.append(1)
        checked.wait()  # every check is done before any answer comes back (bcrypt takes seconds)
        if not wait:
            throttle.failed("taro", 101.0)

    threads = [threading.Thread(target=log_in) for _ in range(logins)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(passed) == hub_accounts.LoginThrottle.FREE
    assert throttle.failures["taro"] == (hub_accounts.LoginThrottle.FREE, 101.0)
    assert throttle.attempt("taro", 101.0) == 2


@pytest.mark.parametrize("logins", [2, 20])
def test_one_login_per_name_at_a_time_so_a_new_name_is_claimed_once(logins):
    """FirstUseAuthenticator's claim (read: no password; bcrypt in a thread; store), run by many logins
    to one new name at once under the real NameLocks: exactly one claims it, and the table empties."""
    locks, stored, claimed = hub_accounts.NameLocks(), {}, []

    async def log_in(password: str):
        async with locks.held("newname"):
            if "newname" not in stored:
                await asyncio.to_thread(time.sleep, 0.01)  # bcrypt
                stored["newname"] = password
                claimed.append(password)
        async with locks.held(f"other{password}"):  # other names never wait on this one
            pass

    async def room():
        await asyncio.gather(*(log_in(str(n)) for n in range(logins)))

    asyncio.run(room())
    assert len(claimed) == 1 and stored["newname"] == claimed[0] and locks._held == {}


TEXT = {"username": "taro", "password": "a-password-1234"}


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        (TEXT, None),
        ({**TEXT, "password": "あ" * 24}, None),  # 72 bytes
        ({"password": "a-password-1234"}, "BAD_LOGIN_FORM"),  # no name
        ({"username": "taro"}, "BAD_LOGIN_FORM"),  # no password
        ({**TEXT, "username": ""}, "BAD_LOGIN_FORM"),
        ({**TEXT, "username": "   "}, "BAD_LOGIN_FORM"),
        ({**TEXT, "password": ""}, "BAD_LOGIN_FORM"),
        ({**TEXT, "username": None}, "BAD_LOGIN_FORM"),
        ({**TEXT, "username": ["taro"]}, "BAD_LOGIN_FORM"),  # not text
        ({**TEXT, "password": b"a-password-1234"}, "BAD_LOGIN_FORM"),
        ({**TEXT, "password": 1234567}, "BAD_LOGIN_FORM"),
        ("username=taro", "BAD_LOGIN_FORM"),
        ({**TEXT, "username": "x" * 200_000}, "NAME_TOO_LONG"),
        ({**TEXT, "username": "x" * (hub_accounts.NAME_MAX + 1)}, "NAME_TOO_LONG"),
        ({**TEXT, "password": "x" * 73}, "PASSWORD_TOO_LONG"),
        ({**TEXT, "password": "あ" * 25}, "PASSWORD_TOO_LONG"),  # 75 bytes
    ],
)
def test_a_malformed_login_form_is_refused_before_anything_is_counted(form, problem):
    assert hub_accounts.login_form_problem(form) == problem
    if problem:
        text = getattr(hub_texts, problem)
        assert text and any("\u3040" <= ch <= "\u30ff" for ch in text)  # said in Japanese


def test_ports_are_handed_out_outside_the_ephemeral_range_and_never_twice():
    low, high = (int(n) for n in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    assert hub.SERVER_PORTS.stop <= low or hub.SERVER_PORTS.start > high
    ports = hub.ServerPorts(range(hub.SERVER_PORTS.start, hub.SERVER_PORTS.start + 40))
    spawners = [SimpleNamespace(user=SimpleNamespace(name=f"p{n}"), port=0) for n in range(30)]
    for spawner in spawners:  # a room's worth of servers starting together
        ports.assign(spawner)
    assert len({s.port for s in spawners}) == 30 and all(s.port in ports.candidates for s in spawners)


def test_a_port_something_listens_on_is_skipped():
    """Ports at the top of the servers' range, which nothing but this test binds during make test
    (the ephemeral range is everyone's: a port released there may be taken at once)."""
    first = hub.free_port(range(hub.SERVER_PORTS.stop - 10, hub.SERVER_PORTS.stop))
    with socket.socket() as held:
        held.bind(("127.0.0.1", first))
        held.listen()
        with pytest.raises(OSError, match="no free port"):
            hub.free_port(range(first, first + 1))
    assert hub.free_port(range(first, first + 1)) == first
    with pytest.raises(OSError, match="no free port"):
        hub.free_port(range(first, first + 1), {first})


def test_the_shipped_hub_config_has_no_test_hook_and_the_tests_config_adds_only_the_driver(tmp_path, monkeypatch):
    """make hub's config drives nothing; the hub test's (tests/support) is that config, loaded by
    JupyterHub's load_subconfig, plus the driver's service and role."""
    from support import hub_driver
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv("HANDSON_HUB_DIR", str(tmp_path))
    monkeypatch.setenv("HANDSON_HUB_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("HANDSON_HUB_PORTS", json.dumps(hub.DEFAULT_PORTS))
    monkeypatch.setenv("HANDSON_HUB_DRIVER_TOKEN", "driver-token-for-this-test")
    monkeypatch.setenv("HANDSON_HUB_HELP_SECONDS", "61")
    shipped = PyFileConfigLoader(str(hub.CONFIG)).load_config()
    tested = PyFileConfigLoader(str(hub_driver.CONFIG)).load_config()
    assert [s["name"] for s in shipped.JupyterHub.services] == [hub.ROOM_SERVICE]
    assert [r["name"] for r in shipped.JupyterHub.load_roles] == [hub.ROOM_SERVICE]
    assert "driver-token-for-this-test" not in json.dumps(shipped, default=str)
    assert [s["name"] for s in tested.JupyterHub.services] == [hub.ROOM_SERVICE, "handson-hub-driver"]
    assert tested.JupyterHub.services[1]["api_token"] == "driver-token-for-this-test"
    assert [r["name"] for r in tested.JupyterHub.load_roles] == [hub.ROOM_SERVICE, "handson-hub-driver"]
    for section, key in [
        ("JupyterHub", "bind_url"),
        ("JupyterHub", "authenticator_class"),
        ("JupyterHub", "spawner_class"),
        ("Spawner", "environment"),
        ("Authenticator", "admin_users"),
    ]:
        assert tested[section][key] == shipped[section][key], (section, key)
    assert "HANDSON_HUB_DRIVER_TOKEN" not in hub.CONFIG.read_text()
    # the test hub's one other change: 先生を呼ぶ's share lasts the driver's limit, not the room's default
    assert tested.JupyterHub.services[0]["environment"]["HANDSON_HELP_SECONDS"] == "61"
    assert "HANDSON_HELP_SECONDS" not in shipped.JupyterHub.services[0]["environment"]
