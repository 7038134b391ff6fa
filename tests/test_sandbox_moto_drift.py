"""Every moto internal the sandbox patches, wraps, subclasses or builds by hand still has the shape
the kit expects; a moto release that changes one fails here, naming the installed moto version.

The sandbox imports and patches moto in one module (emulator.py), which puts faithful.py's and
sessions.py's functions in place of moto's methods; they take the same parameters and call the
originals positionally, so a renamed, added or reordered parameter would silently pass the wrong value.
This module imports moto in the test process without applying the patches: it checks moto as installed.
"""

import fnmatch
import importlib
import importlib.metadata
import inspect
import re
from pathlib import Path

import pytest
from moto.iam import access_control, exceptions, models, responses

from handson_helpers.rules import ACCOUNT_ID
from handson_helpers.sandbox import emulator, faithful, sessions, store

REPO = Path(__file__).resolve().parents[1]
Policy = access_control.IAMPolicy
Statement = access_control.IAMPolicyStatement
Result = access_control.PermissionResult


def _params(func) -> list[str]:
    return list(inspect.signature(func).parameters)


# (where in moto, the kit's replacement or wrapper, which must take the same parameters)
REPLACED = [
    ("moto.iam.models.IAMBackend.create_user", faithful.create_user),
    ("moto.iam.models.IAMBackend.create_user", sessions.create_user),
    ("moto.iam.models.IAMBackend.update_user", faithful.update_user),
    ("moto.iam.models.IAMBackend.update_user", sessions.update_user),
    ("moto.iam.models.IAMBackend.add_user_to_group", faithful.add_user_to_group),
    ("moto.iam.models.IAMBackend.tag_user", faithful.tag_user),
    ("moto.iam.models.IAMBackend.enable_mfa_device", faithful.enable_mfa_device),
    ("moto.iam.models.IAMBackend.delete_user", faithful.delete_user),
    ("moto.iam.models.IAMBackend.list_virtual_mfa_devices", faithful.list_virtual_mfa_devices),
    ("moto.iam.models.IAMBackend.delete_virtual_mfa_device", faithful.delete_virtual_mfa_device),
    ("moto.iam.models.IAMBackend.get_user_from_access_key_id", sessions.get_user_from_access_key_id),
    ("moto.sts.models.STSBackend.get_caller_identity", faithful.get_caller_identity),
    ("moto.sts.models.STSBackend.get_caller_identity", sessions.get_caller_identity),
    ("moto.iam.responses.IamResponse.create_virtual_mfa_device", emulator.create_virtual_mfa_device_response),
    ("moto.iam.access_control.IAMPolicyStatement.is_action_permitted", emulator.statement_is_action_permitted),
    ("moto.iam.access_control.IAMPolicyStatement._check_conditions", emulator.conditions_checked_above),
    ("moto.iam.access_control.IAMPolicyStatement._match", emulator.match),
    ("moto.core.utils.method_names_from_class", lambda clazz: None),  # emulator.py caches it per class
]

