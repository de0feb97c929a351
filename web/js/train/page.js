// The training page: the controls, and the views of a training that runs in worker.js. This
// thread never runs TensorFlow, so drawing and the buttons stay quick whatever a step costs.
import { drawGrid } from "../draw.js";
import { drawChart } from "./charts.js";
import { FAMILIES } from "./networks.js";
import { defaultOptions } from "./training.js";
import { hideDamaged, saveFile, setUpOffers, showDamaged } from "./offers.js";
import { folderState, loadOwnImages, setUpOwnImages } from "./own-images.js";
import { showWebgpu, webgpuFallbackNotice, webgpuProblem } from "../webgpu.js";

const $ = (id) => document.getElementById(id);
const BACKEND_NAMES = { wasm: "WASM", webgl: "WebGL", cpu: "CPU", webgpu: "WebGPU" };
// How long the WebGPU check's worker may take to load TF.js and start the backend.
const WEBGPU_CHECK_MS = 60000;
// The average decay's limits are the CLI's (0 ≤ decay < 1): 0 or an empty field turns it off.
const LIMITS = { "learning-rate": [1e-5, 0.1], "batch-size": [1, 1000], "d-steps": [1, 10], "g-steps": [1, 10], "average-decay": [0, 0.9999] };
// What the tests and the curious can read: the latest numbers, and when each view was drawn.
const state = { ready: false, running: false, counts: { d: 0, g: 0 }, gridDraws: 0, viewUpdates: [], accuracy: [], error: null, curves: null,
  folder: folderState, webgpuProblem: "checking…", startedAt: performance.now(), visibility: [] };
window.ganvasTrain = state;
let worker = null;

function showError(message) {
  state.error = message;
  $("error").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  state.error = null;
  $("error").hidden = true;
}

function send(message) {
  worker.postMessage(message);
}

function readOptions() {
  const value = (id, integer) => {
    const [low, high] = LIMITS[id];
    const number = Number($(id).value);
    const clamped = Math.min(high, Math.max(low, Number.isFinite(number) && $(id).value !== "" ? number : low));
    $(id).value = integer ? Math.round(clamped) : clamped;
    return Number($(id).value);
  };
  return { learningRate: value("learning-rate"), batchSize: value("batch-size", true), dSteps: value("d-steps", true), gSteps: value("g-steps", true),
    averageDecay: value("average-decay") };
}

function showOptions(options) {
  $("learning-rate").value = options.learningRate;
  $("batch-size").value = options.batchSize;
  $("d-steps").value = options.dSteps;
  $("g-steps").value = options.gSteps;
  $("average-decay").value = options.averageDecay;
}

// The backends a model can train on; the others are disabled with the reason beside them. WebGPU
// also needs the browser to start it (its option says why not).
function showModel() {
  const model = FAMILIES[$("model").value];
  const offered = (name) => model.backends.includes(name) && (name !== "webgpu" || state.webgpuProblem === null);
  for (const option of $("backend").options) option.disabled = !offered(option.value);
  if ($("backend").selectedOptions[0].disabled) $("backend").value = model.backends.find(offered);
  const cannot = Object.keys(BACKEND_NAMES).filter((name) => !model.backends.includes(name));
  $("model-note").textContent = `${model.description}. Trains on ${model.backends.map((name) => BACKEND_NAMES[name]).join(", ")}` +
    (cannot.length ? `; not on ${cannot.map((name) => BACKEND_NAMES[name]).join(", ")}.` : ".");
}

// TF.js's WebGPU backend started in a worker, as the training's worker starts it; true if it computes.
function startWebgpuInWorker() {
  return new Promise((resolve) => {
    const probe = new Worker(new URL("./webgpu-probe.js", import.meta.url), { type: "module" });
    const finish = (ready) => {
      clearTimeout(timer);
      probe.terminate();
      resolve(ready);
    };
    const timer = setTimeout(() => finish(false), WEBGPU_CHECK_MS);
    probe.onmessage = ({ data }) => finish(data.ready === true);
    probe.onerror = () => finish(false);
  });
}

// The menu's WebGPU option once the browser has answered; a URL that asked for WebGPU gets it, or
// the model's first backend and a one-line notice, unless a training has started meanwhile.
async function checkWebgpu(asked) {
  state.webgpuProblem = await webgpuProblem(startWebgpuInWorker);
  showWebgpu($("backend"), state.webgpuProblem);
  showModel();
  if (asked !== "webgpu" || state.ready || state.starting) return;
  if (!$("backend").querySelector("option[value=webgpu]").disabled) $("backend").value = "webgpu";
  else if (state.webgpuProblem) $("notice").textContent = webgpuFallbackNotice(state.webgpuProblem, BACKEND_NAMES[$("backend").value]);
}

function setButtons() {
  const ready = state.ready && !state.starting;
  $("start").disabled = Boolean(state.starting);
  $("pause").disabled = !ready || !state.running;
  for (const id of ["resume", "d-step", "g-step"]) $(id).disabled = !ready || state.running;
  for (const id of ["save", "download"]) $(id).disabled = !ready;
}

