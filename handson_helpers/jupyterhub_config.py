"""JupyterHub's configuration for ``make hub`` (read by ``jupyterhub -f``; see hub.py).

127.0.0.1 only; participants are Unix users made on first start (LocalProcessSpawner); the
room sandbox is a managed service that every server finds through HANDSON_ROOM_URL.
"""

# ruff: noqa: F821 - JupyterHub provides get_config()
import asyncio
import json
import os
from pathlib import Path

from handson_helpers import hub, hub_accounts

c = get_config()  # type: ignore[name-defined]
base = Path(os.environ["HANDSON_HUB_DIR"])
state = Path(os.environ["HANDSON_HUB_STATE"])
ports = json.loads(os.environ["HANDSON_HUB_PORTS"])
venv_bin = Path(os.environ.get("HANDSON_HUB_VENV") or base / "venv") / "bin"  # hub.venv_of
room_url = f"http://127.0.0.1:{ports['room']}"

c.JupyterHub.bind_url = f"http://127.0.0.1:{ports['hub']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{ports['api']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{ports['proxy_api']}"
c.ConfigurableHTTPProxy.command = [str(base / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy")]
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

# Each participant types a password of their own on first login (TLJH's default authenticator,
# hardened: hub_classes.py). root, daemon and any account the hub did not make cannot even log in.
c.JupyterHub.authenticator_class = "handson_helpers.hub_classes.HandsonAuthenticator"
c.FirstUseAuthenticator.create_users = True
c.FirstUseAuthenticator.dbm_path = str(state / "passwords.dbm")
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {hub.INSTRUCTOR}
c.Authenticator.username_pattern = hub_accounts.USERNAME_PATTERN

c.JupyterHub.spawner_class = "handson_helpers.hub_classes.HandsonSpawner"  # LocalProcessSpawner, checked
c.Spawner.cmd = [str(venv_bin / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/handson/00_contents.ipynb"
c.Spawner.start_timeout = 600  # a room's worth of servers starting at once on two cores
c.Spawner.http_timeout = 600
# 先生を呼ぶ: every server here is on the hub's own origin (no subdomain_host), so only on the operator's opt-in
help_mode = hub.help_mode(c.JupyterHub.get("subdomain_host") or "")
c.Spawner.environment = {
    "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
    **hub.spawner_environment(room_url, os.getuid(), help_mode),
}
c.Spawner.args = hub.SPAWNER_ARGS
server_ports = hub.ServerPorts()


async def pre_spawn(spawner):
    """In a thread: a participant who stops the copy made as them stalls only their own start."""
    await asyncio.to_thread(hub_accounts.ensure_unix_user, spawner.user.name, state, base / "notebooks")
    server_ports.assign(spawner)


c.Spawner.pre_spawn_hook = pre_spawn

# The room sandbox: the same definition the README shows.
c.JupyterHub.services = [
    hub.room_service(str(venv_bin / "python"), str(state / "room"), room_url, hub.ASSISTANTS, help_mode)
]
c.JupyterHub.load_roles = [hub.ROOM_ROLE]
# The helpers' group: the room shares a caller's server with no one outside it (their passwords are claimed first)
c.JupyterHub.load_groups = hub.help_groups(hub.ASSISTANTS)
