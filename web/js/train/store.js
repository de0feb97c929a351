// Keeping a training: a snapshot of all that it needs to go on exactly (both networks' weights,
// the generator's moving average where it is on, both optimizers' moments, the step counts, the
// data position, the curves), kept in the browser's IndexedDB under its data set and model, so a
// reloaded page can continue it. A training on your own images keeps the decoded images too: the
// page cannot read your folder again alone.
// Each save carries a checksum of its weights; saved.js checks a record whole before it is used.
import { modelArtifacts } from "../bundle.js";
import { Training } from "./training.js";
import { DamagedSave, FORMAT, modelProblem, savedProblem, weightChecksum } from "./saved.js";

const DATABASE = "ganvas";
const STORE = "trainings";

export function trainingKey(options) {
  return `${options.dataset}/${options.model}`;
}

function database() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`the browser's storage cannot be opened (${request.error?.message})`));
  });
}

async function transaction(mode, work) {
  const db = await database();
  try {
    return await new Promise((resolve, reject) => {
      const store = db.transaction(STORE, mode).objectStore(STORE);
      const request = work(store);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(new Error(`the browser's storage refused it (${request.error?.message})`));
    });
  } finally {
    db.close();
  }
}

export const saved = {
  put: (record) => transaction("readwrite", (store) => store.put(record)),
  get: (key) => transaction("readonly", (store) => store.get(key)),
  list: () => transaction("readonly", (store) => store.getAll()),
  remove: (key) => transaction("readwrite", (store) => store.delete(key)),
};

async function tensorValues(named) {
  const values = await Promise.all(named.map(async ({ name, tensor }) => ({ name, shape: tensor.shape, data: await tensor.data() })));
  // getWeights() makes a fresh tensor for the step count; the moments are the optimizer's own.
  tf.dispose(named.map(({ tensor }) => tensor).filter((tensor) => !(tensor instanceof tf.Variable)));
  return values;
}

// The decoded images as Blobs, which IndexedDB keeps apart from the record: listing the saved
// trainings does not read them.
function packData(data) {
  const { name, count, imageShape, labelNames, images, labels } = data;
  return { name, count, imageShape, labelNames, images: new Blob([images]), labels: new Blob([labels]) };
}

/** A training's images as a saved record holds them, in the shape data.js gives. */
export async function dataFromRecord(packed) {
  const [images, labels] = await Promise.all([packed.images.arrayBuffer(), packed.labels.arrayBuffer()]);
  return { ...packed, images: new Uint8Array(images), labels: new Uint8Array(labels) };
}

// `withData`: keep the images too, for a save of a training on your own images.
export async function snapshot(training, { withData = false } = {}) {
  const values = await Promise.all([
    modelArtifacts(training.generator),
    Promise.all(training.discriminator.variables.map(async (variable) => ({ shape: variable.shape, data: await variable.data() }))),
    training.dOptimizer.getWeights().then(tensorValues),
    training.gOptimizer.getWeights().then(tensorValues),
    // In the generator's weight order, as the discriminator's: [{ shape, data }].
    training.average ? Promise.all(training.average.weights.map(async (weight) => ({ shape: weight.shape, data: await weight.val.data() }))) : null,
  ]);
  const [generator, discriminator, dOptimizer, gOptimizer, average] = values;
  // A training gone to NaN is not saved over the last good one.
  const finite = new Float32Array(generator.weightData).every(Number.isFinite) &&
    [...discriminator, ...(average ?? [])].every(({ data }) => data.every(Number.isFinite));
  if (!finite) throw new Error("the networks' weights are not finite, so they are not saved: the training saved before is kept");
  const record = {
    key: trainingKey(training.options), version: FORMAT, savedAt: new Date().toISOString(),
    options: training.options, counts: { ...training.counts }, position: training.position, curves: training.curves,
    generator, discriminator, optimizers: { d: dOptimizer, g: gOptimizer }, ...(average ? { average } : {}),
    ...(withData ? { data: packData(training.data) } : {}),
  };
  return { ...record, checksum: weightChecksum(record) };
}

/**
 * A record's options, with the noise size of a save from before the options kept it (cdcgan-small
 * had 64 dimensions until 2026-12-07, 16 since): every family's generator opens with a dense layer
 * on [noise, one-hot label], so its kernel's rows are the noise size plus the classes.
 */
function savedOptions(record, data) {
  if (record.options.latentDim !== undefined) return record.options;
  const latentDim = (record.generator.weightSpecs[0]?.shape?.[0] ?? 0) - data.labelNames.length;
  return latentDim > 0 ? { ...record.options, latentDim } : record.options;
}

/**
 * The training a record keeps, on `data`; a DamagedSave (nothing built, the record untouched)
 * when the record is damaged or does not fit the networks its options build.
 */
export async function restore(record, data) {
  const problem = savedProblem(record);
  if (problem) throw new DamagedSave(record, problem);
  const training = new Training(savedOptions(record, data), data);
  const misfit = modelProblem(record, training);
  if (misfit) {
    training.dispose();
    throw new DamagedSave(record, misfit);
  }
  const weights = tf.io.decodeWeights(record.generator.weightData, record.generator.weightSpecs);
  // The layers are named anew in every page, so the weights are matched by their order.
  training.generator.setWeights(record.generator.weightSpecs.map((spec) => weights[spec.name]));
  tf.dispose(Object.values(weights));
  record.discriminator.forEach(({ shape, data: values }, index) => {
    tf.tidy(() => training.discriminator.variables[index].assign(tf.tensor(values, shape)));
  });
  for (const [kind, optimizer] of [["d", training.dOptimizer], ["g", training.gOptimizer]]) {
    const tensors = record.optimizers[kind].map(({ name, shape, data: values }) => ({ name, tensor: tf.tensor(values, shape) }));
    await optimizer.setWeights(tensors);
    tf.dispose(tensors.map(({ tensor }) => tensor));
  }
  // The average as saved; a save without one (from before it, or saved with averaging off) starts
  // it from the generator's weights.
  if (training.average && record.average) {
    tf.tidy(() => record.average.forEach(({ shape, data: values }, index) => training.average.weights[index].val.assign(tf.tensor(values, shape))));
  } else if (training.average) {
    training.resetAverage();
  }
  Object.assign(training, { counts: { ...record.counts }, position: record.position, curves: record.curves });
  return training;
}
