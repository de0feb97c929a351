"""Sharing the app: read-only without the owner's token, folders only inside the data root."""

import json
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import APP, fake_run, open_page, texts
from conftest import wait_for
from streamlit_app import runs as run_files
from trainer.rundir import RunDirectory


TOKEN = "a-long-enough-token"


@pytest.fixture
def shared_app(tmp_path, monkeypatch):
    """The app as GANVAS_HOST=0.0.0.0 shares it, with a token: a finished run "kept", and "live",
    running in a stand-in process (its command line says "trainer", as the liveness check wants).
    Trainings started are recorded, not run."""
    from types import SimpleNamespace

    root = tmp_path / "runs"
    fake_run(root, "kept", "mnist", "cgan", "0123456789")
    live = RunDirectory(fake_run(root, "live", "mnist", "cgan", "0123456789", epochs=5, done=1))
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", "trainer"])
    wait_for(lambda: run_files.process_alive(stand_in.pid), what="the stand-in to start")
    live.status_path.write_text(json.dumps(dict(state="running", pid=stand_in.pid, epoch=1, epochs=5, updated=2.0)))
    started = []
    monkeypatch.setattr(run_files, "_spawn", lambda command, log_path: started.append(command) or 999_999_999)
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(root))
    monkeypatch.setenv("GANVAS_HOST", "0.0.0.0")
    monkeypatch.setenv("GANVAS_TOKEN", TOKEN)
    monkeypatch.delenv("GANVAS_DATA_ROOT", raising=False)
    try:
        yield SimpleNamespace(root=root, stand_in=stand_in, started=started)
    finally:
        stand_in.kill()
        stand_in.wait()


def button(app, label):
    return next(button for button in app.button if button.label == label)


def forced(widget):
    """The widget enabled, as a browser could send its click although the page disabled it."""
    widget.proto.disabled = False
    return widget


def unlock(app, token=TOKEN):
    from streamlit_app import access

    app.text_input(key=access.FIELD).input(token).run()
    assert not app.exception
    return app


def start(app, name, folder=None, data_dir=None, force=False):
    if folder is not None:
        next(box for box in app.selectbox if box.label == "Data set").set_value("folder")
        next(box for box in app.text_input if box.label.startswith("Folder")).input(folder)
    if data_dir is not None:
        next(box for box in app.text_input if box.label == "Data directory").input(data_dir)
    next(box for box in app.text_input if box.label.startswith("Run name")).input(name)
    submit = button(app, "Start training")
    (forced(submit) if force else submit).click().run()
    assert not app.exception
    return app


def test_a_shared_app_without_the_token_only_shows(shared_app, monkeypatch):
    from streamlit_app import access

    root = shared_app.root

    def refuse_everything(force):
        """Stop, delete, resume, start and a classifier job, clicked as the page lets the session
        (`force`: also where it does not); the errors they show."""
        def click(app, label):
            widget = button(app, label)
            (forced(widget) if force else widget).click().run()
            return texts(app, "error")

        messages = click(open_page("runs_page.py", "live"), "Stop")
        app = open_page("runs_page.py", "kept")
        checkbox = app.checkbox(key="confirm-kept")
        (forced(checkbox) if force else checkbox).check().run()
        messages += click(app, "Delete") + click(app, "Resume")
        messages += texts(start(app, "new", force=force), "error")
        messages += click(open_page("classifier_page.py", "kept"), "Run it")
        assert shared_app.stand_in.poll() is None and (root / "kept" / "config.json").exists()
        assert not (root / "new").exists() and not (root / "kept" / "tstr.job.json").exists()
        assert shared_app.started == [] and not (root / "kept" / run_files.LAUNCH_FILE).exists()
        return messages

    app = open_page("runs_page.py", "live")
    assert "Read-only" in texts(app, "info") and len(app.dataframe[0].value) == 2  # reading stays open
    assert all(button(app, label).disabled for label in ("Stop", "Resume", "Delete", "Start training"))
    app = open_page("classifier_page.py", "kept")
    assert "Read-only" in texts(app, "info") and button(app, "Run it").disabled
    open_page("training_page.py", "live")  # asserts that no exception reached the page
    # A click the page never offered (Streamlit discards it), and one a page offered by mistake:
    # the action itself refuses it.
    refuse_everything(force=True)
    monkeypatch.setattr(access, "notice", lambda: True)  # a page that forgot to disable its buttons
    assert refuse_everything(force=False).count(access.READ_ONLY) == 5


