"""Turn a run's generator (and its data set's classifier) into TF.js graph models for the page.
The page runs whichever judge ships (LeNet or DFN) the same way: a graph model from images in
[0, 1], input "image", to logits.

The route is Keras 3 → SavedModel (`model.export`) → `tensorflowjs_converter --input_format
tf_saved_model` → `tf.loadGraphModel`. A Keras 3 "layers model" converts too, but does not load
in @tensorflow/tfjs 4.x, so the graph-model route is the only one that works end to end.

An export checks itself before it ships: the converted model runs in Node with the same TF.js
library the page uses, on fixed inputs, and must agree with Keras. Everything is built in a
staging folder and swapped in at the end, so a failed export leaves the earlier one untouched.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import keras
import numpy as np

from export.model_index import recover, retired_folder, staging_prefix, update_index
from trainer import native_start_up_noise_filtered
from trainer.classifier import Classifier
from trainer.data import short_name
from trainer.judges import DEFAULT_ARCH
from trainer.models import is_conditional, is_image_conditioned
from trainer.models.layers import NearestUpsamplingConv2D
from trainer.rundir import CLASSIFIERS_DIR, RunDirectory, RunError, atomic_write, read_json
from trainer.sampling import latent_noise, load_generator_and_epoch

ROOT = Path(__file__).resolve().parents[1]
RUN_MODEL_SCRIPT = ROOT / "web" / "tools" / "run_model.mjs"
QUANTIZATION_FLAGS = {"none": [], "float16": ["--quantize_float16", "*"], "uint8": ["--quantize_uint8", "*"]}
FLOAT32_TOLERANCE = 1e-4
# A quantized generator's pixels may differ from Keras's by this share of the output range on
# average. uint8 weights measured a mean of 0.0038 (cdcgan) and 0.0015 (cgan) on a range of 2,
# though single pixels moved by up to 0.31; a broken quantization is off by far more.
QUANTIZED_MEAN_TOLERANCE = 0.025
ACCURACY_TOLERANCE = 0.005  # quantized label accuracy may trail float32 by at most half a point
CHECK_SAMPLES = 1000


class ExportError(Exception):
    """The export failed; the earlier export of the same name is left as it was."""


def convert(model, destination: Path, quantize: str, plain_upsampling: bool = False) -> None:
    """`plain_upsampling`: export NearestUpsamplingConv2D layers unfolded (`with_plain_upsampling`)."""
    with tempfile.TemporaryDirectory() as scratch:
        saved_model = Path(scratch) / "saved_model"
        (with_plain_upsampling(model) if plain_upsampling else model).export(str(saved_model), verbose=False)
        run_converter(["--input_format=tf_saved_model", "--output_format=tfjs_graph_model",
                       *QUANTIZATION_FLAGS[quantize], str(saved_model), str(destination)])
    model_path = destination / "model.json"
    artifacts = json.loads(model_path.read_text())
    einsums = [node["name"] for node in artifacts["modelTopology"]["node"] if node["op"] == "Einsum"]
    if einsums:  # the exporter's check runs on the CPU backend, which has one: it would pass
        raise ExportError(f"the converted graph has Einsum ops, which TF.js's WASM backend cannot run: {einsums[0]}")
    flatten_fused_biases(artifacts)
    split_unfusable_activations(artifacts)
    atomic_write(model_path, json.dumps(artifacts))


class UpsampledConv2D(keras.layers.Layer):
    """A NearestUpsamplingConv2D as the two layers it stands for: a nearest-neighbour upsampling,
    then a 3x3 convolution with the layer's own kernel. The same numbers to float rounding."""

    def __init__(self, source: NearestUpsamplingConv2D):
        super().__init__(name=f"{source.name}_upsampled", dtype=source.dtype_policy)
        self.source = source  # its weights, shared

    def call(self, images):
        source = self.source
        height, width = images.shape[1], images.shape[2]
        upsampled = keras.ops.image.resize(images, (2 * height, 2 * width), interpolation="nearest")
        outputs = keras.ops.conv(upsampled, keras.ops.cast(source.kernel, self.compute_dtype), padding="same")
        if source.use_bias:
            outputs = outputs + keras.ops.cast(source.bias, self.compute_dtype)
        return source.activation(outputs) if source.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return batch, 2 * height, 2 * width, self.source.filters


