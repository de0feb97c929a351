// The page: choose a model and a label, get a grid of samples, morph between labels, and see
// whether the classifier agrees. Every failure ends in the error panel, never a blank canvas.
// The controls are disabled while a draw runs, so what the grid, the verdict, the URL and the
// selects show always belongs to one model, one label and one seed.
import { PageError, isColorizer, loadGraphModel, loadIndex, loadManifest, switchBackend } from "./models.js";
import { readBundle } from "./bundle.js";
import { classify, generate, labelRows, latentNoise } from "./sampling.js";
import { drawGrid } from "./draw.js";
import { askedBackend, showWebgpu, startTensorFlowWebgpu, webgpuProblem } from "./webgpu.js";

const $ = (id) => document.getElementById(id);
const MAX_SAMPLES = 200;
// With no ?model= the page opens the main job's own export if there is one: it is the model a
// person who just trained wants to see, whatever sorts first in index.json.
const PREFERRED_MODELS = ["mnist-demo", "mnist"];
// `shown` describes the picture on the canvas, for the download's file name.
// `files`: the models opened from files, by name, so that choosing one again reopens it.
const state = { manifest: null, generator: null, classifier: null, label: 0, backend: null, busy: false, shown: null, files: {} };
window.ganvas = state; // for the tests and the curious: last samples, timings, errors

function showError(error) {
  console.warn(error);
  state.error = error.message;
  $("error").textContent = error.message;
  if (error.link) { // a page that can do what was asked (a colorizer: colorize.html)
    const link = Object.assign(document.createElement("a"), { href: error.link, textContent: `open ${error.link}` });
    $("error").append(" → ", link);
  }
  $("error").hidden = false;
  // The header would otherwise say "Loading…" for good when the first model fails.
  if (!state.manifest) $("about").textContent = "No model is loaded.";
}

// A line that is not an error: what the page did instead of what the URL asked.
function showNotice(message) {
  state.notice = message;
  $("notice").textContent = message;
  $("notice").hidden = !message;
}

function clearError() {
  state.error = null;
  $("error").hidden = true;
}

function setBusy(busy) {
  state.busy = busy;
  document.querySelectorAll(".controls button, .controls select, .controls input, #labels button").forEach((control) => {
    control.disabled = busy;
  });
}

function loadedManifest() {
  if (!state.manifest) throw new PageError("no model is loaded: choose one under Model");
  return state.manifest;
}

// The field's value as the number of samples drawn, written back so the field says what was drawn.
function sampleCount() {
  const asked = Math.round(Number($("count").value));
  const count = $("count").value === "" || !Number.isFinite(asked) ? 20 : Math.max(1, Math.min(MAX_SAMPLES, asked));
  $("count").value = count;
  return count;
}

function seed() {
  const value = Number($("seed").value) >>> 0; // any number becomes a 32-bit seed, the same on every machine
  $("seed").value = value;
  return value;
}

// Everything that decides the grid, so that opening the URL draws it again.
function updateUrl() {
  // A model opened from a file is not on the server: its URL keeps the model it replaced.
  const params = new URLSearchParams(state.manifest.fromFile ? location.search : { model: state.manifest.name });
  if (state.manifest.conditional) params.set("label", state.label);
  params.set("seed", $("seed").value);
  params.set("samples", $("count").value);
  params.set("backend", state.backend);
  history.replaceState(null, "", `?${params}`);
}

async function setBackend(name) {
  state.backend = await switchBackend(name, state.backend, $("backend"), [state.generator, state.classifier]);
}

// Everything a model needs is loaded before any of it replaces the model in use, so a model that
// fails to load leaves the previous one whole.
async function useModel(name) {
  // A page that stopped before choosing a backend (a colorizer asked for by name) still has none,
  // and TF.js would load the weights onto its highest-priority backend, WebGPU, not started.
  if (!state.backend) await setBackend("wasm");
  let manifest, generator, classifier;
  try {
    manifest = await loadManifest(name);
    generator = await loadGraphModel(name, "generator", manifest.generator.weights);
    classifier = manifest.classifier ? await loadGraphModel(name, "classifier", manifest.classifier.weights) : null;
  } catch (error) {
    $("model").value = state.manifest?.name ?? "";
    throw error;
  }
  install(manifest, generator, classifier);
}

// A generator file that web/train.html downloaded, judged by the classifier of a listed export of
// its data set (the shipped mnist and fashion_mnist carry one).
async function openModelFile(file) {
  const { manifest, generator } = await readBundle(await file.text(), file.name);
  let classifier = null;
  try {
    const judge = await loadManifest(manifest.classifier_from ?? manifest.dataset);
    classifier = judge.classifier ? await loadGraphModel(judge.name, "classifier", judge.classifier.weights) : null;
  } catch (error) {
    console.warn(`no classifier for ${file.name}: ${error.message}`);
  }
  const name = manifest.name;
  if (![...$("model").options].some((option) => option.value === name)) $("model").append(new Option(`${name} (file)`, name));
  state.files[name] = { manifest: { ...manifest, fromFile: true }, file };
  install(state.files[name].manifest, generator, classifier);
}