def test_the_token_unlocks_its_own_session_only(shared_app):
    from streamlit_app import access

    app = unlock(open_page("runs_page.py", "live"), "a-wrong-token")
    assert "Wrong token" in texts(app, "error") and button(app, "Stop").disabled
    unlock(app)
    assert "Read-only" not in texts(app, "info") and not [box for box in app.text_input if box.key == access.FIELD]
    assert "Unlocked" in texts(app, "caption") and not button(app, "Stop").disabled
    button(app, "Stop").click().run()
    wait_for(lambda: shared_app.stand_in.poll() is not None, what="the SIGTERM to end the stand-in")

    other = open_page("runs_page.py", "kept")  # a second session: read-only until it enters the token too
    assert "Read-only" in texts(other, "info") and button(other, "Start training").disabled
    forced(other.checkbox(key="confirm-kept")).check()
    forced(button(other, "Delete")).click().run()
    assert (shared_app.root / "kept").is_dir()

    app.run()  # the page stops refreshing now that nothing trains
    app.selectbox[0].set_value("kept").run()
    app.checkbox(key="confirm-kept").check().run()
    button(app, "Delete").click().run()
    assert not app.exception and not (shared_app.root / "kept").exists()
    start(app, "new")
    assert "Started new" in texts(app, "success") and len(shared_app.started) == 1


def test_a_shared_app_without_a_token_stays_read_only(shared_app, monkeypatch):
    from streamlit_app import access

    monkeypatch.delenv("GANVAS_TOKEN")
    app = open_page("runs_page.py", "live")
    assert "set no access token" in texts(app, "info") and button(app, "Stop").disabled
    assert not [box for box in app.text_input if box.key == access.FIELD]


def test_the_token_may_be_a_password_in_streamlits_secrets(shared_app, monkeypatch):
    monkeypatch.delenv("GANVAS_TOKEN")
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets["GANVAS_TOKEN"] = TOKEN  # as .streamlit/secrets.toml holds it
    app.run()
    assert "Read-only" in texts(app, "info") and button(app, "Start training").disabled
    assert not button(unlock(app), "Start training").disabled


def test_a_shared_app_reads_folders_only_inside_the_data_root(shared_app, tmp_path, monkeypatch):
    data, secret = (tmp_path / "data").resolve(), (tmp_path / "secret").resolve()
    (data / "shapes").mkdir(parents=True)
    secret.mkdir()
    (data / "link").symlink_to(secret)
    app = unlock(open_page("runs_page.py"))
    start(app, "refused", folder="shapes")
    assert "GANVAS_DATA_ROOT=" in texts(app, "error") and not shared_app.started

    monkeypatch.setenv("GANVAS_DATA_ROOT", str(data))
    for folder, data_dir in ((str(secret), None), ("../secret", None), ("shapes/../../secret", None), ("link", None),
                             (str(data / "link"), None), ("shapes", "../secret")):
        app = start(unlock(open_page("runs_page.py")), "refused", folder=folder, data_dir=data_dir)
        assert f"is outside {data}" in texts(app, "error")
    assert not shared_app.started and not (shared_app.root / "refused").exists()
    app = start(unlock(open_page("runs_page.py")), "inside", folder="shapes")
    assert "Started inside" in texts(app, "success")
    assert f"folder:{data / 'shapes'}" in shared_app.started[0]


def test_a_loopback_app_is_unchanged(tmp_path, monkeypatch):
    from streamlit_app import access

    started = []
    monkeypatch.setattr(run_files, "_spawn", lambda command, log_path: started.append(command) or 999_999_999)
    monkeypatch.setenv("GANVAS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("GANVAS_HOST", raising=False)
    monkeypatch.setenv("GANVAS_TOKEN", TOKEN)  # set, and not asked for
    monkeypatch.setenv("GANVAS_DATA_ROOT", str(tmp_path / "data"))  # set, and not applied
    (tmp_path / "elsewhere").mkdir()
    app = open_page("runs_page.py")
    assert "Read-only" not in texts(app, "info") and not [box for box in app.text_input if box.key == access.FIELD]
    start(app, "anywhere", folder=str(tmp_path / "elsewhere"))
    assert "Started anywhere" in texts(app, "success")
    assert f"folder:{tmp_path / 'elsewhere'}" in started[0]


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True),
                                            ("localhost", True), ("::ffff:127.0.0.1", True), ("0.0.0.0", False),
                                            ("::", False), ("", False), (None, False), ("192.168.1.5", False),
                                            ("myhost.example", False)])
def test_which_addresses_are_loopback(host, loopback):
    from streamlit_app import access

    assert access.is_loopback(host) is loopback


def test_the_address_streamlit_is_bound_to_decides_whether_the_app_is_shared(monkeypatch):
    """Unset, Streamlit listens on every interface; GANVAS_HOST can only add sharing, for a proxy."""
    from streamlit import config

    from streamlit_app import access

    monkeypatch.delenv("GANVAS_HOST", raising=False)
    before = config.get_option("server.address")
    try:
        for address, shared in (("127.0.0.1", False), ("0.0.0.0", True), (None, True), ("", True)):
            config.set_option("server.address", address)
            assert access.shared() is shared
        config.set_option("server.address", "127.0.0.1")
        monkeypatch.setenv("GANVAS_HOST", "0.0.0.0")
        assert access.shared()
    finally:
        config.set_option("server.address", before)