function status() {
  const { counts, epoch, stepsPerSecond, imagesPerSecond, tensors, backend, threads } = state;
  const speed = state.running && stepsPerSecond ? ` · ${stepsPerSecond.toFixed(1)} steps/s, ${Math.round(imagesPerSecond)} images/s` : "";
  const where = backend ? ` on ${BACKEND_NAMES[backend]}${threads ? ` (${threads} thread${threads > 1 ? "s" : ""})` : ""}` : "";
  $("status").textContent = `${state.running ? "Training" : "Paused"}${where}: ${counts.d} D steps, ${counts.g} G steps, ` +
    `epoch ${(epoch ?? 0).toFixed(2)}${speed} · ${tensors ?? "?"} tensors`;
}

function drawCharts() {
  const curves = state.curves;
  drawChart($("losses"), curves.step, [{ name: "D loss", values: curves.dLoss, color: "#0074d9" }, { name: "G loss", values: curves.gLoss, color: "#ff851b" }]);
  drawChart($("outputs"), curves.step, [{ name: "D(x)", values: curves.dReal, color: "#2ecc40" }, { name: "D(G(z))", values: curves.dFake, color: "#b10dc9" }], { min: 0, max: 1 });
  drawChart($("accuracy"), curves.accuracyStep, [{ name: "label accuracy", values: curves.accuracy, color: "#111" }], { min: 0, max: 1 });
}

function drawLastGrid() {
  const { shape, columns, rows } = state.gridLayout;
  drawGrid($("grid"), state.lastGrid, shape, rows * columns, columns);
  state.gridDraws += 1;
}

// A hidden tab: the browser throttles the page's timers (to once a second, after five minutes
// once a minute) but not the worker's, so the training goes on at full speed; the page stops
// drawing, and saves the training in this browser now and every few minutes, since a browser may
// freeze or discard a hidden tab that works hard (Chrome's Energy Saver and Memory Saver), and a
// discarded tab would lose what it learned.
const SAVE_WHILE_HIDDEN_MS = 120000;
let hiddenSaves = null;

function saveWhileHidden() {
  if (state.ready && state.running) send({ type: "save", reason: "hidden" });
}

function onVisibilityChange() {
  state.visibility.push({ state: document.visibilityState, seconds: (performance.now() - state.startedAt) / 1000 });
  clearInterval(hiddenSaves);
  if (document.hidden) {
    saveWhileHidden();
    hiddenSaves = setInterval(saveWhileHidden, SAVE_WHILE_HIDDEN_MS);
    return;
  }
  if (state.curves) drawCharts();
  if (state.lastGrid) drawLastGrid();
}

function showLoading(fraction, text = `Loading the training images: ${Math.round(100 * fraction)} %`) {
  $("loading").hidden = false;
  $("loading").value = fraction;
  $("status").textContent = text;
}

const HANDLERS = {
  loading: ({ fraction }) => showLoading(fraction),
  ready: (message) => {
    Object.assign(state, { ready: true, starting: false, counts: message.counts, curves: message.curves, backend: message.backend,
      threads: message.threads, isolated: message.isolated, options: message.options, imageShape: message.imageShape,
      labelNames: message.labelNames, balance: message.balance });
    $("loading").hidden = true;
    $("backend").value = message.backend;
    $("data-note").textContent = message.balance;
    $("accuracy-view").hidden = !message.judged; // no classifier knows the labels of your own images
    showOptions(message.options);
    drawCharts();
    status();
  },
  progress: (message) => {
    Object.assign(state, { counts: message.counts, epoch: message.epoch, tensors: message.tensors });
    if (message.stepsPerSecond !== undefined) Object.assign(state, { stepsPerSecond: message.stepsPerSecond, imagesPerSecond: message.imagesPerSecond });
    if (message.point) for (const [name, value] of Object.entries(message.point)) state.curves[name].push(value);
    if (!document.hidden) drawCharts(); // a hidden tab draws nothing: the views catch up when it shows
    status();
    state.viewUpdates.push(performance.now());
  },
  grid: ({ images, shape, columns, rows }) => {
    state.lastGrid = images;
    state.gridLayout = { shape, columns, rows };
    if (!document.hidden) drawLastGrid();
  },
  accuracy: ({ step, value }) => {
    state.curves.accuracyStep.push(step);
    state.curves.accuracy.push(value);
    // `seconds` since Start was pressed: the time-to-quality curve bench/web_train.py reads.
    state.accuracy.push({ step, value, seconds: (performance.now() - state.startedAt) / 1000 });
    if (!document.hidden) drawCharts();
  },
  state: ({ running }) => {
    state.running = running;
    status();
  },
  backend: ({ backend, threads }) => {
    Object.assign(state, { backend, threads });
    status();
  },
  saved: ({ key, savedAt, counts, reason }) => {
    state.saved = { savedAt, counts, reason };
    const replaced = state.damaged?.key === key ? ", in place of the damaged save" : "";
    if (replaced) hideDamaged();
    const why = reason === "hidden" ? " when the tab was hidden (a browser may discard a hidden tab)" : "";
    $("notice").textContent = `Saved in this browser at step ${counts.g}${why}${replaced}; reloading the page offers to continue it.`;
  },
  download: ({ text, fileName }) => {
    saveFile(text, fileName);
    $("notice").textContent = `Downloaded ${fileName}: open it in the sampler with "Open a model file".`;
  },
  notice: ({ message }) => {
    $("notice").textContent = message;
  },
  error: ({ message, damaged }) => {
    state.starting = false;
    if (damaged) showDamaged(damaged, message);
    else showError(message);
  },
  options: ({ options }) => showOptions(options),
  memory: ({ tensors }) => {
    state.tensors = tensors;
  },
  done: ({ command }) => {
    state.done = (state.done ?? 0) + 1;
    state.lastCommand = command;
  },
};

