// The page: choose a model and a label, get a grid of samples, morph between labels, and see
// whether the classifier agrees. Every failure ends in the error panel, never a blank canvas.
import { PageError, loadGraphModel, loadIndex, loadManifest } from "./models.js";
import { classify, generate, labelRows, latentNoise } from "./sampling.js";
import { drawGrid } from "./draw.js";

const $ = (id) => document.getElementById(id);
const state = { manifest: null, generator: null, classifier: null, label: 0, busy: false };
window.ganvas = state; // for the tests and the curious: last samples, timings, errors

function showError(error) {
  console.warn(error);
  state.error = error.message;
  $("error").textContent = error.message;
  $("error").hidden = false;
}

function clearError() {
  state.error = null;
  $("error").hidden = true;
}

function updateUrl() {
  const params = new URLSearchParams({ model: state.manifest.name, label: state.label, seed: $("seed").value });
  history.replaceState(null, "", `?${params}`);
}

async function setBackend(name) {
  if (name === "wasm") tf.wasm.setWasmPaths("vendor/");
  let ready = false;
  try {
    ready = await tf.setBackend(name);
  } catch (error) {
    ready = false;
  }
  if (!ready) throw new PageError(`the ${name} backend failed to start in this browser; choose another`);
  await tf.ready();
  $("backend").value = name;
}

async function useModel(name) {
  const manifest = await loadManifest(name);
  state.generator = await loadGraphModel(name, "generator", manifest.generator.weights);
  state.classifier = manifest.classifier ? await loadGraphModel(name, "classifier", manifest.classifier.weights) : null;
  state.manifest = manifest;
  $("model").value = name;
  const labels = $("labels");
  labels.replaceChildren();
  manifest.label_names.forEach((labelName, index) => {
    const button = document.createElement("button");
    button.textContent = labelName;
    button.dataset.label = index;
    button.addEventListener("click", () => { state.label = index; run(draw); });
    labels.append(button);
  });
  for (const select of [$("morph-from"), $("morph-to")]) {
    select.replaceChildren(...manifest.label_names.map((labelName, index) => new Option(labelName, index)));
  }
  $("morph-to").value = Math.min(1, manifest.label_names.length - 1);
  $("about").textContent = `${manifest.model} on ${manifest.dataset}, epoch ${manifest.epoch}` +
    (manifest.metrics?.label_accuracy ? `, label accuracy ${(100 * manifest.metrics.label_accuracy).toFixed(1)} %` : "");
}

async function draw() {
  const { manifest } = state;
  const count = Math.max(1, Math.min(200, Number($("count").value) || 20));
  const seed = Number($("seed").value) >>> 0;
  const latent = latentNoise(seed, count, manifest.latent_dim);
  const labels = labelRows(count, manifest.label_names.length, state.label);
  const started = performance.now();
  const images = await generate(state.generator, manifest, latent, labels, count);
  state.milliseconds = performance.now() - started;
  let verdicts = null;
  if (state.classifier && manifest.conditional) {
    verdicts = (await classify(state.classifier, manifest, images, count)).map((predicted) => predicted === state.label);
    const agreed = verdicts.filter(Boolean).length;
    state.agreement = agreed / count;
    $("verdict").textContent = `classifier agrees on ${agreed} of ${count} (${(100 * state.agreement).toFixed(0)} %)`;
  }
  state.lastSamples = images;
  drawGrid($("grid"), images, manifest.image_shape, count, 10, verdicts);
  $("timing").textContent = `${state.milliseconds.toFixed(1)} ms for ${count} samples on ${tf.getBackend()}`;
  document.querySelectorAll("#labels button").forEach((button) => {
    button.classList.toggle("active", Number(button.dataset.label) === state.label);
  });
  updateUrl();
  state.drawn = (state.drawn || 0) + 1;
}

// An animated interpolation between two labels with the same noise: the label input is a blend.
async function morph() {
  const { manifest } = state;
  const from = Number($("morph-from").value);
  const to = Number($("morph-to").value);
  const count = 10;
  const latent = latentNoise(Number($("seed").value) >>> 0, count, manifest.latent_dim);
  for (let step = 0; step <= 20; step += 1) {
    const labels = labelRows(count, manifest.label_names.length, from, to, step / 20);
    const images = await generate(state.generator, manifest, latent, labels, count);
    drawGrid($("grid"), images, manifest.image_shape, count, 10);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

async function run(action) {
  if (state.busy) return;
  state.busy = true;
  try {
    clearError();
    await action();
  } catch (error) {
    showError(error);
  } finally {
    state.busy = false;
  }
}

async function start() {
  const params = new URLSearchParams(location.search);
  const models = await loadIndex();
  $("model").replaceChildren(...models.map((model) => new Option(`${model.name} (${model.dataset})`, model.name)));
  const name = params.get("model") ?? models[0].name;
  if (!models.some((model) => model.name === name)) {
    throw new PageError(`unknown model "${name}" in the URL; choose one of: ${models.map((model) => model.name).join(", ")}`);
  }
  await setBackend(params.get("backend") ?? "wasm");
  await useModel(name);
  if (params.has("seed")) $("seed").value = params.get("seed");
  if (params.has("label")) {
    const label = params.get("label");
    const index = /^\d+$/.test(label) ? Number(label) : state.manifest.label_names.indexOf(label);
    if (!(index >= 0 && index < state.manifest.label_names.length)) {
      throw new PageError(`unknown label "${label}" in the URL; labels are ${state.manifest.label_names.join(", ")}`);
    }
    state.label = index;
  }
  await draw();
  state.firstGridMilliseconds = performance.now();
}

$("model").addEventListener("change", () => run(async () => { state.label = 0; await useModel($("model").value); await draw(); }));
$("backend").addEventListener("change", () => run(async () => { await setBackend($("backend").value); await draw(); }));
$("generate").addEventListener("click", () => run(draw));
$("new-seed").addEventListener("click", () => { $("seed").value = Math.floor(Math.random() * 1e6); run(draw); });
$("morph").addEventListener("click", () => run(morph));
$("download").addEventListener("click", () => {
  const link = document.createElement("a");
  link.download = `ganvas-${state.manifest.name}-${state.manifest.label_names[state.label]}-${$("seed").value}.png`;
  link.href = $("grid").toDataURL("image/png");
  link.click();
});
run(start).then(() => { state.started = true; });
