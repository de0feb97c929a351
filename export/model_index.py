"""`web/models/index.json`, the list of models the page offers, rebuilt from the manifests present.

Generated rather than kept in git: the set-up writes it for the shipped models, and every export
rewrites it, so a local export (the main job's mnist-demo) never shows as a change to the
repository.

    python -m export.model_index [--web-dir web]
"""

import argparse
import json
import os
import shutil
from pathlib import Path

from trainer.rundir import atomic_write

INDEX_FIELDS = ("name", "dataset", "model", "label_names", "bytes")
# The generator's inputs (["latent", "label"], ["latent"] or ["grey"]) tell the pages which of them
# can use a model, whatever its family; manifests from before they were written have none.
OPTIONAL_INDEX_FIELDS = ("inputs",)


def staging_prefix(name: str) -> str:
    """An export builds in `.<name>.<pid>.<random>` beside the models: the pid tells a folder of
    a running export from one an export killed mid-way left behind."""
    return f".{name}.{os.getpid()}."


def retired_folder(models_dir: Path, name: str) -> Path:
    """Where an export moves the model it replaces, for the moment between two renames."""
    return Path(models_dir) / f".{name}.retired"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def recover(models_dir: Path, log=print) -> None:
    """Undo what an export killed mid-way left: a model moved aside whose replacement never came
    is moved back, and staging folders of exports no longer running are removed."""
    for folder in sorted(Path(models_dir).glob(".*")):
        if not folder.is_dir():
            continue
        if folder.name.endswith(".retired"):
            target = Path(models_dir) / folder.name[1:-len(".retired")]
            if target.exists():  # the replacement made it; only the removal of the old one did not
                shutil.rmtree(folder, ignore_errors=True)
            else:
                folder.rename(target)
                log(f"restored {target.name}, which an interrupted export had moved aside")
            continue
        parts = folder.name.split(".")  # "", name, pid, random
        if len(parts) >= 4 and parts[-2].isdigit() and not pid_alive(int(parts[-2])):
            shutil.rmtree(folder, ignore_errors=True)
            log(f"removed {folder.name}, left by an interrupted export")


def update_index(models_dir: Path, log=print, leave_out: str | None = None) -> list[str]:
    """Rewrite index.json from the manifests present, after `recover`; `leave_out` a model about
    to be replaced, so that the list never names a folder that is, for a moment, not there."""
    recover(models_dir, log)
    entries = []
    for manifest_path in sorted(Path(models_dir).glob("*/manifest.json")):
        folder = manifest_path.parent.name
        if folder.startswith(".") or folder == leave_out:  # an export being staged or retired
            continue
        try:
            manifest = json.loads(manifest_path.read_text())
            entry = {key: manifest[key] for key in INDEX_FIELDS}
            entry.update({key: manifest[key] for key in OPTIONAL_INDEX_FIELDS if key in manifest})
        except (ValueError, KeyError, TypeError) as error:  # one broken folder must not hide the others
            log(f"warning: {manifest_path} is not a manifest the page can use ({type(error).__name__}: {error}); "
                f"left out of the list")
            continue
        # The page loads a model by its folder: a copied or renamed folder is listed as itself.
        entries.append({**entry, "name": folder})
    atomic_write(Path(models_dir) / "index.json", json.dumps({"models": entries}, indent=2))
    return [entry["name"] for entry in entries]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m export.model_index", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--web-dir", default="web")
    models_dir = Path(parser.parse_args().web_dir) / "models"
    names = update_index(models_dir)
    listed = json.loads((models_dir / "index.json").read_text())["models"]
    colorizers = [entry["name"] for entry in listed if entry["model"] == "colorize"]
    samplers = [name for name in names if name not in colorizers]
    print(f"index.html offers: {', '.join(samplers) or 'no models'}"
          + (f"; colorize.html: {', '.join(colorizers)}" if colorizers else ""))
