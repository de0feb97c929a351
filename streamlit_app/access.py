"""Who may change things: the one check that every action of the app goes through.

On loopback only this machine's users reach the app, and everyone may act. Shared (Streamlit
bound to any other address, or GANVAS_HOST naming one), the app is read-only until a session
enters the owner's token (GANVAS_TOKEN, or GANVAS_TOKEN in .streamlit/secrets.toml;
scripts/main.sh makes and prints one); folders to train on must then lie in GANVAS_DATA_ROOT.

Pages disable their buttons with `allowed()`, but a browser can send a click the page never
offered, so every action itself calls `require()` (and `confine()` for the paths it reads):
the server refuses, whatever the page showed.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from pathlib import Path

import streamlit as st

from trainer.rundir import RunError

ENTERED = "access-token"  # session state: the token this session entered, checked on every action
FIELD = "access-token-field"  # the sidebar's input, emptied once read
READ_ONLY = ("Read-only: this app is shared on the network. Enter its access token in the sidebar to start, "
             "stop, resume or delete runs (it is printed where the app was started).")
NO_TOKEN = ("Read-only: this app is shared on the network and its owner set no access token; start it with "
            "GANVAS_TOKEN set (scripts/main.sh makes one) to allow changes.")


class Locked(RunError):
    """An action refused to a session without the token (a RunError, so that every page's
    existing `except RunError` shows it as one line)."""


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and localhost. Unset or empty is not: Streamlit then listens on every
    interface; nor is any other name, which others may resolve to this machine."""
    host = (host or "").strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or address).is_loopback


def shared() -> bool:
    """Whether others may reach the app: server.address is what Streamlit bound to
    (--server.address, .streamlit/config.toml); GANVAS_HOST lets an owner behind a proxy on
    loopback say the app is shared all the same."""
    hosts = [st.get_option("server.address")]
    if os.environ.get("GANVAS_HOST"):
        hosts.append(os.environ["GANVAS_HOST"])
    return not all(map(is_loopback, hosts))


def token() -> str:
    """The owner's token; "" when there is none (and then no one may act on a shared app)."""
    value = os.environ.get("GANVAS_TOKEN", "")
    if not value:
        try:
            value = str(st.secrets.get("GANVAS_TOKEN", ""))
        except FileNotFoundError:  # no secrets.toml: Streamlit's own error is one
            value = ""
    return value.strip()


def allowed() -> bool:
    """Whether this session may change things. The entered token is compared on every call, in
    constant time, so a token changed in secrets.toml locks sessions out at once."""
    if not shared():
        return True
    expected, entered = token(), st.session_state.get(ENTERED, "")
    return bool(expected) and hmac.compare_digest(entered.encode(), expected.encode())


def require() -> None:
    """Called by every action before it changes anything; raises Locked when it may not."""
    if not allowed():
        raise Locked(READ_ONLY if token() else NO_TOKEN)


def notice() -> bool:
    """The page's one line on why its buttons are disabled; whether this session may act."""
    if allowed():
        return True
    st.info(READ_ONLY if token() else NO_TOKEN, icon=":material/lock:")
    return False


def _unlock() -> None:
    entered = st.session_state.get(FIELD, "").strip()
    st.session_state[FIELD] = ""  # not kept in the widget, which the page may send again
    if token() and hmac.compare_digest(entered.encode(), token().encode()):
        st.session_state[ENTERED] = entered
    else:
        st.session_state.pop(ENTERED, None)
        st.session_state["access-refused"] = True


def sidebar() -> None:
    """On a shared app: the token's input until this session has entered the right one."""
    if not shared():
        return
    if allowed():
        st.sidebar.caption(":material/lock_open: Unlocked for this session: you may start, stop and delete runs.")
        return
    if token():
        st.sidebar.text_input("Access token", type="password", key=FIELD, on_change=_unlock,
                              help="printed where the app was started (GANVAS_TOKEN)")
    if st.session_state.pop("access-refused", False):
        st.sidebar.error("Wrong token: this app stays read-only.")


def confine(text: str, what: str = "folder") -> str:
    """A path typed into the app, as the trainer should read it. On loopback unchanged; shared,
    resolved (symbolic links, ..) inside GANVAS_DATA_ROOT, with relative paths taken from there,
    and refused outside it: others must not train on, and so see, any folder of this machine."""
    if not shared():
        return text
    root = os.environ.get("GANVAS_DATA_ROOT", "").strip()
    if not root:
        raise Locked(f"A {what} cannot be used on a shared app until its owner names the folder that holds the "
                     f"data sets: start it with GANVAS_DATA_ROOT=/path/to/data.")
    root_path = Path(root).expanduser().resolve()
    path = (root_path / text.strip()).resolve()
    if not path.is_relative_to(root_path):
        raise Locked(f"{text.strip()} is outside {root_path}, the only folder this shared app reads data from.")
    return str(path)