function install(manifest, generator, classifier) {
  for (const model of [state.generator, state.classifier]) model?.dispose(); // their weights, held by the backend
  Object.assign(state, { manifest, generator, classifier, label: 0 });
  $("model").value = manifest.name;
  // An unconditional model has no label input: no buttons to pick one and nothing to morph.
  const labels = $("labels");
  labels.replaceChildren();
  labels.hidden = !manifest.conditional;
  $("morph-controls").hidden = !manifest.conditional;
  const labelNames = manifest.conditional ? manifest.label_names : [];
  labelNames.forEach((labelName, index) => {
    const button = document.createElement("button");
    button.textContent = labelName;
    button.dataset.label = index;
    button.addEventListener("click", () => run(() => draw(index)));
    labels.append(button);
  });
  for (const select of [$("morph-from"), $("morph-to")]) {
    select.replaceChildren(...manifest.label_names.map((labelName, index) => new Option(labelName, index)));
  }
  $("morph-to").value = Math.min(1, manifest.label_names.length - 1);
  $("about").textContent = `${manifest.model} on ${manifest.dataset}, epoch ${manifest.epoch}` +
    (Number.isFinite(manifest.metrics?.label_accuracy) ? `, label accuracy ${(100 * manifest.metrics.label_accuracy).toFixed(1)} %` : "") +
    (manifest.conditional ? "" : "; an unconditional model: it draws without labels");
}

async function draw(label = state.label) {
  const manifest = loadedManifest();
  const count = sampleCount();
  const latent = latentNoise(seed(), count, manifest.latent_dim);
  const labels = manifest.conditional ? labelRows(count, manifest.label_names.length, label) : null;
  const started = performance.now();
  const images = await generate(state.generator, manifest, latent, labels, count);
  state.milliseconds = performance.now() - started;
  let verdicts = null;
  $("verdict").textContent = "";
  if (state.classifier && manifest.conditional) {
    verdicts = (await classify(state.classifier, manifest, images, count)).map((predicted) => predicted === label);
    const agreed = verdicts.filter(Boolean).length;
    state.agreement = agreed / count;
    $("verdict").textContent = `classifier agrees on ${agreed} of ${count} (${(100 * state.agreement).toFixed(0)} %)`;
  }
  state.label = label;
  state.lastSamples = images;
  const labelName = manifest.conditional ? `-${manifest.label_names[label]}` : "";
  state.shown = `${manifest.name}${labelName}-${$("seed").value}`;
  drawGrid($("grid"), images, manifest.image_shape, count, 10, verdicts);
  $("timing").textContent = `${state.milliseconds.toFixed(1)} ms for ${count} samples on ${tf.getBackend()}`;
  document.querySelectorAll("#labels button").forEach((button) => {
    button.classList.toggle("active", Number(button.dataset.label) === label);
  });
  updateUrl();
  state.drawn = (state.drawn || 0) + 1;
}