def with_plain_upsampling(model):
    """`model` with each NearestUpsamplingConv2D as an UpsampledConv2D (the other layers are the
    model's own). In the layer, the kernel is folded by an einsum of its weights, which the
    converter turns into a constant for a narrow layer (the samplers' last) but not for the
    colorize U-Net's wide ones; TF.js's WASM backend has no Einsum, so the page could not run
    them. Plain, each convolution also fuses with its batch norm, and the weights stay a quarter
    the size of folded constants: the 64 px U-Net downloads 0.6 MB rather than 1.6 MB (uint8),
    and colours a photo on WASM as fast (best of 30: 19-26 ms against 24-26 ms, on 2 busy cores)."""
    return keras.models.clone_model(model, clone_function=lambda layer: UpsampledConv2D(layer)
                                    if isinstance(layer, NearestUpsamplingConv2D) else layer)


FUSED_OPS = ("_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul")
# The activations that every TF.js backend (CPU, WASM, WebGL) can run inside a fused op.
TFJS_FUSABLE_ACTIVATIONS = {"Relu", "Relu6", "Elu", "LeakyRelu", "Prelu", "Sigmoid"}


def flatten_fused_biases(artifacts: dict) -> None:
    """Keras 3 adds a convolution's bias as a (1, 1, 1, C) tensor; the converter fuses it into
    the convolution as is, and TF.js's WASM backend then refuses it ("FusedConv2D only supports
    rank-1 bias"). The values are the same as a rank-1 (C,) bias, so only the shape changes."""
    bias_names = {name for node in artifacts["modelTopology"]["node"] if node["op"] in FUSED_OPS
                  for name in node["input"][2:]}
    for group in artifacts["weightsManifest"]:
        for weight in group["weights"]:
            shape = weight["shape"]
            if weight["name"] in bias_names and len(shape) > 1 and all(size == 1 for size in shape[:-1]):
                weight["shape"] = shape[-1:]


def split_unfusable_activations(artifacts: dict) -> None:
    """The converter fuses a layer's activation into its matrix multiply or convolution, tanh
    included, but TF.js runs no tanh inside a fused op ("Activation tanh has not been
    implemented"): the MLP generators' tanh output would not load. Such an activation becomes
    an op of its own after the fused one, under the original name that later ops read."""
    nodes = artifacts["modelTopology"]["node"]
    for node in list(nodes):
        if node["op"] not in FUSED_OPS or "fused_ops" not in node.get("attr", {}):
            continue
        fused = [base64.b64decode(op).decode() for op in node["attr"]["fused_ops"]["list"]["s"]]
        if len(fused) < 2 or fused[-1] in TFJS_FUSABLE_ACTIVATIONS:
            continue
        activation = dict(name=node["name"], op=fused[-1], input=[node["name"] + "/fused"],
                          attr={"T": node["attr"]["T"]})
        node["name"] += "/fused"
        node["attr"]["fused_ops"]["list"]["s"] = [base64.b64encode(op.encode()).decode() for op in fused[:-1]]
        nodes.insert(nodes.index(node) + 1, activation)


