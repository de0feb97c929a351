"""`ganvas sample`: grids and raw arrays, its errors, and a damaged generator."""

import numpy as np
from PIL import Image

from conftest import SMALL, run_cli, train


def test_sample_writes_png_grids_and_raw_arrays(runs_dir, tmp_path):
    train(runs_dir, *SMALL, "--model", "cdcgan", "--epochs", "2")
    result = run_cli("sample", "--run", "run", "--runs-dir", runs_dir, "--label", "3", "--n", "12",
                     "--seed", "5", "--out", tmp_path / "three.npy")
    assert result.returncode == 0, result.stderr
    images = np.load(tmp_path / "three.npy")
    assert images.shape == (12, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
    result = run_cli("sample", "--run", runs_dir / "run", "--epoch", "1", "--label", "3", "--n", "12",
                     "--seed", "5", "--out", tmp_path / "three.png")
    assert result.returncode == 0, result.stderr
    assert np.asarray(Image.open(tmp_path / "three.png")).shape == (2 * 30 + 2, 10 * 30 + 2)
    again = run_cli("sample", "--run", "run", "--runs-dir", runs_dir, "--label", "3", "--n", "12",
                    "--seed", "5", "--out", tmp_path / "again.npy")
    assert again.returncode == 0 and np.array_equal(np.load(tmp_path / "again.npy"), images)
    # Noise scaled to 0 is the mean noise vector: every sample of a label is the same image.
    typical = run_cli("sample", "--run", "run", "--runs-dir", runs_dir, "--label", "3", "--n", "4",
                      "--noise-scale", "0", "--out", tmp_path / "typical.npy")
    assert typical.returncode == 0, typical.stderr
    typical = np.load(tmp_path / "typical.npy")
    assert np.array_equal(typical, typical[:1].repeat(4, axis=0)) and not np.array_equal(images[0], images[1])


def test_sample_errors_are_one_clear_line(runs_dir, tmp_path):
    train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "1", "--keep-checkpoints", "1")
    cases = [
        (("--label", "11"), "unknown label"),
        (("--label", "3", "--epoch", "7"), "kept epochs: 1"),
        (("--label", "3", "--noise-scale", "-1"), "--noise-scale: must be 0 or more"),
        (("--label", "3", "--noise-scale", "nan"), "--noise-scale: must be 0 or more"),
        ((), "--label is required"),
    ]
    for extra, message in cases:
        result = run_cli("sample", "--run", runs_dir / "run", "--out", tmp_path / "x.png", *extra)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    result = run_cli("sample", "--run", tmp_path / "nowhere", "--label", "1", "--out", tmp_path / "x.png")
    assert result.returncode == 2 and "not a run directory" in result.stderr


def test_sample_out_is_read_whatever_its_case_and_a_folder_is_refused(runs_dir, tmp_path, capsys):
    from trainer.__main__ import main

    path = train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "1")
    (tmp_path / "grid.png").mkdir()
    capsys.readouterr()
    assert main(["sample", "--run", str(path), "--label", "3", "--n", "3", "--out", str(tmp_path / "GRID.PNG")]) == 0
    assert Image.open(tmp_path / "GRID.PNG").format == "PNG"
    assert main(["sample", "--run", str(path), "--label", "3", "--n", "3", "--out", str(tmp_path / "RAW.NPY")]) == 0
    assert np.load(tmp_path / "RAW.NPY").shape == (3, 28, 28, 1)
    assert main(["sample", "--run", str(path), "--label", "3", "--out", str(tmp_path / "grid.png")]) == 2
    error = capsys.readouterr().err
    assert "is a folder; name a file" in error and len(error.strip().splitlines()) == 1


def test_a_damaged_generator_is_named_with_the_way_round_it(runs_dir, tmp_path, capsys):
    from export.__main__ import main as export
    from trainer.__main__ import main

    path = train(runs_dir, *SMALL, "--model", "cgan", "--epochs", "2", "--keep-checkpoints", "1")
    # Keras calls a damaged file "not found"; a copy cut short is the likely case.
    (path / "generator.keras").write_bytes(b"not a zip file")
    capsys.readouterr()
    capsys.readouterr()
    assert main(["sample", "--run", str(path), "--label", "3", "--out", str(tmp_path / "x.png")]) == 2
    error = capsys.readouterr().err
    assert f"cannot load {path / 'generator.keras'}: it is damaged" in error and "--epoch (kept: 2)" in error
    assert len(error.strip().splitlines()) == 1
    assert main(["sample", "--run", str(path), "--label", "3", "--epoch", "2", "--out", str(tmp_path / "x.png")]) == 0
    assert export(["--run", str(path), "--web-dir", str(tmp_path / "web")]) == 2
    assert "it is damaged" in capsys.readouterr().err
