// The training runs here, in a Web Worker, so the page stays responsive however long a step
// takes. The page sends commands (start, pause, resume, single steps, options, save, download);
// this posts back progress, the fixed-noise grid and the classifier's label accuracy.
import { loadGraphModel, loadManifest } from "../models.js";
import { modelArtifacts, writeBundle } from "../bundle.js";
import { loadDataset } from "./data.js";
import { FAMILIES } from "./networks.js";
import { Training, describeBalance } from "./training.js";
import { dataFromRecord, restore, saved, snapshot, trainingKey } from "./store.js";
import { DamagedSave, savedProblem } from "./saved.js";
import { registerWasmConvGradients } from "./wasm-conv-grads.js";

const VENDOR = new URL("../../vendor/", import.meta.url);
const SLICE_MS = 100; // steps run between two looks at the message queue
const REPORT_MS = 250; // the page's numbers and curves
// The grid and the classifier's verdict on 500 fresh samples come at least this often apart, and
// take at most a tenth of the time: on a software WebGL the verdict alone takes seconds.
const VIEWS = { grid: 1000, accuracy: 4000 };
const VIEW_SHARE = 0.1;

// `holding`: a command is being carried out; the loop waits for it, `parked` between two slices.
// `trainingId`: which training this is, kept with its saves: a save made because the tab was
// hidden replaces only a save of this same training, never another of the same data set and model.
const state = { training: null, data: null, classifier: null, running: false, backend: null, holding: false, looping: false, parked: false,
  trainingId: null };
const pause = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds));
const post = (message, transfer = []) => self.postMessage(message, transfer);

async function loadTensorFlow() {
  if (self.tf) return;
  // Threads need cross-origin isolation (SharedArrayBuffer). TF.js 4.22's WASM backend then uses
  // at most half of hardwareConcurrency threads, assuming two hardware threads per core, so a
  // 2-core machine gets one; reporting twice the cores gives it one thread per core.
  const threads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  if (threads > 1) Object.defineProperty(WorkerNavigator.prototype, "hardwareConcurrency", { get: () => 2 * threads });
  await import(new URL("tf.min.js", VENDOR));
  await import(new URL("tf-backend-wasm.min.js", VENDOR));
  // WebGPU where the browser has it (the page offers it only where it starts); a bundle that is
  // missing costs WebGPU alone, which then says it cannot start.
  if (self.navigator.gpu) await import(new URL("tf-backend-webgpu.min.js", VENDOR)).catch(() => null);
  tf.wasm.setWasmPaths(VENDOR.href);
  tf.wasm.setThreadsCount(threads);
  registerWasmConvGradients(); // the convolution gradients the WASM backend lacks or runs slowly
}

async function useBackend(name) {
  let ready = false;
  try {
    ready = await tf.setBackend(name);
    await tf.ready();
  } catch (error) {
    ready = false;
  }
  if (!ready) throw new Error(`the ${name} backend cannot start in this browser; choose another backend`);
  state.backend = name;
}

function checkBackend(model, backend) {
  if (!FAMILIES[model].backends.includes(backend)) {
    throw new Error(`${model} cannot train on ${backend.toUpperCase()}; choose ${FAMILIES[model].backends.join(", ")}`);
  }
}

// Your own images have no classifier that knows their labels.
const ownImages = (dataset) => dataset.startsWith("folder:");

async function loadClassifier(dataset) {
  if (ownImages(dataset)) {
    post({ type: "notice", message: "No label accuracy for your own images: no classifier knows their labels." });
    return null;
  }
  try {
    const manifest = await loadManifest(dataset);
    return manifest.classifier ? await loadGraphModel(dataset, "classifier", manifest.classifier.weights) : null;
  } catch (error) {
    post({ type: "notice", message: `no label accuracy: the classifier of ${dataset} cannot be loaded (${error.message})` });
    return null;
  }
}

function backendInfo() {
  const threads = state.backend === "wasm" ? tf.wasm.getThreadsCount() : null;
  return { backend: state.backend, threads, isolated: self.crossOriginIsolated };
}

// The images a training trains on: your own, decoded by the page (or kept with a saved
// training), or a built-in data set from web/data/.
async function trainingData(dataset, record, given) {
  if (record?.data) return dataFromRecord(record.data);
  if (given) return given;
  if (ownImages(dataset)) throw new Error(`the saved training on ${dataset} holds no images: pick the folder again and start anew`);
  if (state.data?.name === dataset) return state.data;
  return loadDataset(dataset, (fraction) => post({ type: "loading", fraction }));
}