# What the kit calls or builds and does not replace: the parameters it passes, in order
CALLED = [
    (
        "moto.iam.models.IAMBackend.create_virtual_mfa_device",
        ["self", "device_name", "path"],
    ),  # faithful: tags are the kit's
    ("moto.iam.models.IAMBackend.get_user", ["self", "name"]),
    ("moto.iam.models.IAMBackend.get_group", ["self", "group_name"]),  # faithful's quotas find the entity
    ("moto.iam.models.IAMBackend.get_role", ["self", "role_name"]),
    # faithful._inline_quota and _attach_quota pass the entity's name, the policy and its document in this order
    ("moto.iam.models.IAMBackend.put_user_policy", ["self", "user_name", "policy_name", "policy_json"]),
    ("moto.iam.models.IAMBackend.put_group_policy", ["self", "group_name", "policy_name", "policy_json"]),
    ("moto.iam.models.IAMBackend.put_role_policy", ["self", "role_name", "policy_name", "policy_json"]),
    ("moto.iam.models.IAMBackend.attach_user_policy", ["self", "policy_arn", "user_name"]),
    ("moto.iam.models.IAMBackend.attach_group_policy", ["self", "policy_arn", "group_name"]),
    ("moto.iam.models.IAMBackend.attach_role_policy", ["self", "policy_arn", "role_name"]),
    ("moto.iam.models.IAMBackend.create_access_key", ["self", "user_name", "prefix", "status"]),  # room.py
    (
        "moto.iam.models.AccessKey.__init__",
        ["self", "user_name", "prefix", "account_id", "status"],
    ),  # emulator.add_access_key
    (
        "moto.iam.models.VirtualMfaDevice.__init__",
        ["self", "account_id", "region_name", "device_name"],
    ),  # emulator.add_device
    ("moto.iam.models.User.put_policy", ["self", "policy_name", "policy_json"]),  # store.py
    ("moto.iam.access_control.IAMPolicy.__init__", ["self", "policy"]),
    (
        "moto.iam.access_control.IAMPolicy.is_action_permitted",
        ["self", "action", "resource", "principal", "incoming_condition_values"],
    ),
    ("moto.iam.access_control.IAMUserAccessKey.collect_policies", ["self"]),
    ("moto.iam.responses.IamResponse._get_param", ["self", "param_name", "if_none"]),
    ("moto.iam.responses.IamResponse.get_access_key", ["self"]),
    ("moto.moto_api._internal.models.moto_api_backend.reset", []),
    ("moto.server.create_backend_app", ["service"]),
]

# faithful._sized reads the document at a position and passes the rest on: the parameters up to it
POSITIONAL = [
    ("moto.iam.models.IAMBackend.create_policy", ["self", "description", "path", "policy_document"]),
    ("moto.iam.models.IAMBackend.create_policy_version", ["self", "policy_arn", "policy_document"]),
    ("moto.iam.models.IAMBackend.create_role", ["self", "role_name", "assume_role_policy_document"]),
    ("moto.iam.models.IAMBackend.update_assume_role_policy", ["self", "role_name", "policy_document"]),
]

# Names the kit imports or assigns onto, with the type it relies on
PRESENT = [
    ("moto.core.responses.method_names_from_class", "function"),  # emulator.py assigns the cached one here
    ("moto.iam.responses.IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER", dict),
    ("moto.core.serialize.never_return", "function"),
    ("moto.core.responses.ActionResult", type),
    ("moto.core.responses.EmptyResult", type),
    ("moto.core.exceptions.ServiceException", type),
    ("moto.iam.exceptions.IAMException", type),
    ("moto.iam.exceptions.DeleteConflictException", type),
    ("moto.iam.exceptions.EntityAlreadyExists", type),
    ("moto.iam.exceptions.LimitExceededException", type),
    ("moto.iam.exceptions.NotFoundException", type),
    ("moto.iam.exceptions.ValidationError", type),
    ("moto.iam.models.iam_backends", object),
    ("moto.iam.models.Policy", type),
    ("moto.sts.models.sts_backends", object),
]


