"""What the app's tests share: the app, a page opened under AppTest, its texts, a run directory
made without training, and the pictures a page showed."""

import io

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from trainer.rundir import RunDirectory


APP = str(ROOT / "streamlit_app" / "app.py")


def open_page(page, run=None, timeout=60):
    app = AppTest.from_file(APP, default_timeout=timeout)
    if run:
        app.session_state["run"] = run
    app.run()
    if page != "runs_page.py":
        app.switch_page(page).run()
    assert not app.exception, [exception.value for exception in app.exception]
    return app


def texts(app, kind):
    return " ".join(str(element.value) for element in getattr(app, kind))


@pytest.fixture
def shown_image(monkeypatch):
    """The picture a page showed, by the URL AppTest gives its image: Streamlit keeps the bytes in
    its media storage, which the test run drops when it ends, so they are kept here as they arrive."""
    from PIL import Image
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    kept = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def load_and_keep(self, path_or_data, *args, **kwargs):
        file_id = load(self, path_or_data, *args, **kwargs)
        kept[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_keep)
    return lambda image: Image.open(io.BytesIO(kept[image.proto.imgs[0].url.rsplit("/", 1)[-1].split(".")[0]]))


def fake_run(root, name, dataset, model, label_names, epochs=3, done=3):
    """A run directory as a training leaves it, without training: config, status, history."""
    from trainer.config import TrainConfig

    run = RunDirectory(root / name)
    config = TrainConfig(dataset=dataset, model=model, epochs=epochs, run_name=name, image_shape=[32, 32, 3],
                         label_names=list(label_names), output_range=[-1.0, 1.0])
    run.path.mkdir(parents=True)
    run.config_path.write_text(config.to_json())
    run.write_history([dict(epoch=epoch, d_loss=1.0, g_loss=1.0, d_real=0.5, d_fake=0.5, seconds=1.0,
                            images_per_second=100.0) for epoch in range(1, done + 1)])
    run.write_status("finished" if done == epochs else "stopped", done, epochs)
    return run.path