def run_in_tfjs(model_dir: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The converted model's output for `inputs`, computed by TF.js under Node."""
    with tempfile.TemporaryDirectory() as scratch:
        inputs_path, output_path = Path(scratch) / "inputs.json", Path(scratch) / "output.json"
        inputs_path.write_text(json.dumps({name: {"shape": list(value.shape), "data": value.ravel().tolist()}
                                           for name, value in inputs.items()}))
        result = subprocess.run(["node", str(RUN_MODEL_SCRIPT), str(model_dir), str(inputs_path), str(output_path)],
                                capture_output=True, text=True)
        if result.returncode:
            raise ExportError(f"TF.js could not run the converted model {model_dir}:\n{result.stderr[-2000:]}")
        output = json.loads(output_path.read_text())
    return np.asarray(output["data"], np.float32).reshape(output["shape"])


def weight_files(model_dir: Path) -> dict:
    return {path.name: dict(bytes=path.stat().st_size, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
            for path in sorted(model_dir.glob("*.bin"))}


def check_generator(generator, config, model_dir: Path, quantize: str, classifier: Classifier | None, log) -> dict:
    """Compare TF.js with Keras on fixed inputs; raise ExportError when they disagree too much."""
    conditional = is_conditional(config.model)
    count = CHECK_SAMPLES if (quantize != "none" and classifier) else 64
    num_classes = len(config.label_names)
    labels = np.arange(count) % num_classes
    inputs = {"latent": latent_noise(12345, count, config.latent_dim).numpy()} if config.latent_dim else {}
    if conditional:
        inputs["label"] = np.eye(num_classes, dtype=np.float32)[labels]
    if is_image_conditioned(config.model):  # a colorizer's input: grey images in [-1, 1]
        shape = (count, *config.image_shape[:2], 1)
        inputs["grey"] = np.random.default_rng(12345).uniform(-1, 1, shape).astype("float32")
    # A colorizer has one input, taken as a tensor (Keras warns of a dict); TF.js takes it by name.
    keras_output = np.asarray(generator(inputs["grey"] if "grey" in inputs else inputs, training=False))
    tfjs_output = run_in_tfjs(model_dir, inputs)
    difference = np.abs(keras_output - tfjs_output)
    report = dict(samples=count, max_abs_difference=float(difference.max()),
                  mean_abs_difference=float(difference.mean()))
    log(f"TF.js vs Keras on {count} fixed inputs: difference {difference.max():.2e} at most, "
        f"{difference.mean():.2e} on average")
    low, high = config.output_range
    if quantize == "none" and difference.max() > FLOAT32_TOLERANCE:
        raise ExportError(f"the converted generator differs from Keras by {difference.max():.2e} "
                          f"(more than {FLOAT32_TOLERANCE:g}); not exported")
    if quantize != "none" and difference.mean() > QUANTIZED_MEAN_TOLERANCE * (high - low):
        raise ExportError(f"the {quantize} generator differs from Keras by {difference.mean():.2e} on average "
                          f"(more than {QUANTIZED_MEAN_TOLERANCE * (high - low):g}); try --quantize float16")
    if quantize != "none" and classifier and conditional:
        accuracies = {}
        for name, images in (("float32", keras_output), (quantize, tfjs_output)):
            _, predicted = classifier.features_and_predictions(np.clip((images - low) / (high - low), 0, 1))
            accuracies[name] = float((predicted == labels).mean())
        report["label_accuracy"] = accuracies
        log(f"label accuracy: float32 {accuracies['float32']:.2%}, {quantize} {accuracies[quantize]:.2%}")
        if accuracies["float32"] - accuracies[quantize] > ACCURACY_TOLERANCE:
            raise ExportError(f"{quantize} quantization drops label accuracy from {accuracies['float32']:.2%} "
                              f"to {accuracies[quantize]:.2%} (more than half a point); try --quantize float16")
    return report


def check_classifier(classifier: Classifier, model_dir: Path) -> float:
    images = np.random.default_rng(0).uniform(size=(8, *classifier.info["image_shape"])).astype(np.float32)
    difference = float(np.abs(np.asarray(classifier.model(images)) - run_in_tfjs(model_dir, {"image": images})).max())
    if difference > FLOAT32_TOLERANCE:
        raise ExportError(f"the converted classifier differs from Keras by {difference:.2e}")
    return difference


def run_converter(arguments: list[str]) -> None:
    """`tensorflowjs_converter ARGUMENTS`, run in this process: TensorFlow is loaded here already,
    and the command spent some 5 s of each conversion loading it again. What the converter prints
    is shown only if it fails."""
    # TensorFlow Decision Forests, which the converter imports, greets on import, through IPython
    # where standard output is not the terminal (as while held back here).
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    printed = io.StringIO()
    try:
        # Its C++ writes notes past TF_CPP_MIN_LOG_LEVEL ("Starting new session"): every line held back.
        with (native_start_up_noise_filtered(noise=re.compile("")), contextlib.redirect_stdout(printed),
              contextlib.redirect_stderr(printed)):
            from tensorflowjs.converters import converter

            converter.convert(arguments)
    except Exception as error:  # the converter raises many kinds; each is a failed export
        raise ExportError(f"tensorflowjs_converter failed: {type(error).__name__}: {error}\n"
                          f"{printed.getvalue()[-2000:]}") from None


def export_run(run_dir, name: str, web_dir: Path, epoch: int | None = None, quantize: str = "uint8",
               classifiers_dir: str | Path = CLASSIFIERS_DIR, log=print,
               classifier_arch: str = DEFAULT_ARCH) -> Path:
    if not (RUN_MODEL_SCRIPT.parent.parent / "node_modules" / "@tensorflow" / "tfjs").exists():
        raise ExportError("@tensorflow/tfjs is not installed in web/node_modules; run the README's set-up")
    run = RunDirectory(run_dir)
    generator, config, epoch = load_generator_and_epoch(run_dir, epoch)
    # The metrics of this very epoch, if it was scored (`trainer eval`, with --epoch E for a kept
    # checkpoint); none rather than another epoch's.
    reports = [read_json(run.report_path("metrics", number)) for number in (epoch, None)]
    metrics = next((report for report in reports if report and report.get("epoch") == epoch), None)
    models_dir = Path(web_dir) / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    classifier = None
    if not is_image_conditioned(config.model):  # a colorizer's page shows no label verdicts
        try:
            classifier = Classifier.for_run(config, classifiers_dir, classifier_arch)
        except RunError as missing:
            log(f"warning: {missing}; exporting without a classifier")
    recover(models_dir, log)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(name), dir=models_dir))
    staging.chmod(0o755)  # served to browsers: readable by the web server's user
    try:
        log(f"converting the generator of {run.path} ({quantize})")
        convert(generator, staging / "generator", quantize, plain_upsampling=is_image_conditioned(config.model))
        generator_check = check_generator(generator, config, staging / "generator", quantize, classifier, log)
        manifest = dict(
            name=name, dataset=short_name(config.dataset), model=config.model, run=run.path.name,
            epoch=epoch, conditional=is_conditional(config.model),
            label_names=config.label_names, latent_dim=config.latent_dim, image_shape=config.image_shape,
            channels=config.image_shape[-1], output_range=config.output_range, quantization=quantize,
            inputs=["grey"] if is_image_conditioned(config.model) else
            ["latent", "label"] if is_conditional(config.model) else ["latent"],
            metrics=metrics, check=generator_check,
            generator=dict(path="generator/model.json", weights=weight_files(staging / "generator")),
        )
        if classifier is not None:
            log(f"converting the {classifier_arch} classifier (float32)")
            convert(classifier.model, staging / "classifier", "none")
            manifest["classifier"] = dict(path="classifier/model.json", arch=classifier_arch,
                                          test_accuracy=classifier.info["test_accuracy"],
                                          max_abs_difference=check_classifier(classifier, staging / "classifier"),
                                          weights=weight_files(staging / "classifier"))
        manifest["bytes"] = sum(file["bytes"] for part in ("generator", "classifier") if part in manifest
                                for file in manifest[part]["weights"].values())
        atomic_write(staging / "manifest.json", json.dumps(manifest, indent=2))
        target = models_dir / name
        if target.exists():
            # Two renames, since a folder cannot replace a folder in one. Killed between them,
            # the list must not name the missing model and the next export (or set-up) moves the
            # old one back (`recover`); so the list leaves it out first.
            update_index(models_dir, log, leave_out=name)
            retired = retired_folder(models_dir, name)
            target.rename(retired)
            staging.rename(target)
            shutil.rmtree(retired)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        update_index(models_dir, log)  # moves back a model set aside, and lists it again
        raise
    update_index(models_dir, log)
    return target
