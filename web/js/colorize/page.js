// The colorize page: choose an exported colorizer, give it a photo (picked, dropped, pasted, or
// an emoji of the training data), see grey | colorized | original and download the result.
// Every failure is one line in the error panel; the result on show stays until a new one is
// ready, and the controls wait while a photo is coloured.
import { PageError, isColorizer, loadGraphModel, loadIndex, loadManifest, switchBackend } from "../models.js";
import { MAX_PIXELS, MIN_SIDE, PhotoError, emojiPhoto, readPhoto } from "./photo.js";
import { greyOf } from "./colour.js";
import { colorize } from "./colorize.js";
import { askedBackend, showWebgpu, startTensorFlowWebgpu, webgpuProblem } from "../webgpu.js";

const $ = (id) => document.getElementById(id);
const HOW_TO = "no colorizer is exported: train one with `ganvas train --dataset emoji --model colorize " +
  "--image-size 64 --run-name emoji-colour`, export it with `python -m export --run emoji-colour --name emoji-colour`, " +
  "then reload this page";
const SMALL = 192; // CSS pixels: a smaller picture (an emoji) is shown enlarged, pixel for pixel
// `photo`: the photo on show, coloured again when the model or the backend changes; `shown`: the
// download's file name; `colorized`, `actions`: how many results were drawn and how many actions
// ended, well or not (the tests wait on them).
const state = { manifest: null, generator: null, backend: null, busy: false, photo: null, shown: null, colorized: 0,
  actions: 0, limits: { MAX_PIXELS, MIN_SIDE } };
window.ganvasColorize = state; // for the tests, the benchmark and the curious

function showError(error) {
  console.warn(error);
  // Ours are one line already; anything else is a bug, still said in one line.
  const known = error instanceof PageError || error instanceof PhotoError;
  state.error = known ? error.message : `unexpected error: ${error.message ?? error}`.split("\n")[0];
  $("error").textContent = state.error;
  $("error").hidden = false;
  if (!state.manifest) $("about").textContent = "No colorizer is loaded.";
}

// A line that is not an error: what the page did instead of what the URL asked.
function showNotice(message) {
  state.notice = message;
  $("notice").textContent = message;
  $("notice").hidden = !message;
}

function setBusy(busy) {
  state.busy = busy;
  document.querySelectorAll(".controls button, .controls select, .controls input").forEach((control) => {
    control.disabled = busy;
  });
}

async function run(action) {
  if (state.busy) return;
  setBusy(true);
  try {
    state.error = null;
    $("error").hidden = true;
    await action();
  } catch (error) {
    showError(error);
  } finally {
    setBusy(false);
    state.actions += 1;
  }
}

async function setBackend(name) {
  state.backend = await switchBackend(name, state.backend, $("backend"), [state.generator]);
}

// The new model is loaded whole before it replaces the one in use.
async function useModel(name) {
  let manifest, generator;
  try {
    manifest = await loadManifest(name);
    generator = await loadGraphModel(name, "generator", manifest.generator.weights);
  } catch (error) {
    $("model").value = state.manifest?.name ?? "";
    throw error;
  }
  state.generator?.dispose();
  Object.assign(state, { manifest, generator });
  $("model").value = name;
  const [side] = manifest.image_shape;
  // A metric of another type (a hand-edited manifest) is left out rather than failing after the switch.
  const psnr = Number.isFinite(manifest.metrics?.psnr) ? `, PSNR ${manifest.metrics.psnr.toFixed(1)} dB` : "";
  $("about").textContent = `${name}: a colorizer trained on ${manifest.dataset} at ${side} x ${side}, ` +
    `epoch ${manifest.epoch}${psnr}`;
}

function updateUrl() {
  history.replaceState(null, "", `?${new URLSearchParams({ model: state.manifest.name, backend: state.backend })}`);
}

/** RGBA bytes on a canvas, shown enlarged (pixelated) when small and shrunk by CSS when large. */
function paint(canvas, rgba, width, height) {
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
  const small = width < SMALL;
  canvas.style.width = small ? `${width * Math.ceil(SMALL / width)}px` : "";
  canvas.style.imageRendering = small ? "pixelated" : "auto"; // a photo shrunk to fit is smoothed
}

function greyRgba({ width, height, data }) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let pixel = 0; pixel < width * height; pixel += 1) {
    rgba.fill(data[pixel], pixel * 4, pixel * 4 + 3);
    rgba[pixel * 4 + 3] = 255;
  }
  return rgba;
}