def _find(dotted: str):
    """The object a dotted name names, importing the longest module prefix; AttributeError/ImportError if gone."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def _behaviour() -> list[str]:
    """What the patches rely on beyond names: moto's statement check asks _match and _check_conditions
    (the kit replaces both), Effect decides the result, and collect_policies reads only the owner's
    name and backend (emulator._Owner stands in for a key)."""
    found = []
    asked = []

    class Probe(Statement):
        def _check_conditions(self, incoming_condition_values):
            asked.append("_check_conditions")
            return True

        @staticmethod
        def _match(pattern, string):
            asked.append("_match")
            return emulator.match(pattern, string)

    statement = {
        "Effect": "Deny",
        "Action": "iam:Get*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
    }
    if Probe(statement).is_action_permitted("iam:GetUser", "*", None, None) is not Result.DENIED:
        found.append("IAMPolicyStatement.is_action_permitted: a matching Deny is no longer DENIED")
    if not {"_match", "_check_conditions"} <= set(asked):
        found.append(
            "IAMPolicyStatement.is_action_permitted no longer calls self._match and self._check_conditions "
            f"(called: {sorted(set(asked))})"
        )
    # faithful.py raises these (and subclasses IAMException) with one message: AWS's error code must come out
    raised = [
        (exceptions.DeleteConflictException, "DeleteConflict"),
        (exceptions.EntityAlreadyExists, "EntityAlreadyExists"),
        (exceptions.LimitExceededException, "LimitExceeded"),
        (exceptions.NotFoundException, "NoSuchEntity"),
        (exceptions.ValidationError, "ValidationError"),
        (faithful.InvalidAuthenticationCode, "InvalidAuthenticationCode"),
    ]
    for cls, code in raised:
        error = cls("message")
        if (getattr(error, "code", None), getattr(error, "message", None)) != (code, "message"):
            found.append(
                f"moto.iam.exceptions: {cls.__name__}('message') no longer carries code {code} and its message"
            )
    allow = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}'
    if (
        Policy(allow).is_action_permitted("iam:ListUsers", "*", None, {}) is not Result.PERMITTED
        or Policy(allow).is_action_permitted("iam:GetUser", "*", None, {}) is not Result.NEUTRAL
    ):
        found.append("IAMPolicy.is_action_permitted: Allow is not PERMITTED, or no match is not NEUTRAL")
    backend = models.IAMBackend(region_name="global", account_id=ACCOUNT_ID)
    backend.create_user("us-east-1", "drift", "/", None)
    backend.put_user_policy("drift", "p", allow)
    try:
        documents = emulator.user_policies("drift", backend)
    except AttributeError as exc:
        return [*found, f"IAMUserAccessKey.collect_policies reads more than _owner_user_name and backend: {exc}"]
    except (KeyError, TypeError) as exc:
        return [*found, f"IAMUserAccessKey.collect_policies returns policies of another form: {exc!r}"]
    if documents != [allow]:
        found.append(f"IAMUserAccessKey.collect_policies gave {documents!r} for one inline policy")
    return found


def _store_round_trip() -> list[str]:
    """emulator.py builds AccessKey and VirtualMfaDevice by hand for store.py and sets their fields: a snapshot
    restored into a new backend must give the same snapshot."""
    source = models.IAMBackend(region_name="global", account_id=ACCOUNT_ID)
    user = source.create_user("us-east-1", "drift", "/handson/", [{"Key": "k", "Value": "v"}])
    source.create_access_key("drift")
    source.put_user_policy(
        "drift", "p", '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}'
    )
    device = source.create_virtual_mfa_device("drift-mfa", "/")
    device.base32_string_seed = "JBSWY3DPEHPK3PXP"
    emulator.assign_device(source, user, device)
    before = store.snapshot(source)
    target = models.IAMBackend(region_name="global", account_id=ACCOUNT_ID)
    try:
        skipped = store.restore(target, before, Path("drift.json"))
    except Exception as exc:  # noqa: BLE001 - whatever moto raises is the finding
        return [f"store.restore: {exc!r}"]
    after = store.snapshot(target)
    if skipped or after != before:
        return [f"store.restore gave another state: skipped {skipped}, {before} became {after}"]
    if target.get_user_from_access_key_id(before["users"][0]["access_keys"][0]["id"]) is None:
        return ["a restored access key is not found by get_user_from_access_key_id"]
    return []


def problems() -> list[str]:
    found = []
    for where, ours in REPLACED:
        try:
            theirs = _find(where)
        except (AttributeError, ImportError):
            found.append(f"{where} is gone")
            continue
        if _params(theirs) != _params(ours):
            kits = f"{ours.__module__}.{ours.__qualname__}"
            found.append(f"{where} takes {_params(theirs)}; the kit's {kits} takes {_params(ours)}")
    if not isinstance(inspect.getattr_static(Statement, "_match", None), staticmethod):
        found.append("moto.iam.access_control.IAMPolicyStatement._match is no longer a staticmethod")
    for where, expected in CALLED + POSITIONAL:
        try:
            theirs = _find(where)
        except (AttributeError, ImportError):
            found.append(f"{where} is gone")
            continue
        if _params(theirs)[: len(expected) if (where, expected) in POSITIONAL else None] != expected:
            found.append(f"{where} takes {_params(theirs)}; the kit passes {expected}")
    for where, kind in PRESENT:
        try:
            obj = _find(where)
        except (AttributeError, ImportError):
            found.append(f"{where} is gone")
            continue
        if (kind == "function" and not inspect.isfunction(obj)) or (
            isinstance(kind, type) and not isinstance(obj, kind)
        ):
            found.append(f"{where} is a {type(obj).__name__}, not a {getattr(kind, '__name__', kind)}")
    if access_control.IAMPolicyStatement is not Statement or responses.IamResponse is not _find(
        "moto.iam.responses.IamResponse"
    ):
        found.append("moto.iam.access_control no longer defines the IAMPolicyStatement it uses")
    if found:  # the behaviour checks build on the names above
        return found
    return _behaviour() + _store_round_trip()


def locked_moto() -> str:
    m = re.search(r"^moto==(\S+)", (REPO / "locks" / "learner.txt").read_text(), re.MULTILINE)
    return m.group(1) if m else "?"


def report(found: list[str]) -> str:
    return (
        f"moto {importlib.metadata.version('moto')} (installed; locks/learner.txt pins {locked_moto()}) "
        "changed what the sandbox patches or builds by hand; "
        "update handson_helpers/sandbox before taking this moto:\n  " + "\n  ".join(found)
    )


def test_moto_still_has_what_the_sandbox_patches():
    found = problems()
    assert not found, report(found)


def test_the_sandbox_patches_nothing_this_module_does_not_check():
    """Only emulator.py imports moto, and every method it replaces (the patch tables it is handed,
    its own assignments) must be in the tables above."""
    checked = {where for where, _ in REPLACED + CALLED + POSITIONAL}
    new = {"resync_mfa_device", "list_mfa_device_tags"}  # moto has none: the kit adds them
    tables = {**faithful.patches(), **sessions.PATCHES}
    replaced = {f"{emulator.CLASSES[where.split('.')[0]].__module__}.{where}" for where in tables}
    replaced |= {f"moto.iam.responses.IamResponse.{name}" for name in emulator.RESPONSES}
    assert replaced and {w for w in replaced - checked if w.rsplit(".", 1)[-1] not in new} == set()
    source = (REPO / "handson_helpers" / "sandbox" / "emulator.py").read_text()
    assigned = set(
        re.findall(r"^\s+(?:statement|core_responses|responses\.IamResponse)\.(\w+) = ", source, re.MULTILINE)
    )
    checked_names = {where.rsplit(".", 1)[-1] for where in checked} | {"RESPONSE_KEY_PATH_TO_TRANSFORMER"}
    assert assigned and assigned - checked_names == set()
    importers = {
        path.name
        for path in (REPO / "handson_helpers").rglob("*.py")
        if re.search(r"^\s*(?:from|import) moto\b", path.read_text(), re.MULTILINE)
    }
    assert importers == {"emulator.py"}


@pytest.mark.parametrize(
    "owner, name, changed",
    [
        (
            models.IAMBackend,
            "enable_mfa_device",
            lambda self, user_name, serial_number, authentication_codes: None,
        ),  # two parameters merged
        (models.IAMBackend, "create_user", lambda self, user_name, region_name, path="/", tags=None: None),  # reordered
        (
            models.VirtualMfaDevice,
            "__init__",
            lambda self, account_id, device_name, region_name="us-east-1": None,
        ),  # built by store.py
    ],
    ids=["enable_mfa_device", "create_user", "VirtualMfaDevice"],
)
def test_the_drift_check_fails_on_a_changed_signature_and_names_the_moto_version(monkeypatch, owner, name, changed):
    monkeypatch.setattr(owner, name, changed)
    with pytest.raises(AssertionError) as failure:
        test_moto_still_has_what_the_sandbox_patches()
    message = str(failure.value)
    assert f"moto {importlib.metadata.version('moto')} (installed; locks/learner.txt pins " in message
    assert f"{owner.__module__}.{owner.__qualname__}.{name} takes " in message


def test_the_drift_check_fails_when_moto_stops_asking_match(monkeypatch):
    def without_match(self, element, value):  # a moto that matches by itself, bypassing the kit's _match
        patterns = self._statement.get(element)
        return any(fnmatch.fnmatchcase(value, p) for p in ([patterns] if isinstance(patterns, str) else patterns or []))

    monkeypatch.setattr(Statement, "_check_element_matches", without_match)
    found = problems()
    assert any("no longer calls self._match" in p for p in found), found