function startWorker() {
  worker?.terminate();
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data }) => {
    HANDLERS[data.type]?.(data);
    setButtons();
  };
  // A worker that cannot start at all (a missing file, a browser without module workers).
  worker.onerror = (event) => {
    showError(`the training worker failed: ${event.message ?? "it could not be loaded"}`);
    Object.assign(state, { starting: false, running: false });
    setButtons();
  };
}

// Your own images are decoded before the training worker is replaced: images that cannot train
// leave a training in progress as it was.
async function ownImages() {
  state.starting = true;
  setButtons();
  try {
    return await loadOwnImages({ size: Number($("image-size").value), channels: Number($("channels").value) },
      (done, total) => showLoading(done / total, `Decoding your images: ${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")}`));
  } finally {
    state.starting = false;
    $("loading").hidden = true;
    setButtons();
  }
}

async function start(restoreKey = null) {
  clearError();
  let data = null;
  if (!restoreKey && $("dataset").value === "folder") {
    try {
      data = await ownImages();
    } catch (error) {
      showError(error.message);
      return;
    }
  }
  $("saved-offer").hidden = true;
  Object.assign(state, { ready: false, starting: true, running: false, curves: null, accuracy: [], startedAt: performance.now() });
  startWorker();
  const options = { model: $("model").value, dataset: data?.name ?? $("dataset").value, seed: 0, ...readOptions() };
  send({ type: "start", options, backend: $("backend").value, restoreKey, run: !restoreKey, data });
  setButtons();
}

function showDataset() {
  $("own-images").hidden = $("dataset").value !== "folder";
}

// The damaged training's data set and model in the controls, where the controls have them.
function chooseTraining(key) {
  const [dataset, model] = [key.slice(0, key.lastIndexOf("/")), key.slice(key.lastIndexOf("/") + 1)];
  if (Object.hasOwn(FAMILIES, model) && model !== $("model").value) {
    $("model").value = model;
    showModel();
    showOptions(defaultOptions(model));
  }
  if ([...$("dataset").options].some((option) => option.value === dataset)) $("dataset").value = dataset;
  showDataset();
}

function setUp() {
  $("model").replaceChildren(...Object.entries(FAMILIES).map(([name]) => new Option(name, name)));
  const params = new URLSearchParams(location.search);
  for (const id of ["dataset", "model", "backend"]) if (params.has(id)) $(id).value = params.get(id);
  showModel();
  showDataset();
  showOptions(defaultOptions($("model").value));
  $("dataset").addEventListener("change", showDataset);
  setUpOwnImages({
    listed: (problem) => (problem ? showError(problem) : clearError()),
    dropped: () => {
      $("dataset").value = "folder";
      showDataset();
    },
  });
  $("model").addEventListener("change", () => {
    showModel();
    showOptions(defaultOptions($("model").value));
  });
  $("backend").addEventListener("change", () => {
    if (state.ready) send({ type: "backend", backend: $("backend").value });
  });
  for (const id of Object.keys(LIMITS)) $(id).addEventListener("change", () => state.ready && send({ type: "options", changes: readOptions() }));
  $("start").addEventListener("click", () => start());
  document.addEventListener("visibilitychange", onVisibilityChange);
  $("pause").addEventListener("click", () => send({ type: "pause" }));
  $("resume").addEventListener("click", () => {
    clearError();
    send({ type: "resume" });
  });
  $("d-step").addEventListener("click", () => send({ type: "step", kind: "d" }));
  $("g-step").addEventListener("click", () => send({ type: "step", kind: "g" }));
  $("save").addEventListener("click", () => send({ type: "save" }));
  $("download").addEventListener("click", () => send({ type: "download" }));
  setButtons();
  Promise.all([setUpOffers({ state, start, chooseTraining, showError }), checkWebgpu(params.get("backend"))])
    .then(() => { state.started = true; });
}

setUp();
