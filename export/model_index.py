"""`web/models/index.json`, the list of models the page offers, rebuilt from the manifests present.

Generated rather than kept in git: the set-up writes it for the shipped models, and every export
rewrites it, so a local export (the main job's mnist-demo) never shows as a change to the
repository.

    python -m export.model_index [--web-dir web]
"""

import argparse
import json
from pathlib import Path

from trainer.rundir import atomic_write

INDEX_FIELDS = ("name", "dataset", "model", "label_names", "bytes")


def update_index(models_dir: Path, log=print) -> list[str]:
    entries = []
    for manifest_path in sorted(Path(models_dir).glob("*/manifest.json")):
        folder = manifest_path.parent.name
        if folder.startswith("."):  # an export being staged or retired
            continue
        try:
            manifest = json.loads(manifest_path.read_text())
            entry = {key: manifest[key] for key in INDEX_FIELDS}
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
    names = update_index(Path(parser.parse_args().web_dir) / "models")
    print(f"the page offers: {', '.join(names) or 'no models'}")