async function show(photo) {
  const manifest = state.manifest;
  if (!manifest) throw new PageError(HOW_TO);
  const started = performance.now();
  const grey = greyOf(photo.rgba, photo.width, photo.height);
  const { rgba, modelMilliseconds } = await colorize(state.generator, manifest, grey);
  state.milliseconds = performance.now() - started;
  state.modelMilliseconds = modelMilliseconds;
  const { width, height } = photo;
  paint($("grey"), greyRgba(grey), width, height);
  paint($("colorized"), rgba, width, height);
  paint($("original"), photo.rgba, width, height);
  const [side] = manifest.image_shape;
  const resized = width !== side || height !== side ?
    `; the colorizer saw it at ${side} x ${side}, and its colours were scaled to ${width} x ${height} and joined ` +
    `with the photo's own grey` : "";
  $("timing").textContent = `${photo.title ?? photo.name}, ${width} x ${height}: colorized in ` +
    `${state.milliseconds.toFixed(1)} ms on ${tf.getBackend()} (the generator: ${modelMilliseconds.toFixed(1)} ms)${resized}`;
  state.photo = photo;
  state.shown = `${photo.name.replace(/\.[^.]*$/, "")}-${manifest.name}`;
  state.colorized += 1;
  updateUrl();
}

const showFile = (file) => run(async () => show(await readPhoto(file)));

async function start() {
  const params = new URLSearchParams(location.search);
  // First, so that the menu says whether WebGPU can run whatever fails next.
  state.webgpuProblem = await webgpuProblem(startTensorFlowWebgpu);
  showWebgpu($("backend"), state.webgpuProblem);
  const listed = await loadIndex({ allowEmpty: true });
  const colorizers = listed.filter(isColorizer);
  $("model").replaceChildren(...colorizers.map((model) => new Option(`${model.name} (${model.dataset})`, model.name)));
  if (colorizers.length === 0) throw new PageError(HOW_TO);
  const name = params.get("model") ?? colorizers[0].name;
  if (!colorizers.some((model) => model.name === name)) {
    const sampler = listed.some((model) => model.name === name) ? ` (it draws samples: open index.html?model=${name})` : "";
    $("model").value = "";
    throw new PageError(`"${name}" in the URL is not an exported colorizer${sampler}; choose one of: ` +
      colorizers.map((model) => model.name).join(", "));
  }
  const wanted = askedBackend(params, state.webgpuProblem, showNotice);
  let problem = null; // a backend this browser lacks falls back to WASM, then CPU, and says so
  for (const backend of new Set([wanted, "wasm", "cpu"])) {
    try {
      await setBackend(backend);
      break;
    } catch (error) {
      problem ??= error;
    }
  }
  await useModel(name);
  updateUrl();
  if (problem) throw new PageError(`${problem.message}; using ${state.backend} instead`);
}

$("model").addEventListener("change", () => run(async () => {
  await useModel($("model").value);
  if (state.photo) await show(state.photo);
}));
$("backend").addEventListener("change", () => run(async () => {
  await setBackend($("backend").value);
  showNotice(null);
  if (state.photo) await show(state.photo);
}));
$("photo").addEventListener("change", () => {
  const [file] = $("photo").files;
  if (file) showFile(file);
  $("photo").value = ""; // choosing the same file again colours it again
});
$("emoji").addEventListener("click", () => run(async () => show(await emojiPhoto(Number($("emoji-index").value) || 0))));
$("download").addEventListener("click", () => {
  if (!state.shown) {
    showError(new PageError("nothing to download yet: colorize a photo first"));
    return;
  }
  $("colorized").toBlob((blob) => {
    const link = document.createElement("a");
    link.download = `${state.shown}.png`;
    link.href = URL.createObjectURL(blob);
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }, "image/png");
});
// A photo dropped anywhere on the page, or pasted (a pasted text is left alone).
document.body.addEventListener("dragover", (event) => {
  event.preventDefault();
  document.body.classList.add("dragging");
});
document.body.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
document.body.addEventListener("drop", (event) => {
  event.preventDefault();
  document.body.classList.remove("dragging");
  const [file] = event.dataTransfer.files;
  if (file) showFile(file);
});
document.addEventListener("paste", (event) => {
  const [file] = event.clipboardData?.files ?? [];
  if (!file) return;
  event.preventDefault();
  showFile(file);
});
run(start).then(() => { state.started = true; });
