"""The hub test's JupyterHub config: make hub's own (handson_helpers/jupyterhub_config.py), unchanged,
plus a service whose token (HANDSON_HUB_DRIVER_TOKEN) drives the hub through its REST API.

The shipped config has no test hook; hub_driver.serve starts the hub with this file instead.
"""

# ruff: noqa: F821 - JupyterHub provides get_config() and load_subconfig()
import os

from handson_helpers import hub

c = get_config()  # type: ignore[name-defined]
load_subconfig(str(hub.CONFIG))  # type: ignore[name-defined]
# load_subconfig passes over a file it cannot find: a hub without the product's config is no test of it
assert c.JupyterHub.services and c.JupyterHub.spawner_class, f"{hub.CONFIG} was not loaded"

DRIVER = "handson-hub-driver"
c.JupyterHub.services = [*c.JupyterHub.services, {"name": DRIVER, "api_token": os.environ["HANDSON_HUB_DRIVER_TOKEN"]}]
c.JupyterHub.load_roles = [
    *c.JupyterHub.load_roles,
    {
        "name": DRIVER,
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "read:users"],
        "services": [DRIVER],
    },
]
# 先生を呼ぶ's share lasts hub_driver.HELP_SECONDS here instead of 15 minutes: the test sees it expire (help_desk.py)
c.JupyterHub.services[0]["environment"]["HANDSON_HELP_SECONDS"] = os.environ["HANDSON_HUB_HELP_SECONDS"]