// An animated interpolation between two labels with the same noise: the label input is a blend.
async function morph() {
  const manifest = loadedManifest();
  const from = Number($("morph-from").value);
  const to = Number($("morph-to").value);
  const count = 10;
  const frames = 21;
  const latent = latentNoise(seed(), count, manifest.latent_dim);
  let images = null;
  let milliseconds = 0;
  $("verdict").textContent = "";
  for (let frame = 0; frame < frames; frame += 1) {
    const labels = labelRows(count, manifest.label_names.length, from, to, frame / (frames - 1));
    const started = performance.now();
    images = await generate(state.generator, manifest, latent, labels, count);
    milliseconds += performance.now() - started;
    drawGrid($("grid"), images, manifest.image_shape, count, 10);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  state.lastSamples = images;
  const [fromName, toName] = [manifest.label_names[from], manifest.label_names[to]];
  state.shown = `${manifest.name}-${fromName}-to-${toName}-${$("seed").value}`;
  $("timing").textContent = `morph from ${fromName} to ${toName}: ${(milliseconds / frames).toFixed(1)} ms ` +
    `per frame of ${count} samples on ${tf.getBackend()}; the grid shows its last frame`;
}

async function run(action) {
  if (state.busy) return;
  setBusy(true);
  try {
    clearError();
    await action();
  } catch (error) {
    showError(error);
  } finally {
    setBusy(false);
  }
}

/**
 * The message for a URL that asks this page for a colorizer; the error carries a link to
 * colorize.html, the page that uses one.
 * @param {{name: string, dataset: string}} colorizer its entry in models/index.json
 * @param {Array<{name: string}>} samplers the models this page offers instead
 * @returns {string}
 */
function notASampler(colorizer, samplers) {
  const instead = samplers.length ? `, or choose one of: ${samplers.map((model) => model.name).join(", ")}` : "";
  return `model "${colorizer.name}" colorizes photos (trained on ${colorizer.dataset}) and is not a sampler: ` +
    `it colours a grey photo rather than drawing from noise and labels; colorize.html colours photos with it${instead}`;
}

async function start() {
  const params = new URLSearchParams(location.search);
  // First, so that the menu says whether WebGPU can run whatever fails next.
  state.webgpuProblem = await webgpuProblem(startTensorFlowWebgpu);
  showWebgpu($("backend"), state.webgpuProblem);
  const listed = await loadIndex();
  // A colorizer's one input is a grey photo, not noise and a label: it is left out of the list
  // rather than offered and failing when chosen.
  const models = listed.filter((model) => !isColorizer(model));
  const options = models.map((model) => new Option(`${model.name} (${model.dataset})`, model.name));
  $("model").replaceChildren(...options);
  $("model").value = ""; // until one loads: choosing any model then loads it
  const colorizer = listed.find((model) => model.name === params.get("model") && isColorizer(model));
  if (colorizer) {
    throw Object.assign(new PageError(notASampler(colorizer, models)),
      { link: `colorize.html?model=${encodeURIComponent(colorizer.name)}` });
  }
  if (models.length === 0) {
    throw new PageError("models/index.json lists only colorizers, which colour photos: export a model that draws " +
      "samples (any other --model) with `python -m export`");
  }
  const preferred = PREFERRED_MODELS.find((name) => models.some((model) => model.name === name));
  const name = params.get("model") ?? preferred ?? models[0].name;
  if (!models.some((model) => model.name === name)) {
    throw new PageError(`unknown model "${name}" in the URL; choose one of: ${models.map((model) => model.name).join(", ")}`);
  }
  // A backend this browser cannot start, or a label the model does not have, should not leave the
  // page without samples: it draws with a fallback and then says what it could not do.
  const wanted = askedBackend(params, state.webgpuProblem, showNotice);
  let backendProblem = null;
  for (const backend of new Set([wanted, "wasm", "cpu"])) {
    try {
      await setBackend(backend);
      break;
    } catch (error) {
      backendProblem ??= error;
    }
  }
  const problems = backendProblem ? [`${backendProblem.message}; using ${state.backend} instead`] : [];
  await useModel(name);
  if (params.has("seed")) $("seed").value = params.get("seed");
  if (params.has("samples")) $("count").value = params.get("samples"); // sampleCount() clamps it
  let label = 0;
  // An unconditional model has no labels, so a label in its URL means nothing and is left out.
  if (params.has("label") && state.manifest.conditional) {
    const asked = params.get("label");
    label = /^\d+$/.test(asked) ? Number(asked) : state.manifest.label_names.indexOf(asked);
    if (!(label >= 0 && label < state.manifest.label_names.length)) {
      problems.push(`unknown label "${asked}" in the URL; labels are ${state.manifest.label_names.join(", ")}; ` +
        `showing ${state.manifest.label_names[0]} instead`);
      label = 0;
    }
  }
  await draw(label);
  state.firstGridMilliseconds = performance.now();
  if (problems.length) showError(new PageError(problems.join("\n")));
}

$("model").addEventListener("change", () => run(async () => {
  const opened = state.files[$("model").value];
  await (opened ? openModelFile(opened.file) : useModel($("model").value));
  await draw(0);
}));
$("open-file").addEventListener("change", () => run(async () => {
  const [file] = $("open-file").files;
  if (!file) return;
  await openModelFile(file);
  await draw(0);
}));
$("backend").addEventListener("change", () => run(async () => {
  await setBackend($("backend").value);
  showNotice(null);
  if (state.manifest) await draw();
}));
$("generate").addEventListener("click", () => run(() => draw()));
$("new-seed").addEventListener("click", () => run(async () => {
  $("seed").value = Math.floor(Math.random() * 1e6);
  await draw();
}));
$("morph").addEventListener("click", () => run(morph));
$("download").addEventListener("click", () => {
  if (!state.shown) {
    showError(new PageError("nothing to download yet: generate a grid first"));
    return;
  }
  const link = document.createElement("a");
  link.download = `ganvas-${state.shown}.png`;
  link.href = $("grid").toDataURL("image/png");
  link.click();
});
run(start).then(() => { state.started = true; });