async function start({ options, backend, restoreKey, data }) {
  await loadTensorFlow();
  const record = restoreKey ? await saved.get(restoreKey) : null;
  if (restoreKey && !record) throw new Error(`no saved training ${restoreKey} in this browser`);
  // Checked before its options or images are used; restore checks it against the networks too.
  const problem = record && savedProblem(record);
  if (problem) throw new DamagedSave(record, problem);
  const trainingOptions = record ? record.options : options;
  checkBackend(trainingOptions.model, backend);
  await useBackend(backend);
  state.data = await trainingData(trainingOptions.dataset, record, data);
  state.training?.dispose();
  state.training = null;
  state.classifier?.dispose();
  state.classifier = await loadClassifier(trainingOptions.dataset);
  state.training = record ? await restore(record, state.data) : new Training(trainingOptions, state.data);
  state.trainingId = record ? trainingIdOf(record) : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  post({ type: "ready", ...backendInfo(), options: state.training.options, counts: state.training.counts,
    curves: state.training.curves, labelNames: state.data.labelNames, imageShape: state.data.imageShape, restored: Boolean(record),
    balance: describeBalance(state.data), judged: Boolean(state.classifier) });
  await sendGrid();
}

// A backend change keeps the training: a snapshot in memory, the new backend, the same state.
async function switchBackend(backend) {
  const training = state.training;
  checkBackend(training.options.model, backend);
  const record = await snapshot(training);
  const previous = state.backend;
  training.dispose();
  state.training = null;
  try {
    await useBackend(backend);
  } catch (error) {
    await useBackend(previous);
    state.training = await restore(record, state.data);
    throw error;
  }
  state.classifier?.dispose();
  state.classifier = await loadClassifier(training.options.dataset);
  state.training = await restore(record, state.data);
  post({ type: "backend", ...backendInfo() });
  await sendGrid();
}

async function sendGrid() {
  const images = await state.training.grid();
  post({ type: "grid", images, shape: state.data.imageShape, columns: 10, rows: state.data.labelNames.length }, [images.buffer]);
}

async function sendAccuracy() {
  if (!state.classifier) return;
  const value = await state.training.labelAccuracy(state.classifier);
  post({ type: "accuracy", step: state.training.counts.g, value });
}

const meter = { started: 0, iterations: 0, images: 0 };

// Reads the means (the one wait for the backend), then posts them, with the speed since the last report.
async function report() {
  const training = state.training;
  const point = await training.read();
  const now = performance.now();
  const seconds = (now - meter.started) / 1000;
  const speed = seconds > 0 ? { stepsPerSecond: meter.iterations / seconds, imagesPerSecond: meter.images / seconds } : {};
  Object.assign(meter, { started: now, iterations: 0, images: 0 });
  post({ type: "progress", point, counts: training.counts, epoch: training.epoch, ...speed, tensors: tf.memory().numTensors, running: state.running });
  if (point && ![point.dLoss, point.gLoss].every(Number.isFinite)) {
    state.running = false;
    throw new Error(`the losses are not finite after ${training.counts.g} steps (D loss ${point.dLoss}, G loss ${point.gLoss}): ` +
      `training is paused and nothing saved is touched; lower the learning rate and resume, or reload to continue the saved training`);
  }
}

// Runs `view` when its time has come, and sets when it comes next.
async function maybeShow(name, view, clock) {
  const now = performance.now();
  if (now < clock[name]) return;
  await view();
  const took = performance.now() - now;
  clock[name] = performance.now() + Math.max(VIEWS[name], took / VIEW_SHARE - took);
}

async function loop() {
  // The first verdict comes VIEWS.accuracy after the first steps are reported, not after Start:
  // a backend's first step compiles its kernels (tens of seconds on a software GPU), and a verdict
  // right behind it would hold the first counts back as long again.
  const clock = { report: 0, grid: performance.now() + VIEWS.grid, accuracy: Infinity };
  Object.assign(meter, { started: performance.now(), iterations: 0, images: 0 });
  let perSlice = 1;
  state.looping = true;
  while (state.running) {
    const started = performance.now();
    // WebGL only queues work, so a slice is counted in steps, sized from the last slice's time.
    for (let index = 0; index < perSlice && state.running; index += 1) state.training.iterate();
    meter.iterations += perSlice;
    meter.images += perSlice * state.training.options.batchSize * state.training.options.dSteps;
    const now = performance.now();
    if (now - clock.report >= REPORT_MS) {
      await report();
      clock.report = performance.now();
      if (clock.accuracy === Infinity) clock.accuracy = clock.report + VIEWS.accuracy;
      perSlice = Math.max(1, Math.min(100, Math.round(perSlice * SLICE_MS / Math.max(1, clock.report - started))));
    }
    await maybeShow("grid", sendGrid, clock);
    if (performance.now() >= clock.accuracy) {
      await letCommandsIn(); // a Pause pressed meanwhile need not wait for the verdict
      if (state.running) await maybeShow("accuracy", sendAccuracy, clock);
    }
    await letCommandsIn();
  }
  state.looping = false;
}

