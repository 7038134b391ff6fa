"""The README's Zero to JupyterHub values, checked as Helm checks them before it installs anything
(issue 26, item 4): the chart's defaults merged with the block, validated against the chart's own
schema. tests/data/z2jh holds the chart's values.schema.yaml and values.yaml (chart 4.4, JupyterHub
5.5) with their licence, so this runs offline. What the block means on a cluster is not proven here.
"""

import copy
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CHART = Path(__file__).parent / "data" / "z2jh"


def readme_values() -> dict:
    """The yaml block under README's "Zero to JupyterHub on Kubernetes": the README is what is tested."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("**Zero to JupyterHub on Kubernetes**") :]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))


def merged(defaults: dict, values: dict) -> dict:
    """Helm's merge of a user's values into the chart's: maps key by key, the user's value winning,
    null deleting the chart's key."""
    out = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@pytest.fixture(scope="module")
def chart():
    schema = yaml.safe_load((CHART / "values.schema.yaml").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema), yaml.safe_load((CHART / "values.yaml").read_text())


def problems(chart, values: dict) -> list[str]:
    validator, defaults = chart
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(merged(defaults, values))
    ]


def test_the_charts_defaults_pass_its_own_schema(chart):
    assert problems(chart, {}) == []


def test_the_readme_block_passes_the_charts_schema(chart):
    assert problems(chart, readme_values()) == []


def _set(values: dict, path: str, value) -> dict:
    values = copy.deepcopy(values)
    *parents, last = path.split(".")
    node = values
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return values


# A misspelt or misplaced key, or a wrong type, in the README's block: Helm refuses each, so must the test.
WRONG = [
    ("hub.service.extraPort", [{"name": "handson-room", "port": 10101}]),
    ("hub.networkPolicy.ingres", []),
    ("singleuser.extraENV", {"HANDSON_SANDBOX": "room"}),
    ("singleuser.networkPolicy.egressAllowRules.privateIP", True),
    ("singleuser.extraEnv", "HANDSON_SANDBOX=room"),
    ("services", {"handson-room": {"url": "http://hub:10101"}}),  # hub.services, one level too high
    ("hub.image.tags", "1.0"),
    ("hub.loadRoles", [{"name": "handson-room", "scopes": ["read:users"]}]),  # a list, as in jupyterhub_config.py
]


@pytest.mark.parametrize("path, value", WRONG, ids=[w[0] for w in WRONG])
def test_a_wrong_key_in_the_block_is_refused(chart, path, value):
    found = problems(chart, _set(readme_values(), path, value))
    assert found, f"{path} passed the chart's schema"


def test_the_blocks_room_is_reachable_from_the_user_pods():
    """One port throughout: the service's URL (where the room listens), the hub Service's extra port,
    the hub's ingress, the user pods' egress (the chart allows them no private addresses by default)
    and the kernels' HANDSON_ROOM_URL; and the room command is the kit's."""
    values = readme_values()
    room = values["hub"]["services"]["handson-room"]
    port = urlsplit(room["url"]).port
    assert room["command"][-2:] == ["handson_helpers.sandbox", "room"]
    assert room["environment"]["HANDSON_ROOM_BIND"] == "0.0.0.0"
    assert values["hub"]["service"]["extraPorts"] == [{"name": "handson-room", "port": port, "targetPort": port}]
    assert [p["port"] for rule in values["hub"]["networkPolicy"]["ingress"] for p in rule["ports"]] == [port]
    assert values["hub"]["loadRoles"]["handson-room"]["services"] == ["handson-room"]
    egress = values["singleuser"]["networkPolicy"]["egress"]
    assert [p["port"] for rule in egress for p in rule["ports"]] == [port]
    assert all(peer["podSelector"]["matchLabels"] == {"component": "hub"} for rule in egress for peer in rule["to"])
    env = values["singleuser"]["extraEnv"]
    assert urlsplit(env["HANDSON_ROOM_URL"]).port == port and env["HANDSON_SANDBOX"] == "room"