/** Parks the loop while pause and the other commands queued meanwhile are carried out. */
async function letCommandsIn() {
  state.parked = true;
  do await pause(0);
  while (state.holding);
  state.parked = false;
}

async function download() {
  const training = state.training;
  const accuracy = training.curves.accuracy.at(-1);
  const { model, dataset } = training.options;
  // A file name on every system: your folder's name without "folder:" or a path's separators.
  const name = `${dataset.replace(/^folder:/, "").replace(/[\\/:*?"<>|]+/g, "-")}-${model}-browser-${training.counts.g}`;
  const manifest = {
    name, dataset, model, run: "trained in the browser (web/train.html)", epoch: Number(training.epoch.toFixed(2)),
    steps: { ...training.counts }, conditional: true, label_names: state.data.labelNames, latent_dim: training.latentDim,
    image_shape: state.data.imageShape, channels: state.data.imageShape[2], output_range: [-1, 1], quantization: "none",
    inputs: ["latent", "label"], format: "layers-model", ...(accuracy === undefined ? {} : { metrics: { label_accuracy: accuracy } }),
    ...(ownImages(dataset) ? {} : { classifier_from: dataset }),
    // The generator the grid and the label accuracy showed: the moving average where it is on.
    ...(training.average ? { average_decay: training.options.averageDecay } : {}),
  };
  post({ type: "download", text: await writeBundle(manifest, await modelArtifacts(training.sampler)), fileName: `${name}.ganvas.json` });
}

const COMMANDS = {
  start: async (message) => {
    state.running = false;
    await start(message);
    if (message.run) COMMANDS.resume();
  },
  pause: async () => {
    state.running = false;
    // The steps since the last report and grid: the page shows where the training stopped.
    await report();
    await sendGrid();
  },
  resume: async () => {
    if (state.running) return;
    state.running = true;
    post({ type: "state", running: true });
    loop().catch((error) => {
      state.looping = false;
      fail(error);
    });
  },
  step: async ({ kind }) => {
    if (kind === "d") state.training.discriminatorStep();
    else state.training.generatorStep();
    await report();
    await sendGrid();
  },
  options: async ({ changes }) => {
    state.training.setOptions(changes);
    post({ type: "options", options: state.training.options });
  },
  backend: async ({ backend }) => {
    const wasRunning = state.running;
    state.running = false;
    await switchBackend(backend);
    if (wasRunning) COMMANDS.resume();
  },
  save: async ({ reason }) => {
    const key = trainingKey(state.training.options);
    if (reason === "hidden") {
      const kept = await saved.get(key);
      if (kept && trainingIdOf(kept) !== state.trainingId) {
        post({ type: "notice", message: `Not saved when the tab was hidden: this browser keeps another saved training of ${key}, ` +
          "which only Save replaces." });
        return;
      }
    }
    const record = { ...(await snapshot(state.training, { withData: ownImages(state.training.options.dataset) })), trainingId: state.trainingId };
    await saved.put(record);
    post({ type: "saved", key: record.key, savedAt: record.savedAt, counts: record.counts, reason });
  },
  discard: async ({ key }) => {
    await saved.remove(key);
  },
  download,
  memory: async () => post({ type: "memory", tensors: tf.memory().numTensors }),
};

// Saves from before trainingId are known by their time.
function trainingIdOf(record) {
  return record.trainingId ?? record.savedAt;
}

function fail(error) {
  state.running = false;
  // `damaged`: the key of a saved training that cannot be continued, for the page to offer its record.
  post({ type: "error", message: error.message ?? String(error), damaged: error instanceof DamagedSave ? error.key : null });
  post({ type: "state", running: false });
}

// One command at a time, in order: a save never sees half a step.
let queue = Promise.resolve();
self.onmessage = ({ data: message }) => {
  queue = queue.then(async () => {
    const wasRunning = state.running;
    state.holding = true;
    while (state.looping && !state.parked) await pause(1);
    try {
      if (!COMMANDS[message.type]) throw new Error(`unknown command ${message.type}`);
      if (!state.training && !["start", "discard"].includes(message.type)) throw new Error("start a training first");
      await COMMANDS[message.type](message);
    } catch (error) {
      fail(error);
    }
    state.holding = false;
    if (wasRunning && !state.running) post({ type: "state", running: false });
    post({ type: "done", command: message.type });
  });
};
